"""A display time zone (``--tz``) changes the words people read and nothing else: the
text and markdown plans name the zone and show its days (a refusal's dates too), the
rules' deadlines stay the same instants, and the plan JSON is the same bytes under any
zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import plan_factory as f
import pytest

from reconciler.core.plan import Plan
from reconciler.render import markdown, text
from reconciler.times import (
    UnknownZone,
    display_zone,
    shown_date,
    shown_day,
    shown_when,
    zone_name,
)

PARIS = ZoneInfo("Europe/Paris")
# A domain expiring at Paris midnight: the day before, at 23:00, in UTC.
PARIS_MIDNIGHT = datetime(2027, 2, 28, 23, 0, tzinfo=UTC)


def test_times_are_written_in_the_zone_with_its_abbreviation() -> None:
    assert shown_when(PARIS_MIDNIGHT) == "2027-02-28 23:00 UTC"
    assert shown_when(PARIS_MIDNIGHT, PARIS) == "2027-03-01 00:00 CET"
    assert shown_when(datetime(2027, 7, 1, 10, tzinfo=UTC), PARIS) == "2027-07-01 12:00 CEST"
    assert shown_day(PARIS_MIDNIGHT) == "2027-02-28 23:00 UTC"
    assert shown_day(PARIS_MIDNIGHT, PARIS) == "2027-03-01"
    assert shown_date(PARIS_MIDNIGHT) == "2027-02-28"
    assert shown_date(PARIS_MIDNIGHT, PARIS) == "2027-03-01"
    # A zone whose abbreviation is an offset reads as one, never as a range of days.
    assert shown_when(PARIS_MIDNIGHT, ZoneInfo("America/Sao_Paulo")) == "2027-02-28 20:00 UTC-03"


def test_zone_names() -> None:
    assert display_zone("Europe/Paris") == PARIS
    assert zone_name(display_zone("Europe/Paris")) == "Europe/Paris"
    for utc in ("UTC", "utc", "Etc/UTC", "Z", "", "  "):
        assert display_zone(utc) is None, utc
    assert zone_name(None) == "UTC"
    assert zone_name(timezone(timedelta(hours=2))) == "UTC+02:00"


@pytest.mark.parametrize(
    ("name", "near"),
    [
        ("Europe/Pariss", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),  # the zone database is exact about case
        ("America/Montreall", "America/Montreal"),
        ("../../etc/passwd", None),
        ("/etc/localtime", None),
        ("CET+1", None),
    ],
)
def test_unknown_zones_are_refused_with_the_nearest_names(name: str, near: str | None) -> None:
    with pytest.raises(UnknownZone) as refused:
        display_zone(name)
    assert refused.value.name == name.strip()
    if near is not None:
        assert near in refused.value.near
    assert "localtime" not in refused.value.near


def _paris_plan() -> Plan:
    return f.plan(
        (
            f.terminate(expiration=PARIS_MIDNIGHT, expires_at=PARIS_MIDNIGHT),
            f.cancel(expiration=PARIS_MIDNIGHT, expires_at=PARIS_MIDNIGHT - timedelta(days=1)),
        ),
        unmanaged=(f.unmanaged(expiration=PARIS_MIDNIGHT),),
    )


def test_the_text_plan_says_utc_and_shows_the_zone_when_asked() -> None:
    made = _paris_plan()
    in_utc = text.render(made)
    assert "computed at 2027-01-15 12:00 UTC (API clock); dates in UTC" in in_utc
    assert "at expiry on 2027-02-28 23:00 UTC; can be cancelled until 2027-02-27 23:00 UTC" in (
        in_utc
    )
    in_paris = text.render(made, zone=PARIS)
    assert (
        "computed at 2027-01-15 13:00 CET (API clock); dates in Europe/Paris "
        "(--tz; the rules judge in UTC)" in in_paris
    )
    # The same deadline, 24 hours before the same instant, in the words of Paris.
    assert "at expiry on 2027-03-01; can be cancelled until 2027-02-28 00:00 CET" in in_paris
    assert "must be applied before 2027-02-28 00:00 CET" in in_paris
    assert "expires 2027-03-01" in in_paris
    assert "UTC)" not in in_paris.replace("judge in UTC)", "")


def test_the_markdown_plan_names_the_zone_of_its_expiry_columns_and_timeline() -> None:
    made = _paris_plan()
    in_utc = markdown.render(made)
    assert "(API clock); dates in UTC." in in_utc
    assert "| Action | Expiry (UTC) |" in in_utc
    assert "**Deadlines the changes depend on** (UTC)" in in_utc
    assert "expiry 2027-02-28 23h00 : milestone, 2027-02-28 23:00, 0d" in in_utc
    in_paris = markdown.render(made, zone=PARIS)
    assert "(API clock); dates in Europe/Paris, judged in UTC." in in_paris
    assert "| Action | Expiry (Europe/Paris) |" in in_paris
    assert "| Lifecycle | Expiry (Europe/Paris) |" in in_paris
    assert "**Deadlines the changes depend on** (Europe/Paris)" in in_paris
    assert "expiry 2027-03-01 00h00 : milestone, 2027-03-01 00:00, 0d" in in_paris
    assert "**Merge and apply before 2027-02-28 00:00 CET**" in in_paris


def test_a_commitment_end_is_the_same_day_in_every_zone() -> None:
    from datetime import date

    made = f.plan((f.terminate_at_commitment_end(commitment_ends=date(2027, 8, 1)),))
    for zone in (None, PARIS, ZoneInfo("Pacific/Honolulu")):
        rendered = markdown.render(made, zone=zone)
        assert "commitment ends 2027-08-01 : milestone, 2027-08-01 00:00, 0d" in rendered


def _closed_window_plan() -> Plan:
    """The real planner refusing to cancel a termination whose window closed: the domain
    expires at 2027-01-16 00:00 UTC, the window closed 24 hours before, it is 12:00."""
    from planner.planner_helpers import live_account, spec_of

    from reconciler.core.planner import make_plan

    spec = spec_of({"services": {"keep.example.com": {"lifecycle": "renew"}}})
    live = {"id": 1002, "name": "keep.example.com", "type": "domain",
            "lifecycle": "terminate_at_expiry", "expires": "2027-01-16T00:00:00Z"}  # fmt: skip
    return make_plan(spec, live_account([live]), now=f.NOW, endpoint="ovh-eu")


CLOSED_IN_UTC = (
    "it expires on 2027-01-16 00:00 UTC and cancelling closed 24 hours before, at "
    "2027-01-15 00:00 UTC (now 2027-01-15 12:00 UTC)"
)
CLOSED_IN_PARIS = (
    "it expires on 2027-01-16 01:00 CET and cancelling closed 24 hours before, at "
    "2027-01-15 01:00 CET (now 2027-01-15 13:00 CET)"
)


def test_a_refusal_shows_its_dates_in_the_zone_in_text_and_markdown() -> None:
    made = _closed_window_plan()
    (refusal,) = made.refused
    assert refusal.rule.value == "cancel-window-closed"
    assert CLOSED_IN_UTC in refusal.message  # what the plan file holds: UTC
    for render in (text.render, markdown.render):
        in_utc, in_paris = render(made), render(made, zone=PARIS)
        assert CLOSED_IN_UTC in in_utc and CLOSED_IN_PARIS not in in_utc
        assert CLOSED_IN_PARIS in in_paris and CLOSED_IN_UTC not in in_paris
        assert "its data deleted at 2027-01-16 01:00 CET: back up" in in_paris  # the fix
    assert "its data deleted at 2027-01-16 00:00 UTC: back up" in text.render(made)


def test_a_refusal_read_from_a_plan_file_shows_its_texts_as_written() -> None:
    from reconciler.core.planfile import dump_plan, parse_plan

    made = _closed_window_plan()
    read = parse_plan(dump_plan(made))
    assert read == made  # the instants are no part of the file, nor of equality
    assert "message_phrase" not in dump_plan(made)
    assert read.refused[0].message_phrase == ()
    assert CLOSED_IN_UTC in text.render(read, zone=PARIS)  # no instants: the UTC text
    # Words that are not the text they came with never replace it.
    (refusal,) = made.refused
    forged = refusal.model_copy(update={"message_phrase": ("all is well",)})
    assert "all is well" not in text.render(
        made.model_copy(update={"refused": (forged,)}), zone=PARIS
    )


def test_a_refusal_met_at_apply_time_shows_its_dates_in_the_zone() -> None:
    from reconciler.cli.apply_terminal import refusal_text

    (refusal,) = _closed_window_plan().refused
    assert CLOSED_IN_UTC in refusal_text(refusal)
    assert CLOSED_IN_PARIS in refusal_text(refusal, PARIS)


def test_one_refusal_s_fix_as_the_error_s_hint_shows_its_dates_in_the_zone() -> None:
    from reconciler.core.approval import refused_error

    refusals = _closed_window_plan().refused
    in_paris = refused_error(refusals, "spec.yaml", zone=PARIS).hint or ""
    assert "its data deleted at 2027-01-16 01:00 CET: back up" in in_paris
    in_utc = refused_error(refusals, "spec.yaml").hint or ""
    assert "its data deleted at 2027-01-16 00:00 UTC: back up" in in_utc


def test_an_instant_a_zone_cannot_hold_is_shown_as_written() -> None:
    from reconciler.times import phrase_shown, phrase_text

    limit = datetime.max.replace(tzinfo=UTC)  # rules.utc clamps to it; no zone east holds it
    phrase = ("ends ", limit)
    text = phrase_text(phrase)
    assert phrase_shown(text, phrase, ZoneInfo("Pacific/Kiritimati")) == text
    assert phrase_shown(text, phrase, None) == text
