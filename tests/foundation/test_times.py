"""One policy for time zones, one way to write each kind of date (``reconciler.times``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from reconciler.times import (
    EARLIEST,
    LATEST,
    ImplausibleInstant,
    as_utc,
    day_text,
    in_zone,
    iso_utc,
    plausible,
    utc_text,
)

PARIS_MIDNIGHT = datetime(2027, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))


def test_naive_datetimes_are_refused_never_guessed() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        as_utc(datetime(2027, 1, 1))
    assert as_utc(PARIS_MIDNIGHT) == datetime(2026, 12, 31, 23, tzinfo=UTC)


def test_the_three_ways_to_write_an_instant() -> None:
    assert utc_text(PARIS_MIDNIGHT) == "2026-12-31 23:00 UTC"
    assert utc_text(PARIS_MIDNIGHT + timedelta(seconds=30)) == "2026-12-31 23:00:30 UTC"
    assert iso_utc(PARIS_MIDNIGHT) == "2026-12-31T23:00:00Z"
    assert day_text(PARIS_MIDNIGHT) == "2026-12-31"


def test_a_display_zone_changes_what_is_shown_not_the_instant() -> None:
    shown = in_zone(datetime(2026, 12, 31, 23, tzinfo=UTC), ZoneInfo("Europe/Paris"))
    assert (shown.year, shown.day, shown.hour) == (2027, 1, 0)
    assert shown == PARIS_MIDNIGHT
    assert in_zone(PARIS_MIDNIGHT, None).tzinfo is UTC


@pytest.mark.parametrize(
    "when",
    [
        datetime.min.replace(tzinfo=timezone(timedelta(hours=14))),  # not representable in UTC
        datetime(1970, 1, 1, tzinfo=UTC),
        EARLIEST - timedelta(seconds=1),
        LATEST + timedelta(seconds=1),
        datetime.max.replace(tzinfo=UTC),
    ],
)
def test_implausible_instants_are_refused(when: datetime) -> None:
    with pytest.raises(ImplausibleInstant, match="outside the dates reconciler can reason about"):
        plausible(when)


def test_plausible_instants_pass_in_utc() -> None:
    assert plausible(EARLIEST) == EARLIEST
    assert plausible(LATEST) == LATEST
    assert plausible(PARIS_MIDNIGHT).tzinfo is UTC


@pytest.mark.parametrize(
    "when",
    [
        datetime(2027, 3, 1, 12, 30, 0, 999_999, tzinfo=UTC),
        datetime(2027, 3, 1, 0, 0, 5, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
        datetime(1000, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
    ],
)
def test_utc_text_is_strftimes_text(when: datetime) -> None:
    """utc_text formats with isoformat (cheaper) and is held to the strftime spelling
    it replaced, year 1 to 9999 included (strftime does not zero-pad years before 1000)."""
    moment = when.astimezone(UTC)
    spelled = moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")
    assert utc_text(when) == spelled


def test_one_policy_for_naive_instants_and_the_limits_of_datetime() -> None:
    from datetime import timedelta, timezone

    from reconciler.times import as_utc, utc

    naive = datetime(2027, 3, 1)
    for strict in (as_utc, utc):
        with pytest.raises(ValueError, match="has no timezone"):
            strict(naive)
    east = datetime.min.replace(tzinfo=timezone(timedelta(hours=14)))
    west = datetime.max.replace(tzinfo=timezone(-timedelta(hours=12)))
    assert utc(east) == datetime.min.replace(tzinfo=UTC)  # clamped, never an overflow
    assert utc(west) == datetime.max.replace(tzinfo=UTC)


def test_when_text_is_the_one_way_to_say_a_moment() -> None:
    from zoneinfo import ZoneInfo

    from reconciler.times import shown_when, utc_text, when_text

    moment = datetime(2027, 2, 28, 23, 0, 30, tzinfo=UTC)
    assert when_text(moment) == utc_text(moment) == "2027-02-28 23:00:30 UTC"
    paris = ZoneInfo("Europe/Paris")
    assert when_text(moment, paris) == shown_when(moment, paris) == "2027-03-01 00:00:30 CET"
