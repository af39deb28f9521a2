"""The admin routes' bodies, read by their models (``reconciler/sandbox/bodies.py``): a
bad body gets one 400 whose one message names the field and what it should be, in the
sandbox's typed error shape; a good one does what it says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asgi_client import SyncAsgiClient

from reconciler.sandbox.faults import FaultConfig
from reconciler.sandbox.testing import InProcessSandbox

ROOT = "http://sandbox.invalid"
CK = "demo-readonly-ck"


@pytest.fixture
def admin(sandbox_app: InProcessSandbox) -> Iterator[SyncAsgiClient]:
    with SyncAsgiClient(sandbox_app.app) as client:
        yield client


def send(admin: SyncAsgiClient, method: str, path: str, content: str | None) -> httpx.Response:
    return admin.request(method, ROOT + path, content=content, headers={})


KNOWN_FAULTS = "drop_rate, error_rate, error_statuses, jitter_ms, latency_ms, retry_after, seed"
CLOCK_USAGE = 'clock: expected {"now": ISO datetime} or {"advance": "2d"}, and "ticking"'
NOT_AN_INSTANT = "'yesterday' is not an ISO 8601 date-time; write e.g. 2027-03-01T00:00:00Z"


@pytest.mark.parametrize(
    ("method", "path", "content", "message"),
    [
        ("PUT", "/sandbox/faults", "[]", "faults: expected a JSON object"),
        (
            "PUT",
            "/sandbox/faults",
            '{"latencyms": 2, "drop": 1}',
            f"faults: unknown field(s) drop, latencyms; known: {KNOWN_FAULTS}",
        ),
        (
            "PUT",
            "/sandbox/faults",
            '{"error_rate": 2}',
            "faults: error_rate is a number from 0 to 1",
        ),
        (
            "PUT",
            "/sandbox/faults",
            '{"latency_ms": true}',
            "faults: latency_ms is a number from 0 to 60000",
        ),
        (
            "PUT",
            "/sandbox/faults",
            '{"drop_rate": "0.5"}',
            "faults: drop_rate is a number from 0 to 1",
        ),
        (
            "PUT",
            "/sandbox/faults",
            '{"error_statuses": [503, 200]}',
            "faults: error_statuses is a list of HTTP error statuses",
        ),
        (
            "PUT",
            "/sandbox/faults",
            '{"error_statuses": []}',
            "faults: error_statuses is a list of HTTP error statuses",
        ),
        (
            "PUT",
            "/sandbox/faults",
            '{"retry_after": 1.5}',
            "faults: retry_after is a whole number of seconds from 0 to 3600",
        ),
        ("PUT", "/sandbox/faults", '{"seed": "7"}', "faults: seed is an integer"),
        ("PUT", "/sandbox/faults", "{", "expected a JSON body"),
        ("PUT", "/sandbox/clock", '{"now": "yesterday"}', f"clock: now: {NOT_AN_INSTANT}"),
        ("PUT", "/sandbox/clock", '{"later": "1d"}', CLOCK_USAGE),
        ("PUT", "/sandbox/clock", '"1d"', CLOCK_USAGE),
        ("PUT", "/sandbox/clock", '{"ticking": "yes"}', "clock: ticking is true or false"),
        (
            "PUT",
            "/sandbox/clock",
            '{"now": "2027-01-01T00:00:00Z", "advance": "1d"}',
            "clock: give now or advance, not both",
        ),
        (
            "PUT",
            "/sandbox/clock",
            "{}",
            'clock: expected {"now": ISO datetime} or {"advance": "2d"}',
        ),
        (
            "PUT",
            "/sandbox/clock",
            '{"advance": 2}',
            "clock: advance: '2' is not a duration; write a number and a unit (w, d, h, m, s), "
            "e.g. 30d, 12h, 1d12h, -3d",
        ),
        ("POST", "/sandbox/reset", '{"now": "yesterday"}', f"reset: now: {NOT_AN_INSTANT}"),
        (
            "POST",
            "/sandbox/reset",
            '{"clock": "2027-01-01"}',
            'reset: expected {"now"?: ISO datetime, "seed"?: seed}',
        ),
        ("POST", "/sandbox/reset", '{"seed": 5}', "reset: seed is YAML text or a JSON seed object"),
        ("PUT", "/sandbox/seed?now=yesterday", "services: []", f"seed: now: {NOT_AN_INSTANT}"),
        (
            "GET",
            "/sandbox/requests?since=-1",
            None,
            "requests: since is a sequence number (0 or more)",
        ),
        (
            "POST",
            f"/sandbox/credentials/{CK}/validate",
            '{"validity": "a while"}',
            "validate: validity: 'a while' is not a duration; write a number and a unit "
            "(w, d, h, m, s), e.g. 30d, 12h, 1d12h, -3d",
        ),
        (
            "POST",
            f"/sandbox/credentials/{CK}/validate",
            '{"valid": "1d"}',
            "validate: unknown field(s) valid; known: validity",
        ),
        (
            "PUT",
            f"/sandbox/credentials/{CK}",
            '{"state": "expired", "why": "test"}',
            'credential: expected {"state": "validated|expired|refused|pendingValidation"}',
        ),
        (
            "PUT",
            f"/sandbox/credentials/{CK}",
            '{"state": 1}',
            "credential: state is one of validated, pendingValidation, expired, refused",
        ),
        (
            "PUT",
            f"/sandbox/credentials/{CK}",
            '{"state": "gone"}',
            "unknown credential state 'gone'",
        ),
    ],
)
def test_a_bad_body_gets_one_clear_400(
    admin: SyncAsgiClient, method: str, path: str, content: str | None, message: str
) -> None:
    before = send(admin, "GET", "/sandbox", None).json()
    answer = send(admin, method, path, content)
    assert answer.status_code == 400
    assert answer.json() == {"class": "Client::BadRequest", "message": message}
    assert send(admin, "GET", "/sandbox", None).json() == before  # nothing changed


def test_good_bodies_do_what_they_say(admin: SyncAsgiClient) -> None:
    def ok(method: str, path: str, content: str | None) -> Any:
        answer = send(admin, method, path, content)
        assert answer.status_code == 200, answer.text
        return answer.json()

    faults = ok("PUT", "/sandbox/faults", '{"error_rate": 1, "error_statuses": [429], "seed": 3}')
    assert faults == {
        **FaultConfig().to_json(),
        "error_rate": 1.0,
        "error_statuses": [429],
        "seed": 3,
    }
    assert ok("PUT", "/sandbox/faults", "null") == FaultConfig().to_json()
    assert ok("PUT", "/sandbox/clock", '{"now": "2027-01-01T01:00:00+01:00"}')["now"] == (
        "2027-01-01T00:00:00Z"
    )
    assert ok("PUT", "/sandbox/clock", '{"advance": "-1d"}')["now"] == "2026-12-31T00:00:00Z"
    assert ok("PUT", "/sandbox/clock", '{"ticking": true}')["ticking"] is True
    assert ok("POST", "/sandbox/reset", '{"now": "2027-02-01"}')["clock"]["now"] == (
        "2027-01-31T23:00:00Z"  # a bare date is midnight in Paris
    )
    assert ok("GET", "/sandbox/requests?since=0&other=ignored", None) == []
    assert ok("PUT", f"/sandbox/credentials/{CK}", '{"state": "expired"}')["state"] == "expired"
