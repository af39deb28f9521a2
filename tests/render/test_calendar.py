"""``services --format ics``: the deadlines as RFC 5545, read back with the ``icalendar``
library (a calendar's point of view): which events, their UIDs, their UTC times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import icalendar
import pytest
from planner.planner_helpers import live_service

from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.live import EndStrategy, LiveAccount, LiveService
from reconciler.render.calendar import (
    DeadlineKind,
    deadlines,
    escape_text,
    fold,
    render_ics,
)
from reconciler.render.services import ServiceQuery, select

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))


def svc(
    service_id: int,
    name: str,
    lifecycle: LiveLifecycle,
    *,
    expiration: datetime | None = datetime(2027, 3, 1, tzinfo=UTC),
    termination: datetime | None = None,
    mode: str = "automatic",
) -> LiveService:
    return live_service(
        {
            "id": service_id,
            "name": name,
            "lifecycle": lifecycle.value,
            "expires": expiration,
            "termination": termination,
            "mode": mode,
        }
    )


COMMITMENT_END = datetime(2027, 9, 1, tzinfo=UTC)
ACCOUNT = LiveAccount.from_services(
    [
        svc(1, "renews.example.com", LiveLifecycle.RENEW),
        svc(2, "manual.example.com", LiveLifecycle.MANUAL_RENEW, mode="manual"),
        svc(
            3,
            "leaving.example.com",
            LiveLifecycle.TERMINATE_AT_EXPIRY,
            expiration=datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
            termination=datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
        ),
        svc(
            4,
            "committed.example.com",
            LiveLifecycle.TERMINATE_AT_COMMITMENT_END,
            expiration=datetime(2026, 4, 1, tzinfo=UTC),
            termination=COMMITMENT_END,
        ),
        svc(5, "gone.example.com", LiveLifecycle.TERMINATED),
        svc(6, "expired.example.com", LiveLifecycle.EXPIRED),
        svc(7, "undated.example.com", LiveLifecycle.RENEW, expiration=None),
        # Given in another offset: written in UTC all the same.
        svc(
            8,
            "offset.example.com",
            LiveLifecycle.RENEW,
            expiration=datetime(2027, 1, 1, 1, 30, tzinfo=PARIS),
        ),
    ]
)


def ics(account: LiveAccount = ACCOUNT, *, stamp: datetime = NOW, **query: object) -> str:
    listing = select(account, ServiceQuery(**query), now=NOW, endpoint="ovh-eu")  # type: ignore[arg-type]
    return render_ics(listing, stamp=stamp)


def events(text: str) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(text)
    found = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    assert len(found) == len(calendar.walk("VEVENT")), "UIDs are unique"
    return found


def start(event: icalendar.Event) -> datetime:
    value = event.decoded("DTSTART")
    assert isinstance(value, datetime) and value.utcoffset() == timedelta(0)
    return value


def test_one_event_per_expiry_and_per_last_moment_to_cancel() -> None:
    got = events(ics())
    assert {uid: start(event) for uid, event in got.items()} == {
        "1-expiry@reconciler": datetime(2027, 3, 1, tzinfo=UTC),
        "2-expiry@reconciler": datetime(2027, 3, 1, tzinfo=UTC),
        "3-expiry@reconciler": datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
        # 24 hours before the termination at expiry.
        "3-cancel-termination-by@reconciler": datetime(2026, 5, 31, 12, 0, tzinfo=UTC),
        "4-expiry@reconciler": datetime(2026, 4, 1, tzinfo=UTC),
        # 24 hours before the end of the commitment, not before the (earlier) expiry.
        "4-cancel-termination-by@reconciler": COMMITMENT_END - timedelta(hours=24),
        "8-expiry@reconciler": datetime(2027, 1, 1, 0, 30, tzinfo=UTC),
    }
    # Gone (5, 6) and undated (7) services have no event.


def test_the_words_say_what_happens_and_by_when() -> None:
    got = events(ics())
    assert str(got["1-expiry@reconciler"]["SUMMARY"]) == "renews.example.com renews"
    assert "expires unless renewed" in str(got["2-expiry@reconciler"]["SUMMARY"])
    assert str(got["3-expiry@reconciler"]["SUMMARY"]) == "leaving.example.com is terminated"
    cancel = got["4-cancel-termination-by@reconciler"]
    assert str(cancel["SUMMARY"]) == (
        "Last moment to cancel the termination of committed.example.com"
    )
    description = str(cancel["DESCRIPTION"])
    assert "at the end of its commitment, on 2027-09-01 00:00 UTC" in description
    assert "until 2027-08-31 00:00 UTC" in description
    assert "service 4" in description  # commas in the text survive the escaping
    assert str(got["4-expiry@reconciler"]["DESCRIPTION"]).endswith(
        "It is terminated at the end of its commitment, on 2027-09-01 00:00 UTC."
    )


def test_the_calendar_is_a_valid_publish_feed_stamped_by_the_injected_clock() -> None:
    text = ics(stamp=datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC))
    calendar = icalendar.Calendar.from_ical(text)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["PRODID"]).startswith("-//reconciler//")
    assert str(calendar["X-WR-CALNAME"]) == "OVHcloud deadlines (ovh-eu)"
    for event in calendar.walk("VEVENT"):
        assert event.decoded("DTSTAMP") == datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)
    # RFC 5545 3.1: every line ends with CRLF, none is longer than 75 octets.
    assert text.endswith("END:VCALENDAR\r\n")
    lines = text.split("\r\n")[:-1]
    assert all("\n" not in line and len(line.encode()) <= 75 for line in lines)


def test_uids_are_stable_when_the_dates_move() -> None:
    """A renewal moves the expiry a year; a re-read feed must update the event, which
    calendars do by UID: the UID depends on the service and the kind only."""
    before = events(ics())
    renewed = LiveAccount.from_services(
        [
            svc(
                1,
                "renews.example.com",
                LiveLifecycle.RENEW,
                expiration=datetime(2028, 3, 1, tzinfo=UTC),
            ),
            svc(
                3,
                "leaving.example.com",
                LiveLifecycle.TERMINATE_AT_EXPIRY,
                expiration=datetime(2026, 7, 1, tzinfo=UTC),
                termination=datetime(2026, 7, 1, tzinfo=UTC),
            ),
        ]
    )
    after = events(ics(renewed, stamp=NOW + timedelta(days=1)))
    assert (
        set(after)
        == {
            "1-expiry@reconciler",
            "3-expiry@reconciler",
            "3-cancel-termination-by@reconciler",
        }
        < set(before)
    )
    assert start(after["1-expiry@reconciler"]) == datetime(2028, 3, 1, tzinfo=UTC)
    assert start(after["3-cancel-termination-by@reconciler"]) == datetime(2026, 6, 30, tzinfo=UTC)
    # And the same account read at the same instant gives the same bytes.
    assert ics() == ics()


def test_the_listing_filters_apply_to_the_calendar() -> None:
    got = events(ics(search="committed"))
    assert set(got) == {"4-expiry@reconciler", "4-cancel-termination-by@reconciler"}


def test_a_hostile_name_cannot_forge_a_property() -> None:
    account = LiveAccount.from_services(
        [svc(9, "evil.example.com\r\nUID:forged;x,y\\", LiveLifecycle.RENEW)]
    )
    calendar = icalendar.Calendar.from_ical(ics(account))
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == "9-expiry@reconciler"
    assert str(event["SUMMARY"]) == "evil.example.com\\x0d\\x0aUID:forged;x,y\\ renews"


def test_deadlines_of_a_commitment_end_without_a_termination_date_are_its_earliest() -> None:
    """No termination date given: the termination is judged, as the rules judge it, at the
    first instant of the commitment's end day anywhere (00:00 UTC+14, the day before at
    10:00 UTC) when that comes before the expiry (``LiveService.terminates_at``)."""
    service = live_service(
        {
            "id": 10,
            "name": "c.example.com",
            "type": "vps",
            "lifecycle": "terminate_at_commitment_end",
            "expires": datetime(2026, 5, 1, tzinfo=UTC),
            "termination": None,
            "commitment": {"end": "2026-05-01", "strategy": "CANCEL_SERVICE"},
        }
    )
    (expiry, cancel, ends) = deadlines([service])
    assert (expiry.kind, expiry.at) == (DeadlineKind.EXPIRY, datetime(2026, 5, 1, tzinfo=UTC))
    assert (cancel.kind, cancel.at) == (
        DeadlineKind.CANCEL_BY,
        datetime(2026, 4, 29, 10, tzinfo=UTC),
    )
    assert (ends.kind, ends.day) == (DeadlineKind.COMMITMENT_END, date(2026, 5, 1))


@pytest.mark.parametrize(
    ("strategy", "then"),
    [
        (EndStrategy.REACTIVATE_ENGAGEMENT, "Then a new commitment of the same length starts."),
        (
            EndStrategy.STOP_ENGAGEMENT_KEEP_PRICE,
            "Then it renews without a commitment, at the same price.",
        ),
        (
            EndStrategy.STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE,
            "Then it renews without a commitment, at the default price.",
        ),
        (EndStrategy.CANCEL_SERVICE, "Then it is terminated and its data deleted."),
        (None, "OVH gives no end rule for it."),
    ],
)
def test_the_end_of_a_commitment_is_an_all_day_event_saying_what_happens(
    strategy: EndStrategy | None, then: str
) -> None:
    service = live_service(
        {
            "id": 11,
            "name": "ns1.example.eu",
            "type": "dedicated/server",
            "expires": datetime(2026, 4, 1, tzinfo=UTC),
            "commitment": {"end": "2026-12-31", "strategy": strategy and strategy.value},
        }
    )
    got = events(ics(LiveAccount.from_services([service])))
    assert set(got) == {"11-expiry@reconciler", "11-commitment-end@reconciler"}
    ends = got["11-commitment-end@reconciler"]
    assert ends.decoded("DTSTART") == date(2026, 12, 31)  # a date: all day, no time zone
    assert str(ends["SUMMARY"]) == "The commitment of ns1.example.eu ends"
    assert str(ends["DESCRIPTION"]).endswith(f"is committed until 2026-12-31. {then}")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a,b;c\\d", "a\\,b\\;c\\\\d"),
        ("two\nlines", "two\\nlines"),
        ("crlf\r\nend", "crlf\\nend"),
        ("bell\x07", "bell\\\\x07"),
    ],
)
def test_escape_text(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


def test_fold_never_splits_a_character() -> None:
    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    pieces = folded.split("\r\n ")
    assert "".join(pieces) == line
    assert all(len(piece.encode()) <= 74 for piece in pieces[1:])
    assert len(pieces[0].encode()) <= 75
