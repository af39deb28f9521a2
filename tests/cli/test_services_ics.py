"""``reconciler services --format ics`` against the real sandbox server (OVH_ENDPOINT set
to its URL, as a user would), read back with the ``icalendar`` library."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from conftest import SANDBOX_EPOCH, SandboxServer

from reconciler.cli import main

_OVH_ENV = (
    "OVH_ENDPOINT",
    "OVH_APPLICATION_KEY",
    "OVH_APPLICATION_SECRET",
    "OVH_CONSUMER_KEY",
    "OVH_CLIENT_ID",
    "OVH_CLIENT_SECRET",
)

SEED: dict[str, Any] = {
    "credentials": [
        {
            "application_key": "ics-ak",
            "application_secret": "ics-as",
            "consumer_key": "ics-ck",
            "rules": [{"method": "GET", "path": "/*"}],
        }
    ],
    "services": [
        {"name": "example.com", "route": "/domain", "id": 120000101,
         "expires": "2027-03-01T00:00:00Z", "renew": {"mode": "automatic", "period": "P12M"}},
        {"name": "old-shop.example.org", "route": "/hosting/web", "id": 120000202,
         "expires": "2026-06-01T12:00:00Z", "renew": {"mode": "automatic", "period": "P1M"},
         "termination": "at_expiry"},
        {"name": "ns1234567.ip-1-2-3.eu", "route": "/dedicated/server", "id": 120000801,
         "expires": "2026-04-01T00:00:00Z", "renew": {"mode": "automatic", "period": "P1M"},
         "engagement_ends": "2026-09-01T00:00:00Z", "termination": "at_engagement"},
        {"name": "forgotten.io", "route": "/domain", "id": 120000105,
         "expires": "2026-02-20T00:00:00Z", "renew": {"mode": "manual", "period": "P12M"},
         "state": "expired"},
    ],
}  # fmt: skip


@pytest.fixture
def seeded(
    sandbox_server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SandboxServer:
    for name in _OVH_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    sandbox_server.load_seed(SEED, now=SANDBOX_EPOCH)
    monkeypatch.setenv("OVH_ENDPOINT", sandbox_server.url)
    monkeypatch.setenv("OVH_APPLICATION_KEY", "ics-ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "ics-as")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "ics-ck")
    return sandbox_server


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
