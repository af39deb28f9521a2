"""``--tz ZONE`` and ``RECONCILER_TZ`` (issue 17, "dates are UTC"): the commands that
print dates say UTC in their headers, or the display zone asked for, whose days they
show; an unknown zone is one error with the nearest names, before anything is read; and
the zone is display only: the plan JSON, the saved plan and the 24-hour rule's verdict
are the same under any zone. Against the embedded sandbox (the demo account) with its
clock stopped, so that runs compare byte for byte."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cli_helpers import clean_workdir, cli

# old-brand.fr is set to terminate at its expiry on the demo account; a spec keeping it
# cancels that termination, which the rules allow until 24 hours before the expiry.
KEEP = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  old-brand.fr:
    type: domain
    lifecycle: renew
"""
ZONES = ("Pacific/Kiritimati", "America/Los_Angeles", "Europe/Paris", "UTC")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return clean_workdir(tmp_path, monkeypatch, keep_yaml=KEEP)


def listing(capsys: pytest.CaptureFixture[str]) -> dict[str, datetime]:
    """Each demo service's expiry, as the JSON listing gives it (UTC)."""
    result = cli(capsys, "services", "--format", "json")
    assert result.code == 0, result.err
    return {
        s["name"] + f"#{s['service_id']}": datetime.fromisoformat(s["expiration"])
        for s in json.loads(result.out)["services"]
        if s["expiration"]
    }


def stop_clock(capsys: pytest.CaptureFixture[str], at: datetime) -> None:
    result = cli(capsys, "sandbox", "clock", "--set", at.isoformat(), "--stop")
    assert result.code == 0, result.err


def row_of(table: str, name: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(name + " "))


def test_the_services_table_says_utc_and_shows_the_zone_asked_for(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expiries = listing(capsys)
    expiry = next(when for key, when in expiries.items() if key.startswith("example.net#"))
    in_utc = cli(capsys, "services")
    assert in_utc.code == 0, in_utc.err
    assert "EXPIRY (UTC)" in in_utc.out.splitlines()[0]
    assert f"  {expiry.strftime('%Y-%m-%d')}  " in row_of(in_utc.out, "example.net")
    assert "a day in UTC." in in_utc.out
    # The demo's dates count from the moment it was seeded: of UTC+14 and UTC-11, one
    # shows the expiry on another day than UTC does, whatever the hour.
    zone = next(
        name
        for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago")
        if expiry.astimezone(ZoneInfo(name)).date() != expiry.date()
    )
    shown = cli(capsys, "services", "--tz", zone)
    assert shown.code == 0, shown.err
    assert f"EXPIRY ({zone})" in shown.out.splitlines()[0]
    day = expiry.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d")
    assert f"  {day}  " in row_of(shown.out, "example.net")
    assert f"a day in {zone}." in shown.out
    abbreviation = expiry.astimezone(ZoneInfo(zone)).strftime("%Z")  # "+14", "SST"
    assert re.search(
        r"\(API clock: \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? (UTC)?"
        + re.escape(abbreviation)
        + r"\)\.",
        shown.out,
    ), shown.out
    # The stable formats for scripts stay UTC. The clock stopped, so the two reads give
    # the same "read at" (a running one may cross a second between them).
    assert cli(capsys, "sandbox", "clock", "--stop").code == 0
    for fmt in ("json", "csv"):
        plain = cli(capsys, "services", "--format", fmt)
        zoned = cli(capsys, "services", "--format", fmt, "--tz", zone)
        assert zoned.out == plain.out


def test_the_environment_variable_and_the_option_that_wins_over_it(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_TZ", "Asia/Tokyo")
    by_env = cli(capsys, "services")
    assert by_env.code == 0, by_env.err
    assert "EXPIRY (Asia/Tokyo)" in by_env.out.splitlines()[0]
    by_option = cli(capsys, "services", "--tz", "UTC")
    assert "EXPIRY (UTC)" in by_option.out.splitlines()[0]
    planned = cli(capsys, "plan", "keep.yaml")
    assert planned.code == 0, planned.err
    assert "dates in Asia/Tokyo (--tz; the rules judge in UTC)" in planned.out
    assert " JST (API clock)" in planned.out


@pytest.mark.parametrize(
    "args",
    [
        ("services", "--tz", "Europe/Pariss"),
        ("plan", "keep.yaml", "--tz", "Europe/Pariss"),
        ("show", "absent.json", "--tz", "Europe/Pariss"),
        ("apply", "keep.yaml", "--tz", "Europe/Pariss"),
    ],
)
def test_an_unknown_zone_is_one_error_with_the_nearest_names(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    result = cli(capsys, *args)
    assert result.code == 1
    assert result.out == ""
    assert "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert errors == ["error: --tz 'Europe/Pariss' is no time zone this system knows"]
    assert "hint: did you mean Europe/Paris" in result.err
    # Refused before the account is read: the embedded sandbox was never opened.
    assert not (workdir / "state" / "sandbox.db").exists()


def test_an_unknown_zone_in_the_environment_names_the_variable(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_TZ", "Mars/Olympus_Mons")
    result = cli(capsys, "services")
    assert result.code == 1 and result.out == ""
    assert "error: RECONCILER_TZ 'Mars/Olympus_Mons' is no time zone this system knows" in (
        result.err
    )
    assert "hint: RECONCILER_TZ takes an IANA name (Europe/Paris" in result.err


def plans_under_every_zone(capsys: pytest.CaptureFixture[str], workdir: Path) -> list[str]:
    """``plan keep.yaml --format json --out`` under each zone: each output, checked to be
    the file saved, without its ``created_at`` (the API clock is read anew each run, to
    the microsecond, even with the sandbox's clock stopped)."""
    outputs = []
    for index, zone in enumerate((None, *ZONES)):
        out = f"plan-{index}.json"
        args = ("plan", "keep.yaml", "--format", "json", "--out", out)
        result = cli(capsys, *args, *(("--tz", zone) if zone else ()))
        assert result.code == 0, result.err
        assert (workdir / out).read_text(encoding="utf-8") == result.out
        document = json.loads(result.out)
        assert document.pop("created_at").startswith(document_day(result.out))
        outputs.append(json.dumps(document))
    return outputs


def document_day(text: str) -> str:
    """The UTC day of the plan's ``created_at`` as the JSON writes it."""
    return str(json.loads(text)["created_at"])[:10]


@pytest.mark.parametrize(
    ("before_expiry", "refused"),
    [(timedelta(hours=25), False), (timedelta(hours=23), True)],
)
def test_the_24_hour_rule_and_the_plan_json_are_the_same_under_any_zone(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    before_expiry: timedelta,
    refused: bool,
) -> None:
    expiries = listing(capsys)
    expiry = next(when for key, when in expiries.items() if key.startswith("old-brand.fr#"))
    # 23 hours before the expiry: the window to cancel closed an hour ago in every zone,
    # though in Kiritimati (UTC+14) it is already the expiry's day and in Los Angeles
    # still the day before.
    stop_clock(capsys, expiry - before_expiry)
    outputs = plans_under_every_zone(capsys, workdir)
    assert len(set(outputs)) == 1, "the plan JSON changed with --tz"
    made = json.loads(outputs[0])
    rules = [refusal["rule"] for refusal in made["refused"]]
    assert rules == (["cancel-window-closed"] if refused else [])
    # The words differ, the instant does not: the same deadline in each zone's words.
    deadline = expiry - timedelta(hours=24)
    for zone in ZONES[:3]:
        text = cli(capsys, "plan", "keep.yaml", "--tz", zone)
        assert text.code == 0, text.err
        seconds = ":%S" if deadline.second else ""
        local = deadline.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M" + seconds)
        if not refused:
            assert f"must be applied before {local} " in text.out, text.out
        else:  # the refusal's dates too, in text and in markdown
            closed = f"cancelling closed 24 hours before, at {local} "
            assert closed in text.out, text.out
            markdown = cli(capsys, "plan", "keep.yaml", "--format", "markdown", "--tz", zone)
            assert closed in markdown.out, markdown.out
    if refused:  # apply refuses it too: its refusal and its hint in the zone's words
        applied = cli(capsys, "apply", "keep.yaml", "--auto-approve", "--tz", ZONES[0])
        assert applied.code == 3, applied.out + applied.err
        seconds = ":%S" if expiry.second else ""
        ends = expiry.astimezone(ZoneInfo(ZONES[0])).strftime("%Y-%m-%d %H:%M" + seconds)
        assert f"its data deleted at {ends} " in applied.out, applied.out
        (hint,) = [line for line in applied.err.splitlines() if line.startswith("hint:")]
        assert f"its data deleted at {ends} " in hint, hint


def test_show_renders_a_saved_plan_in_the_zone_asked_for(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = cli(capsys, "plan", "keep.yaml", "--out", "plan.json")
    assert saved.code == 0, saved.err
    assert "(API clock); dates in UTC" in saved.out
    shown = cli(capsys, "show", "plan.json", "--tz", "Europe/Paris")
    assert shown.code == 0, shown.err
    assert "dates in Europe/Paris (--tz; the rules judge in UTC)" in shown.out
    markdown = cli(capsys, "show", "plan.json", "--format", "markdown", "--tz", "Europe/Paris")
    assert "| Action | Expiry (Europe/Paris) |" in markdown.out
    # One plan, rendered as JSON under every zone: the same bytes.
    as_json = cli(capsys, "show", "plan.json", "--format", "json").out
    for zone in ZONES:
        assert cli(capsys, "show", "plan.json", "--format", "json", "--tz", zone).out == as_json
