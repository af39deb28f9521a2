"""End to end: the official ``ovh`` python client against the real uvicorn server.

If the official client, which knows nothing of the sandbox, works against it and gets
its own exceptions where OVH would raise them, the sandbox speaks OVH."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import ovh
import pytest
import requests
from ovh import exceptions as ovh_errors

from reconciler.sandbox.testing import SANDBOX_EPOCH, SandboxServer

QUERY_ID = re.compile(r"^SANDBOX\.ext-1\.[0-9a-f]{8}\.\d+\.[0-9a-f-]{36}$")


def expiry(client: ovh.Client, service_id: int) -> datetime:
    service = client.get(f"/services/{service_id}")
    return datetime.fromisoformat(service["billing"]["expirationDate"])


def latest_token(client: ovh.Client, service_id: int) -> str:
    """The token of the newest termination e-mail naming the service (as the Terraform
    provider finds it)."""
    for email_id in sorted(client.get("/me/notification/email/history"), reverse=True):
        body = client.get(f"/me/notification/email/history/{email_id}")["body"]
        found = re.search(
            rf"https://www\.ovh\.com/manager/#/billing/confirmTerminate\?id={service_id}"
            r"&token=([A-Za-z0-9]+)",
            body,
        )
        if found:
            return found.group(1)
    raise AssertionError("no termination e-mail")


# --- signed calls ----------------------------------------------------------------------


def test_signed_get_put_post_succeed(ovh_client: ovh.Client, sandbox_server: SandboxServer) -> None:
    assert ovh_client.get("/auth/time", _need_auth=False) == int(SANDBOX_EPOCH.timestamp())
    ids = ovh_client.get("/services")
    assert len(ids) == 18
    assert ovh_client.get("/services", resourceName="old-shop.example.org") == [120000202]
    assert ovh_client.put("/services/120000202", displayName="shop (closing)") is None
    assert ovh_client.get("/services/120000202")["resource"]["displayName"] == "shop (closing)"
    answer = ovh_client.post("/hosting/web/old-shop.example.org/terminate")
    assert isinstance(answer, str)
    assert "old-shop.example.org" in sandbox_server.emails()[-1]["body"]
    current = ovh_client.get("/auth/currentCredential")
    assert current["status"] == "validated"
    assert {"method": "DELETE", "path": "/*"} in current["rules"]


def test_legacy_service_infos(ovh_client: ovh.Client) -> None:
    path = "/domain/example.net/serviceInfos"
    infos = ovh_client.get(path)
    assert infos["renew"]["deleteAtExpiration"] is False
    infos["renew"]["deleteAtExpiration"] = True
    ovh_client.put(path, **infos)
    service = ovh_client.get("/services/120000102")
    assert service["billing"]["lifecycle"]["current"]["pendingActions"] == [
        "terminateAtExpirationDate"
    ]


# --- the client's exceptions -------------------------------------------------------------


def test_a_wrong_secret_is_bad_parameters(make_ovh_client: Callable[..., ovh.Client]) -> None:
    client = make_ovh_client(application_secret="not-the-secret")
    with pytest.raises(ovh_errors.BadParametersError, match="Invalid signature") as caught:
        client.get("/services")
    assert QUERY_ID.match(caught.value.query_id)


def test_an_unknown_application_key(make_ovh_client: Callable[..., ovh.Client]) -> None:
    with pytest.raises(ovh_errors.InvalidKey):
        make_ovh_client(application_key="nobody").get("/services")


def test_a_call_outside_the_rules(make_ovh_client: Callable[..., ovh.Client]) -> None:
    reader = make_ovh_client(consumer_key="demo-readonly-ck")
    assert reader.get("/services/120000101")["serviceId"] == 120000101
    with pytest.raises(ovh_errors.NotGrantedCall):
        reader.put("/services/120000101", displayName="x")


def test_an_unknown_consumer_key(make_ovh_client: Callable[..., ovh.Client]) -> None:
    with pytest.raises(ovh_errors.NotCredential):
        make_ovh_client(consumer_key="no-such-key").get("/services")


def test_a_requested_key_works_once_validated(
    make_ovh_client: Callable[..., ovh.Client], sandbox_server: SandboxServer
) -> None:
    client = make_ovh_client()
    request = client.new_consumer_key_request()
    request.add_recursive_rules(ovh.API_READ_ONLY, "/services")
    answer = request.request()
    assert answer["state"] == "pendingValidation"
    assert answer["validationUrl"].startswith(sandbox_server.root + "/auth/?credentialToken=")
    with pytest.raises(ovh_errors.InvalidCredential):
        client.get("/services")
    assert requests.get(answer["validationUrl"], timeout=10).status_code == 200
    assert 120000101 in client.get("/services")
    with pytest.raises(ovh_errors.NotGrantedCall):
        client.get("/me")


def test_not_found_and_expired(ovh_client: ovh.Client) -> None:
    with pytest.raises(ovh_errors.ResourceNotFoundError):
        ovh_client.get("/services/999999999")
    with pytest.raises(ovh_errors.ResourceExpiredError, match="This service is expired"):
        ovh_client.put("/services/120000105", terminationPolicy="terminateAtExpirationDate")


# --- the 24-hour rule, both sides of the boundary -------------------------------------------


def test_cancelling_exactly_24_hours_before_expiry_is_refused(
    ovh_client: ovh.Client, sandbox_server: SandboxServer
) -> None:
    sandbox_server.set_clock(expiry(ovh_client, 120000103) - timedelta(hours=24))
    with pytest.raises(ovh_errors.ResourceConflictError, match="24 hours"):
        ovh_client.put("/services/120000103", terminationPolicy="empty")


def test_cancelling_24_hours_and_a_second_before_expiry_is_allowed(
    ovh_client: ovh.Client, sandbox_server: SandboxServer
) -> None:
    sandbox_server.set_clock(expiry(ovh_client, 120000103) - timedelta(hours=24, seconds=1))
    ovh_client.put("/services/120000103", terminationPolicy="empty")
    current = ovh_client.get("/services/120000103")["billing"]["lifecycle"]["current"]
    assert current["terminationDate"] is None and current["pendingActions"] == []


# --- time moves -------------------------------------------------------------------------------


def test_a_year_later(ovh_client: ovh.Client, sandbox_server: SandboxServer) -> None:
    vps_due = expiry(ovh_client, 120000301)
    sandbox_server.advance(timedelta(days=365))
    ids = ovh_client.get("/services")
    # Terminations at expiry happened (old-brand.fr, and the campaign hosting).
    assert 120000103 not in ids and 120000203 not in ids
    with pytest.raises(ovh_errors.ResourceNotFoundError):
        ovh_client.get("/services/120000103")
    # Automatic monthly renewal: renewed as many times as needed, still ahead of now.
    renewed = expiry(ovh_client, 120000301)
    assert renewed > sandbox_server.now() and (renewed - vps_due).days >= 360
    assert ovh_client.get("/services/120000301")["billing"]["lifecycle"]["current"]["state"] == (
        "active"
    )
    # Manual renewal nobody paid: expired.
    server = ovh_client.get("/services/120000401")
    assert server["billing"]["lifecycle"]["current"]["state"] == "unrenewed"
    with pytest.raises(ovh_errors.ResourceExpiredError):
        ovh_client.put("/services/120000401", displayName="x")


# --- immediate deletion by e-mailed token ------------------------------------------------------


def test_the_e_mail_token_deletes_at_once_and_only_once(ovh_client: ovh.Client) -> None:
    ovh_client.post("/hosting/web/old-shop.example.org/terminate")
    token = latest_token(ovh_client, 120000202)
    answer = ovh_client.post(
        "/hosting/web/old-shop.example.org/confirmTermination",
        token=token,
        reason="NOT_NEEDED_ANYMORE",
        futureUse="NOT_REPLACING_SERVICE",
        commentary=None,
    )
    assert isinstance(answer, str)
    assert 120000202 not in ovh_client.get("/services")
    # Once used, the token deletes nothing more: the service is gone ("already gone").
    with pytest.raises(ovh_errors.ResourceNotFoundError):
        ovh_client.post("/services/120000202/terminate/confirm", token=token)
    with pytest.raises(ovh_errors.ResourceNotFoundError):
        ovh_client.post("/hosting/web/old-shop.example.org/terminate")


def test_the_e_mail_token_expires(ovh_client: ovh.Client, sandbox_server: SandboxServer) -> None:
    ovh_client.post("/services/120000201/terminate")
    token = latest_token(ovh_client, 120000201)
    sandbox_server.advance(timedelta(hours=72))
    with pytest.raises(ovh_errors.BadParametersError, match="expired"):
        ovh_client.post("/services/120000201/terminate/confirm", token=token)
    assert 120000201 in ovh_client.get("/services")


def test_a_domain_cannot_be_deleted_now(ovh_client: ovh.Client) -> None:
    with pytest.raises(ovh_errors.BadParametersError, match="cannot be terminated immediately"):
        ovh_client.post("/services/120000101/terminate")


# --- Iceberg ------------------------------------------------------------------------------------


def test_iceberg_pages_through_the_official_client(
    ovh_client: ovh.Client, sandbox_server: SandboxServer
) -> None:
    sandbox_server.load_seed(
        "services:\n  - {count: 1234, name: 'www{n}.example.com', route: /hosting/web,"
        " expires_in: [1d, 300d]}\n",
        now=SANDBOX_EPOCH,
    )
    sizes, total = [], None
    for number in (1, 2, 3):
        response = ovh_client.raw_call(
            "GET",
            "/services",
            headers={
                "X-Pagination-Mode": "CachedObjectList-Pages",
                "X-Pagination-Size": "500",
                "X-Pagination-Number": str(number),
            },
        )
        assert response.status_code == 200
        sizes.append(len(response.json()))
        total = response.headers["X-Pagination-Elements"]
    assert sizes == [500, 500, 234] and total == "1234"


# --- faults -------------------------------------------------------------------------------------


def statuses(url: str, count: int) -> list[int]:
    with requests.Session() as session:
        return [session.get(url + "/auth/time", timeout=10).status_code for _ in range(count)]


def test_seeded_errors_repeat_exactly(sandbox_server: SandboxServer) -> None:
    faults = {"error_rate": 0.4, "error_statuses": [500, 503, 429], "seed": 11}
    sandbox_server.set_faults(**faults)
    first = statuses(sandbox_server.url, 40)
    sandbox_server.set_faults(**faults)
    assert statuses(sandbox_server.url, 40) == first
    assert set(first) <= {200, 500, 503, 429} and 200 in first and len(set(first)) > 1
    sandbox_server.set_faults(**{**faults, "seed": 12})
    assert statuses(sandbox_server.url, 40) != first


def test_a_429_says_when_to_retry(sandbox_server: SandboxServer) -> None:
    sandbox_server.set_faults(error_rate=1.0, error_statuses=[429], retry_after=7)
    response = requests.get(sandbox_server.url + "/services", timeout=10)
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert QUERY_ID.match(response.headers["X-Ovh-Queryid"])
    assert response.json()["message"]


def test_faults_spare_the_admin_routes(sandbox_server: SandboxServer) -> None:
    sandbox_server.set_faults(error_rate=1.0, error_statuses=[503])
    assert sandbox_server.admin.clock()["now"]
    assert requests.get(sandbox_server.url + "/auth/time", timeout=10).status_code == 503


def test_a_dropped_connection_is_a_protocol_error_after_the_change(
    ovh_client: ovh.Client, sandbox_server: SandboxServer
) -> None:
    ovh_client.get("/auth/time", _need_auth=False)
    assert ovh_client.time_delta is not None  # measured before the faults start
    sandbox_server.set_faults(drop_rate=1.0, seed=1)
    with pytest.raises(ovh_errors.HTTPError):
        ovh_client.put("/services/120000101", displayName="written anyway")
    with httpx.Client(timeout=10) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get(sandbox_server.url + "/auth/time")
    sandbox_server.clear_faults()
    assert ovh_client.get("/services/120000101")["resource"]["displayName"] == "written anyway"


def test_injected_latency(sandbox_server: SandboxServer) -> None:
    """Bounds with wide margins, never a race against a noisy machine: a 5 s latency
    makes a 0.5 s read time out on /1.0, while the admin routes answer well within 4 s."""
    with requests.Session() as session:
        session.get(sandbox_server.url + "/auth/time", timeout=10)  # connection warmed up
        sandbox_server.set_faults(latency_ms=5000)
        with pytest.raises(requests.exceptions.ReadTimeout):
            session.get(sandbox_server.url + "/auth/time", timeout=0.5)
    with requests.Session() as session:
        assert session.get(sandbox_server.root + "/sandbox/clock", timeout=4).ok


def test_seeded_drops_repeat(sandbox_server: SandboxServer) -> None:
    def outcomes() -> list[str]:
        found = []
        for _ in range(30):
            try:
                requests.get(sandbox_server.url + "/auth/time", timeout=10)
                found.append("ok")
            except requests.exceptions.RequestException:
                found.append("dropped")
        return found

    sandbox_server.set_faults(drop_rate=0.3, seed=5)
    first = outcomes()
    sandbox_server.set_faults(drop_rate=0.3, seed=5)
    assert outcomes() == first and {"ok", "dropped"} == set(first)
