"""``reconciler journal --tz ZONE`` (issue 17): the journal's times shown in a display
zone, each one the same instant as in UTC; the JSON Lines stay UTC whatever the zone;
an unknown zone is one error. Against the embedded sandbox (the demo account)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cli_helpers import TERMINATE_EXAMPLE_NET, clean_workdir, cli

CHANGES = TERMINATE_EXAMPLE_NET
TIME = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ([A-Z]{3,4})\b")


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    root = clean_workdir(tmp_path, monkeypatch, changes_yaml=CHANGES)
    applied = cli(capsys, "apply", "changes.yaml", "--auto-approve")
    assert applied.code == 0, applied.err
    return root


def times(text: str) -> list[tuple[datetime, str]]:
    return [
        (datetime.strptime(shown, "%Y-%m-%d %H:%M:%S.%f"), zone)
        for shown, zone in TIME.findall(text)
    ]


@pytest.mark.parametrize("selector", [[], ["--last"]])
def test_each_time_is_the_same_instant_in_the_zone_asked(
    workdir: Path, capsys: pytest.CaptureFixture[str], selector: list[str]
) -> None:
    capsys.readouterr()
    in_utc = cli(capsys, "journal", *selector)
    paris = cli(capsys, "journal", *selector, "--tz", "Europe/Paris")
    assert in_utc.code == paris.code == 0, paris.err
    utc_times, paris_times = times(in_utc.out), times(paris.out)
    assert utc_times and len(utc_times) == len(paris_times)
    zone = ZoneInfo("Europe/Paris")
    for (utc_naive, utc_name), (local_naive, local_name) in zip(
        utc_times, paris_times, strict=True
    ):
        assert utc_name == "UTC"
        moment = utc_naive.replace(tzinfo=UTC).astimezone(zone)
        assert local_naive == moment.replace(tzinfo=None)
        assert local_name == moment.tzname() and local_name in ("CET", "CEST")
    # Only the times differ: the same lines, the same words around them.
    assert TIME.sub("T", in_utc.out) == TIME.sub("T", paris.out)


def test_the_environment_zone_applies_and_json_stays_utc(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    capsys.readouterr()
    plain = cli(capsys, "journal", "--last", "--format", "json")
    monkeypatch.setenv("RECONCILER_TZ", "America/Montreal")
    zoned = cli(capsys, "journal", "--last", "--format", "json", "--tz", "Asia/Tokyo")
    assert plain.code == zoned.code == 0
    assert plain.out == zoned.out and plain.out.count('Z"') > 0
    text = cli(capsys, "journal", "--last")
    assert {name for _, name in times(text.out)} <= {"EST", "EDT"} and times(text.out)


def test_an_unknown_zone_is_one_error_before_the_journal_is_read(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    result = cli(capsys, "journal", "--tz", "Europe/Pariss")
    assert result.code == 1 and result.out == ""
    (line,) = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert "--tz 'Europe/Pariss'" in line and "Europe/Paris" in result.err
