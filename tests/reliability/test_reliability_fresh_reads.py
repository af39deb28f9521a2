"""Reads stay fresh when the Iceberg listing is refused (issue 14): a 403 on the paged,
cached listing of ``/services`` itself — a call not granted, an IAM refusal — is read
as the control panel reads then: the plain list of ids, then ``GET /services/{id}`` each.
Said in the debug log, and under the same bounds and read deadline as any read.

The sandbox's access rules are ``{method, path}``, as OVH's are, so no rule of its own
can refuse the paged form of ``GET /services`` and grant the plain one: an injected
transport in front of it answers the paged request with OVH's 403, and lets every other
request through to the sandbox.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from fakes import RecordingTransport
from hostile_api import FakeTime, HostileApi, service_json

from reconciler.core.live import LiveAccount
from reconciler.endpoints import Endpoint, resolve_endpoint
from reconciler.errors import (
    DeadlineExceeded,
    Forbidden,
    InvalidCredential,
    LimitExceeded,
    NotGrantedCall,
    ReconcilerError,
)
from reconciler.observe import read_account
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import SignatureCredentials
from reconciler.ovh.deadlines import Timeouts
from reconciler.ovh.limits import Bounds
from reconciler.sandbox.testing import InProcessSandbox

SANDBOX = Endpoint(name="sandbox", base_url="http://sandbox.invalid/1.0")
DEMO = SignatureCredentials(
    application_key="demo-ak", application_secret="demo-as", consumer_key="demo-ck"
)

# OVH's answers to a call a key may not make: by its access rules, and by IAM (the
# action it lacks named in ``details``, no error code).
NOT_GRANTED = {"errorCode": "NOT_GRANTED_CALL", "message": "This call has not been granted"}
IAM_REFUSED = {
    "class": "Client::Forbidden",
    "message": "This call has not been granted",
    "details": {"unauthorizedActionsByIAM": "account:apiovh:services/get"},
}
INVALID_KEY = {"errorCode": "INVALID_CREDENTIAL", "message": "This credential is not valid"}


def is_paged_listing(request: httpx.Request) -> bool:
    return (
        request.method == "GET"
        and request.url.path == "/1.0/services"
        and "X-Pagination-Mode" in request.headers
    )


class RefusingPages(RecordingTransport):
    """The sandbox, every request recorded, except that its paged ``GET /services`` is
    refused with ``body`` (403), as OVH refuses a listing a key may not call."""

    def __init__(self, sandbox: InProcessSandbox, body: dict[str, Any]) -> None:
        super().__init__(httpx.ASGITransport(app=sandbox.app))
        self.body = body

    async def answer(self, request: httpx.Request) -> httpx.Response:
        if is_paged_listing(request):
            return httpx.Response(
                403, json=self.body, headers={"X-Ovh-Queryid": "EU.ext-1.refused"}
            )
        return await super().answer(request)


def read_sandbox(transport: httpx.AsyncBaseTransport) -> LiveAccount:
    async def go() -> LiveAccount:
        async with OvhClient(SANDBOX, DEMO, transport=transport) as client:
            return await read_account(client)

    return asyncio.run(go())


def seen(account: LiveAccount) -> list[tuple[int, str, str]]:
    """What a plan is made of, per service: its id, name and lifecycle as read."""
    return sorted((s.service_id, s.name, repr(s.lifecycle)) for s in account.services)


@pytest.mark.parametrize("body", [NOT_GRANTED, IAM_REFUSED], ids=["not-granted", "iam"])
def test_a_refused_iceberg_listing_is_read_per_id_as_the_panel_does(
    sandbox_app: InProcessSandbox, body: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    paged = read_sandbox(httpx.ASGITransport(app=sandbox_app.app))
    transport = RefusingPages(sandbox_app, body)
    with caplog.at_level(logging.DEBUG, logger="reconciler.ovh"):
        per_id = read_sandbox(transport)
    assert len(per_id.services) >= 3
    assert seen(per_id) == seen(paged)  # the same account, read another way
    listings = [r for r in transport.requests if r.url.path == "/1.0/services"]
    assert [is_paged_listing(r) for r in listings] == [True, False]  # refused, then ids
    each = sorted(p for p in transport.paths() if p.count("/") == 2 and p.startswith("/services/"))
    assert each == sorted(f"/services/{s.service_id}" for s in per_id.services)
    fallback = [r.getMessage() for r in caplog.records if "Iceberg pages refused" in r.message]
    assert len(fallback) == 1 and "403" in fallback[0] and "GET /services/{id}" in fallback[0]


# --- on the fake API: the refusals it does not work around, and its bounds -----------------


def hostile_read(api: HostileApi, time: FakeTime, **options: Any) -> LiveAccount:
    async def go() -> LiveAccount:
        async with OvhClient(
            resolve_endpoint("ovh-eu"),
            DEMO,
            transport=api.transport(),
            clock=time.wall,
            monotonic=time.monotonic,
            sleep=time.sleep,
            random=lambda: 1.0,
            **options,
        ) as client:
            return await read_account(client)

    return asyncio.run(go())


def refuse_pages(api: HostileApi, body: dict[str, Any], *, plain_too: bool = False) -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        if plain_too or "X-Pagination-Mode" in request.headers:
            return api.json(body, 403)
        return api.json([s["serviceId"] for s in api.services])

    api.attack("GET", "/services", answer)


def listings(api: HostileApi) -> list[bool]:
    """Each request of the listing itself: paged (True) or the plain list of ids."""
    asked = [r for r in api.served.requests if r.url.path == "/1.0/services"]
    return ["X-Pagination-Mode" in r.headers for r in asked]


def per_id_reads(api: HostileApi) -> int:
    return sum(1 for p in api.served.paths() if p.startswith("/services/"))


def test_a_key_refused_the_plain_listing_too_is_said_not_worked_around() -> None:
    time = FakeTime()
    api = HostileApi(time, [service_json(1000 + i) for i in range(3)])
    refuse_pages(api, NOT_GRANTED, plain_too=True)
    with pytest.raises(NotGrantedCall) as caught:
        hostile_read(api, time)
    assert "GET /services failed: 403 NOT_GRANTED_CALL" in str(caught.value)
    assert listings(api) == [True, False] and per_id_reads(api) == 0


def test_an_iam_refusal_of_both_names_the_missing_action() -> None:
    time = FakeTime()
    api = HostileApi(time, [service_json(1000)])
    refuse_pages(api, IAM_REFUSED, plain_too=True)
    with pytest.raises(Forbidden) as caught:
        hostile_read(api, time)
    assert caught.value.missing_iam_actions == ("account:apiovh:services/get",)
    assert listings(api) == [True, False]


def test_a_key_that_is_not_valid_is_not_tried_again_another_way() -> None:
    """A 403 saying the key itself is not valid meets every other call the same: one
    request, its own error and hint."""
    time = FakeTime()
    api = HostileApi(time, [service_json(1000)])
    refuse_pages(api, INVALID_KEY)
    with pytest.raises(InvalidCredential):
        hostile_read(api, time)
    assert listings(api) == [True] and per_id_reads(api) == 0


def test_the_fallback_keeps_the_bound_on_ids() -> None:
    time = FakeTime()
    api = HostileApi(time, [service_json(1000 + i) for i in range(5)])
    refuse_pages(api, NOT_GRANTED)
    with pytest.raises(LimitExceeded) as caught:
        hostile_read(api, time, bounds=Bounds(max_objects=4))
    assert "listed 5 ids, more than the 4" in str(caught.value)
    assert listings(api) == [True, False] and per_id_reads(api) == 0  # before any id


def test_the_fallback_keeps_the_read_deadline() -> None:
    """The refused page and the per-id reads share one read deadline: slow ids end
    within it (fake time), not a deadline per id."""
    time = FakeTime()
    api = HostileApi(time, [service_json(1000 + i) for i in range(30)])
    refuse_pages(api, NOT_GRANTED)

    async def slow(request: httpx.Request) -> httpx.Response:
        time.advance(10.0)
        return api.json(service_json(int(request.url.path.rsplit("/", 1)[1])))

    api.attack("GET", r"/services/\d+", slow)
    with pytest.raises(DeadlineExceeded) as caught:
        hostile_read(api, time, concurrency=1, timeouts=Timeouts(read=100.0))
    assert "for the read of GET /services" in str(caught.value)
    assert time.elapsed <= 100.0 + 30.0
    assert 5 <= per_id_reads(api) <= 11  # stopped at the deadline, not after 30 ids


def test_every_error_of_the_fallback_is_one_line() -> None:
    time = FakeTime()
    api = HostileApi(time, [service_json(1000)])
    refuse_pages(api, {**NOT_GRANTED, "message": "not\ngranted\x1b[2J" * 1000}, plain_too=True)
    with pytest.raises(ReconcilerError) as caught:
        hostile_read(api, time)
    text = str(caught.value)
    assert "\n" not in text and text.isprintable() and len(text) <= 600
