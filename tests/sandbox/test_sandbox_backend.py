"""The backend alone (no HTTP), with an injected wall clock: time, lifecycle, rules."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import ApiError, ManualWallClock, StateError, open_state, parse_seed
from reconciler.sandbox.backend import CANCEL_WINDOW, TOKEN_TTL, Backend

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

SEED = """
services:
  - {name: monthly.example.com, route: /hosting/web, id: 100000001, expires: 2026-03-31T10:00:00Z,
     renew: {mode: automatic, period: P1M}}
  - {name: example.com, route: /domain, id: 100000002, expires_in: 10d,
     renew: {mode: automatic, period: P12M}}
  - {name: leaving.example.com, route: /hosting/web, id: 100000003, expires_in: 3d,
     termination: at_expiry}
  - {name: db.example.com, route: /hosting/web, id: 100000004, expires_in: 30d,
     parent: {name: leaving.example.com, route: /hosting/web}}
  - {name: vps-00000001.vps.ovh.net, route: /vps, id: 100000005, expires_in: 4d,
     renew: {mode: manual, period: P1M}}
  - {name: vps-00000002.vps.ovh.net, route: /vps, id: 100000006, expires_in: 4d, unpaid: true}
  - {name: xdsl-ab12345-9, route: /xdsl, id: 100000007, expires_in: 20d}
  - {name: ns1234567.ip-1-2-3.eu, route: /dedicated/server, id: 100000008, expires_in: 15d,
     engagement_ends_in: 90d}
"""


@pytest.fixture
def clock() -> ManualWallClock:
    return ManualWallClock(T0)


@pytest.fixture
def backend(tmp_path: Path, clock: ManualWallClock) -> Iterator[Backend]:
    backend = open_state(tmp_path / "state.db", seed=parse_seed(SEED, "seed.yaml"), wall=clock)
    yield backend
    backend.close()


def error_of(call: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    return caught.value


def expiry(backend: Backend, service_id: int) -> datetime:
    return datetime.fromisoformat(backend.service(service_id)["billing"]["expirationDate"])


def state_of(backend: Backend, service_id: int) -> dict[str, Any]:
    return next(s for s in backend.internal_services() if s["serviceId"] == service_id)


# --- the clock ------------------------------------------------------------------------


def test_a_fresh_sandbox_ticks_with_the_wall_clock(
    backend: Backend, clock: ManualWallClock
) -> None:
    assert backend.now() == T0
    clock.advance(timedelta(minutes=5))
    assert backend.now() == T0 + timedelta(minutes=5)
    assert backend.clock().ticking


def test_a_set_clock_stands_still_until_told_to_tick(
    backend: Backend, clock: ManualWallClock
) -> None:
    later = T0 + timedelta(days=1)
    backend.set_clock(later)
    clock.advance(timedelta(hours=3))
    assert backend.now() == later and not backend.clock().ticking
    backend.set_clock(later, ticking=True)
    clock.advance(timedelta(hours=3))
    assert backend.now() == later + timedelta(hours=3)


def test_advancing_stops_the_clock_unless_told_to_tick(
    backend: Backend, clock: ManualWallClock
) -> None:
    assert backend.clock().ticking
    backend.advance_clock(timedelta(days=2))
    assert backend.now() == T0 + timedelta(days=2) and not backend.clock().ticking
    backend.advance_clock(timedelta(days=1), ticking=True)
    clock.advance(timedelta(minutes=1))
    assert backend.now() == T0 + timedelta(days=3, minutes=1)


def test_auth_time_is_the_sandbox_clock(backend: Backend) -> None:
    backend.set_clock(datetime(2030, 1, 1, tzinfo=UTC))
    assert backend.api_time() == int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())


def test_the_clock_survives_reopening_the_state(tmp_path: Path, clock: ManualWallClock) -> None:
    first = open_state(tmp_path / "s.db", seed=parse_seed(SEED), wall=clock)
    first.set_clock(datetime(2027, 5, 5, tzinfo=UTC))
    first.close()
    again = open_state(tmp_path / "s.db", wall=ManualWallClock(T0 + timedelta(days=100)))
    assert again.now() == datetime(2027, 5, 5, tzinfo=UTC)
    again.close()


# --- time moves: renewals, expirations, terminations -----------------------------------


def test_automatic_renewal_renews_by_its_period(backend: Backend, clock: ManualWallClock) -> None:
    before = expiry(backend, 100000002)
    clock.advance(timedelta(days=10))  # exactly at expiry
    assert expiry(backend, 100000002) == before.replace(year=before.year + 1)
    assert backend.service(100000002)["billing"]["lifecycle"]["current"]["state"] == "active"


def test_a_far_jump_renews_as_many_periods_as_needed(backend: Backend) -> None:
    backend.set_clock(datetime(2028, 3, 15, tzinfo=UTC))
    # Due 2026-03-31 12:00 in Paris, monthly: 24 renewals later it is due on the 31st
    # again (not on the 28th left by February), at the same time of day in Paris.
    renewed = expiry(backend, 100000001)
    assert renewed == datetime(2028, 3, 31, 10, 0, tzinfo=UTC)
    assert renewed.utcoffset() == timedelta(hours=2)


def test_monthly_renewal_clamps_to_the_end_of_short_months(backend: Backend) -> None:
    backend.set_clock(datetime(2026, 4, 10, tzinfo=UTC))
    assert expiry(backend, 100000001).date().isoformat() == "2026-04-30"


def test_termination_at_expiry_removes_the_service_and_its_children(
    backend: Backend, clock: ManualWallClock
) -> None:
    clock.advance(timedelta(days=3) - timedelta(seconds=1))
    assert 100000003 in backend.service_ids()
    clock.advance(timedelta(seconds=1))
    ids = backend.service_ids()
    assert 100000003 not in ids and 100000004 not in ids
    assert error_of(backend.service, 100000003).status == 404
    leaving, child = state_of(backend, 100000003), state_of(backend, 100000004)
    assert (leaving["lifecycle"], leaving["resourceState"]) == ("terminated", "deleted")
    assert child["lifecycle"] == "terminated"
    last = backend.emails()[-1]
    assert "leaving.example.com" in last["subject"] and "db.example.com" in last["body"]


def test_manual_renewal_not_paid_expires(backend: Backend, clock: ManualWallClock) -> None:
    clock.advance(timedelta(days=4))
    service = backend.service(100000005)
    assert service["billing"]["lifecycle"]["current"]["state"] == "unrenewed"
    assert service["resource"]["state"] == "suspended"
    assert service["billing"]["lifecycle"]["capacities"]["actions"] == []
    assert 100000005 in backend.service_ids()  # still listed, as the panel shows it
    gone = error_of(backend.update_service, 100000005, {"displayName": "x"})
    assert (gone.status, gone.message) == (460, "This service is expired")
    assert backend.service_infos("/vps", "vps-00000001.vps.ovh.net")["status"] == "expired"


def test_an_unpaid_service_is_not_renewed(backend: Backend, clock: ManualWallClock) -> None:
    assert backend.service(100000006)["billing"]["lifecycle"]["current"]["state"] == "unpaid"
    assert backend.service_infos("/vps", "vps-00000002.vps.ovh.net")["status"] == "unPaid"
    refused = error_of(
        backend.update_service, 100000006, {"terminationPolicy": "terminateAtExpirationDate"}
    )
    assert refused.status == 409 and "unpaid" in refused.message
    clock.advance(timedelta(days=4))
    assert backend.service(100000006)["billing"]["lifecycle"]["current"]["state"] == "unrenewed"


# --- the 24-hour rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before_expiry", "allowed"),
    [
        (CANCEL_WINDOW + timedelta(seconds=1), True),
        (CANCEL_WINDOW, False),
        (CANCEL_WINDOW - timedelta(seconds=1), False),
        (timedelta(hours=1), False),
    ],
    ids=["24h+1s", "exactly-24h", "24h-1s", "1h"],
)
def test_cancelling_a_termination_needs_more_than_24_hours(
    backend: Backend, before_expiry: timedelta, allowed: bool
) -> None:
    terminates = expiry(backend, 100000003)
    backend.set_clock(terminates - before_expiry)
    if allowed:
        backend.update_service(100000003, {"terminationPolicy": "empty"})
        assert (
            backend.service(100000003)["billing"]["lifecycle"]["current"]["terminationDate"] is None
        )
    else:
        refused = error_of(backend.update_service, 100000003, {"terminationPolicy": "empty"})
        assert refused.status == 409
        assert "24 hours" in refused.message and "can no longer be cancelled" in refused.message
        current = backend.service(100000003)["billing"]["lifecycle"]["current"]
        assert current["pendingActions"] == ["terminateAtExpirationDate"]


def test_the_legacy_route_keeps_the_24_hour_rule(backend: Backend) -> None:
    backend.set_clock(expiry(backend, 100000003) - timedelta(hours=23))
    body = {"renew": {"deleteAtExpiration": False}}
    refused = error_of(backend.update_service_infos, "/hosting/web", "leaving.example.com", body)
    assert refused.status == 409


def test_setting_then_cancelling_a_termination(backend: Backend) -> None:
    backend.update_service(100000002, {"terminationPolicy": "terminateAtExpirationDate"})
    current = backend.service(100000002)["billing"]["lifecycle"]["current"]
    assert current["pendingActions"] == ["terminateAtExpirationDate"]
    assert current["terminationDate"] == backend.service(100000002)["billing"]["expirationDate"]
    assert backend.service(100000002)["billing"]["renew"]["current"]["nextDate"] is None
    backend.update_service(100000002, {"terminationPolicy": "empty"})
    assert backend.service(100000002)["billing"]["lifecycle"]["current"]["pendingActions"] == []


def test_termination_at_engagement_date(backend: Backend, clock: ManualWallClock) -> None:
    refused = error_of(
        backend.update_service, 100000002, {"terminationPolicy": "terminateAtEngagementDate"}
    )
    assert refused.status == 400
    backend.update_service(100000008, {"terminationPolicy": "terminateAtEngagementDate"})
    clock.advance(timedelta(days=89))
    assert 100000008 in backend.service_ids()  # renewed monthly meanwhile
    clock.advance(timedelta(days=1))
    assert 100000008 not in backend.service_ids()


def test_telecom_cannot_be_terminated_from_services(backend: Backend) -> None:
    refused = error_of(
        backend.update_service, 100000007, {"terminationPolicy": "terminateAtExpirationDate"}
    )
    assert refused.status == 400 and "not available" in refused.message
    assert backend.service(100000007)["billing"]["lifecycle"]["capacities"]["actions"] == []


# --- renew -------------------------------------------------------------------------------


def test_the_renew_period_must_be_offered(backend: Backend) -> None:
    assert backend.renew_period_capacities(100000001) == ["P1M", "P12M"]
    refused = error_of(backend.update_service, 100000001, {"renew": {"period": "P3M"}})
    assert refused.status == 400 and refused.details == {"availablePeriods": ["P1M", "P12M"]}
    backend.update_service(100000001, {"renew": {"mode": "automatic", "period": "P12M"}})
    assert backend.service(100000001)["billing"]["renew"]["current"]["period"] == "P12M"
    assert backend.service_infos("/hosting/web", "monthly.example.com")["renew"]["period"] == 12


@pytest.mark.parametrize(
    "body",
    [
        {"renew": {"mode": "sometimes"}},
        {"renew": {"period": "P1Y"}},
        {"renew": "automatic"},
        {"terminationPolicy": "now"},
        {"displayName": ""},
        {"unknown": 1},
        {},
        [],
    ],
    ids=["mode", "period", "renew-type", "policy", "display-name", "unknown-key", "empty", "list"],
)
def test_bad_updates_are_400_and_change_nothing(backend: Backend, body: Any) -> None:
    before = backend.service(100000001)
    assert error_of(backend.update_service, 100000001, body).status == 400
    assert backend.service(100000001) == before


def test_an_update_is_all_or_nothing(backend: Backend) -> None:
    before = backend.service(100000001)
    body = {"displayName": "new name", "renew": {"period": "P6M"}}
    assert error_of(backend.update_service, 100000001, body).status == 400
    assert backend.service(100000001) == before


# --- immediate termination ---------------------------------------------------------------


def token_in_last_email(backend: Backend, service_id: int) -> str:
    body = backend.emails()[-1]["body"]
    found = re.search(
        rf"https://www\.ovh\.com/manager/#/billing/confirmTerminate\?id={service_id}&token=(\w+)",
        body,
    )
    assert found, body
    return found.group(1)


def test_immediate_termination_needs_the_e_mailed_token(backend: Backend) -> None:
    assert "e-mail" in backend.request_termination(100000001)
    assert 100000001 in backend.service_ids()  # nothing deleted before confirmation
    mail = backend.emails()[-1]
    assert "monthly.example.com" in mail["subject"] and "irreversibly" in mail["body"]
    token = token_in_last_email(backend, 100000001)
    bad = error_of(backend.confirm_termination, 100000001, {"token": "nope"})
    assert bad.status == 400
    backend.confirm_termination(100000001, {"token": token, "reason": "NOT_NEEDED_ANYMORE"})
    assert 100000001 not in backend.service_ids()
    assert state_of(backend, 100000001)["lifecycle"] == "terminated"


def test_a_token_is_single_use(backend: Backend) -> None:
    backend.request_termination(100000001)
    first = token_in_last_email(backend, 100000001)
    backend.request_termination(100000001)
    second = token_in_last_email(backend, 100000001)
    assert first != second
    backend.confirm_termination(100000001, {"token": second})
    # The service is gone: the used token, and the other one, find nothing to delete.
    for token in (first, second):
        again = error_of(backend.confirm_termination, 100000001, {"token": token})
        assert again.status == 404


def test_a_used_token_is_refused_while_its_service_exists(backend: Backend) -> None:
    backend.request_termination(100000001)
    token = token_in_last_email(backend, 100000001)
    # Marked used (as if confirmed) while the service is still there: refused as used.
    backend._db.execute("UPDATE tokens SET used_at = 1 WHERE token = ?", (token,))
    again = error_of(backend.confirm_termination, 100000001, {"token": token})
    assert again.status == 400 and "already been used" in again.message


def test_a_token_expires(backend: Backend, clock: ManualWallClock) -> None:
    backend.request_termination(100000001)
    token = token_in_last_email(backend, 100000001)
    clock.advance(TOKEN_TTL)
    expired = error_of(backend.confirm_termination, 100000001, {"token": token})
    assert expired.status == 400 and "expired" in expired.message
    assert 100000001 in backend.service_ids()


def test_a_token_is_valid_until_it_expires(backend: Backend, clock: ManualWallClock) -> None:
    backend.request_termination(100000001)
    token = token_in_last_email(backend, 100000001)
    clock.advance(TOKEN_TTL - timedelta(seconds=1))
    backend.confirm_termination(100000001, {"token": token})
    assert 100000001 not in backend.service_ids()


def test_a_token_is_for_one_service_only(backend: Backend) -> None:
    backend.request_termination(100000001)
    token = token_in_last_email(backend, 100000001)
    assert error_of(backend.confirm_termination, 100000004, {"token": token}).status == 400


@pytest.mark.parametrize(
    "body",
    [{"token": "x", "reason": "BORED"}, {"token": "x", "futureUse": "MAYBE"}, {}, {"token": 3}],
    ids=["reason", "future-use", "no-token", "token-type"],
)
def test_confirm_checks_ovh_enums(backend: Backend, body: dict[str, Any]) -> None:
    assert error_of(backend.confirm_termination, 100000001, body).status == 400


def test_immediate_termination_only_where_the_product_allows_it(backend: Backend) -> None:
    refused = error_of(backend.request_termination, 100000002)  # a domain
    assert refused.status == 400 and "terminateAtExpirationDate" in refused.message
    assert backend.emails() == []


def test_gone_services_answer_404(backend: Backend) -> None:
    backend.request_termination(100000001)
    backend.confirm_termination(100000001, {"token": token_in_last_email(backend, 100000001)})
    for call, args in (
        (backend.service, (100000001,)),
        (backend.request_termination, (100000001,)),
        (backend.update_service, (100000001, {"displayName": "x"})),
        (backend.service_infos, ("/hosting/web", "monthly.example.com")),
    ):
        assert error_of(call, *args).status == 404


# --- seeding and state files ---------------------------------------------------------------


def test_ids_are_nine_digits_and_stable(tmp_path: Path) -> None:
    text = "services: [{name: a.example.com, route: /hosting/web, expires_in: 9d}]"
    one = open_state(tmp_path / "1.db", seed=parse_seed(text))
    two = open_state(tmp_path / "2.db", seed=parse_seed(text.replace("9d", "30d")))
    assert one.service_ids() == two.service_ids()
    assert len(str(one.service_ids()[0])) == 9
    one.close()
    two.close()


def test_relative_dates_follow_the_clock_at_reset(backend: Backend) -> None:
    backend.set_clock(datetime(2027, 1, 1, tzinfo=UTC))
    backend.reset()
    assert expiry(backend, 100000002) == datetime(2027, 1, 11, tzinfo=UTC)
    assert 100000003 in backend.service_ids()  # back to the seed
    assert backend.emails() == []


def test_reset_can_set_the_clock_first(backend: Backend) -> None:
    backend.reset(now=datetime(2030, 6, 1, tzinfo=UTC))
    assert backend.now() == datetime(2030, 6, 1, tzinfo=UTC)
    assert expiry(backend, 100000002) == datetime(2030, 6, 11, tzinfo=UTC)


def test_a_state_is_reused_and_a_different_seed_refused(tmp_path: Path) -> None:
    seed = parse_seed(SEED, "seed.yaml")
    first = open_state(tmp_path / "s.db", seed=seed)
    first.update_service(100000002, {"displayName": "kept"})
    first.close()
    again = open_state(tmp_path / "s.db", seed=seed)
    assert again.service(100000002)["resource"]["displayName"] == "kept"
    again.close()
    other = parse_seed("services: []", "other.yaml")
    with pytest.raises(StateError, match="seeded from seed.yaml"):
        open_state(tmp_path / "s.db", seed=other)
    fresh = open_state(tmp_path / "s.db", seed=other, reseed=True)
    assert fresh.service_ids() == []
    fresh.close()


def test_a_file_that_is_not_a_sandbox_state_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="not a sandbox state"):
        open_state(tmp_path / "junk.db")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.close()
    with pytest.raises(StateError, match="not a sandbox state"):
        open_state(tmp_path / "other.db")


def test_the_demo_account_is_seeded_on_first_use(tmp_path: Path) -> None:
    backend = open_state(tmp_path / "deep" / "dir" / "sandbox.db")
    assert len(backend.service_ids()) == 18
    assert backend.seed_source and backend.seed_source.endswith("demo.yaml")
    backend.close()


def test_a_state_of_an_earlier_sandbox_gains_the_new_columns(tmp_path: Path) -> None:
    """A rehearsal state made before commitments had end rules still opens, and its
    engaged services answer with the default rule."""
    path = tmp_path / "old.db"
    open_state(path, seed=parse_seed(SEED, "seed.yaml")).close()
    with sqlite3.connect(path) as db:
        for column in ("end_strategy", "end_strategies", "engagement_months", "default_price"):
            db.execute(f"ALTER TABLE services DROP COLUMN {column}")
    reopened = open_state(path, seed=parse_seed(SEED, "seed.yaml"))
    try:
        engagement = reopened.service(100000008)["billing"]["engagement"]
        assert engagement["endRule"]["strategy"] == "REACTIVATE_ENGAGEMENT"
        assert reopened.engagement(100000008)["currentPeriod"]["startDate"]
    finally:
        reopened.close()
