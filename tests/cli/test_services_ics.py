"""``reconciler services --format ics`` against the real sandbox server (OVH_ENDPOINT set
to its URL, as a user would), read back with the ``icalendar`` library."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from cli_helpers import READ_ALL_KEYS, seeded_account
from conftest import SANDBOX_EPOCH, SandboxServer
from sandbox_env import isolate, serve_seed

from reconciler.cli import main

SEED = seeded_account(120000101, 120000202, 120000801, 120000105)


@pytest.fixture
def seeded(
    sandbox_server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SandboxServer:
    isolate(tmp_path, monkeypatch)
    return serve_seed(sandbox_server, monkeypatch, SEED, READ_ALL_KEYS)


def run_ics(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> bytes:
    with pytest.raises(SystemExit) as exit_info:
        main(["services", "--format", "ics", *args])
    out, err = capsysbinary.readouterr()
    assert (exit_info.value.code, err) == (0, b"")
    return out


def by_uid(out: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(out)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_the_account_deadlines_as_a_calendar(
    seeded: SandboxServer, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = run_ics(capsysbinary)
    assert out.startswith(b"BEGIN:VCALENDAR\r\n") and out.endswith(b"END:VCALENDAR\r\n")
    events = by_uid(out)
    assert {uid: event.decoded("DTSTART") for uid, event in events.items()} == {
        "120000101-expiry@reconciler": datetime(2027, 3, 1, tzinfo=UTC),
        "120000202-expiry@reconciler": datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
        "120000202-cancel-termination-by@reconciler": datetime(2026, 5, 31, 12, 0, tzinfo=UTC),
        "120000801-expiry@reconciler": datetime(2026, 4, 1, tzinfo=UTC),
        # The termination is at the end of the commitment: cancelling closes 24 hours
        # before that, not before the expiry.
        "120000801-cancel-termination-by@reconciler": datetime(2026, 8, 31, tzinfo=UTC),
        # A day, as OVH gives it: an all-day event.
        "120000801-commitment-end@reconciler": date(2026, 9, 1),
    }  # the expired forgotten.io has none
    ends = events["120000801-commitment-end@reconciler"]
    assert "Then it is terminated and its data deleted." in str(ends["DESCRIPTION"])
    # DTSTAMP: the API's clock (the sandbox's, stopped), not this machine's.
    for event in events.values():  # date-times in UTC; the commitment's day a date
        start = event.decoded("DTSTART")
        assert type(start) is date or start.utcoffset() == timedelta(0)
        stamp = event.decoded("DTSTAMP")
        assert SANDBOX_EPOCH <= stamp < SANDBOX_EPOCH + timedelta(seconds=5)


def test_a_later_read_updates_the_same_events(
    seeded: SandboxServer, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    first = by_uid(run_ics(capsysbinary))
    seeded.advance(timedelta(days=40))  # the server's clock: example.com's date is unchanged
    second = by_uid(run_ics(capsysbinary))
    assert set(second) == set(first)
    assert second["120000101-expiry@reconciler"].decoded("DTSTAMP") >= SANDBOX_EPOCH + timedelta(
        days=40
    )


def test_filters_narrow_the_calendar(
    seeded: SandboxServer, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    events = by_uid(run_ics(capsysbinary, "--type", "dedicated"))
    assert set(events) == {
        "120000801-expiry@reconciler",
        "120000801-cancel-termination-by@reconciler",
        "120000801-commitment-end@reconciler",
    }
