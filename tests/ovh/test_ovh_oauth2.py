"""OAuth2 client credentials: one token for every call, Bearer instead of a signature,
refreshed before expiry (an injected clock: no waiting) and once on a 401."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from fakes import FakeSleep, RecordingTransport
from ovh_fakes import FakeApi, json_response, make_client, service_json

from reconciler.clock import ManualClock
from reconciler.errors import ApiError, Unauthorized
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import OAuth2Credentials

CREDS = OAuth2Credentials(
    client_id="sa-id", client_secret="sekret-sa", token_url="https://www.ovh.com/auth/oauth2/token"
)


class TokenServer:
    def __init__(self, api: FakeApi, lifetime: int = 3600) -> None:
        self.api = api
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.token_requests: list[httpx.Request] = []
        self.refuse = False
        self.revoked: set[str] = set()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "www.ovh.com":
            self.token_requests.append(request)
            if self.refuse:
                return json_response(
                    {"error": "invalid_client", "error_description": "bad client"}, 401
                )
            token = f"token-{len(self.issued) + 1}"
            self.issued.append(token)
            return json_response(
                {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime}
            )
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if request.url.path != "/1.0/auth/time" and (
            bearer not in self.issued or bearer in self.revoked
        ):
            return json_response({"message": "invalid token"}, 401)
        return await self.api.handle(request)


def client(server: TokenServer, clock: ManualClock) -> OvhClient:
    return make_client(RecordingTransport(server.handle), credentials=CREDS, clock=clock)


def test_one_token_for_every_call_and_bearer_instead_of_signature() -> None:
    server = TokenServer(FakeApi([service_json(1), service_json(2)], yields=2))
    clock = ManualClock(datetime(2027, 1, 15, 8, 0, tzinfo=UTC))

    async def go() -> None:
        async with client(server, clock) as c:
            await asyncio.gather(*(c.get(f"/services/{i}") for i in (1, 2, 1, 2, 1)))

    asyncio.run(go())
    assert len(server.token_requests) == 1
    token_request = server.token_requests[0]
    assert parse_qs(token_request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["all"],
    }
    basic = token_request.headers["Authorization"].removeprefix("Basic ")
    assert base64.b64decode(basic).decode() == "sa-id:sekret-sa"
    calls = [r for r in server.api.requests if r.url.path.startswith("/1.0/services")]
    assert len(calls) == 5
    for request in calls:
        assert request.headers["Authorization"] == "Bearer token-1"
        assert "X-Ovh-Signature" not in request.headers
        assert "X-Ovh-Application" not in request.headers


def test_token_refreshed_before_it_expires() -> None:
    server = TokenServer(FakeApi([service_json(1)]), lifetime=3600)
    clock = ManualClock(datetime(2027, 1, 15, 8, 0, tzinfo=UTC))

    async def go() -> None:
        async with client(server, clock) as c:
            await c.get("/services/1")
            clock.advance(timedelta(seconds=3600 - 61))
            await c.get("/services/1")  # still fresh enough
            clock.advance(timedelta(seconds=2))  # within the last minute: refresh first
            await c.get("/services/1")

    asyncio.run(go())
    assert server.issued == ["token-1", "token-2"]
    bearers = [r.headers["Authorization"] for r in server.api.requests[1:]]
    assert bearers == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


def test_a_revoked_token_is_replaced_once_on_401() -> None:
    server = TokenServer(FakeApi([service_json(1)]))
    clock = ManualClock(datetime(2027, 1, 15, 8, 0, tzinfo=UTC))

    async def go() -> None:
        async with client(server, clock) as c:
            await c.get("/services/1")
            server.revoked.add("token-1")
            await c.get("/services/1")

    asyncio.run(go())
    assert server.issued == ["token-1", "token-2"]


def test_a_refused_client_is_one_clear_error_without_the_secret() -> None:
    server = TokenServer(FakeApi())
    server.refuse = True
    clock = ManualClock(datetime(2027, 1, 15, 8, 0, tzinfo=UTC))

    async def go() -> None:
        async with client(server, clock) as c:
            await c.get("/me")

    with pytest.raises(Unauthorized) as caught:
        asyncio.run(go())
    text = str(caught.value) + (caught.value.hint or "")
    assert "OAuth2 token request refused: invalid_client: bad client" in text
    assert "OVH_CLIENT_ID" in text
    assert "sekret" not in text and "sa-id" not in text


def test_a_token_answer_without_a_token_is_an_api_error() -> None:
    api = FakeApi()

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "www.ovh.com":
            return json_response({"token_type": "Bearer"})
        return await api.handle(request)

    async def go() -> None:
        async with make_client(RecordingTransport(handle), credentials=CREDS) as c:
            await c.get("/me")

    with pytest.raises(ApiError, match="without a usable access token"):
        asyncio.run(go())


def test_repr_hides_the_client_secret() -> None:
    server = TokenServer(FakeApi())
    c = client(server, ManualClock())
    assert "sekret" not in repr(c)


def test_a_failing_token_endpoint_is_retried_even_for_a_mutating_call() -> None:
    api = FakeApi([service_json(1)])
    server = TokenServer(api)
    failures = [json_response({"error": "temporarily_unavailable"}, 503)]

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "www.ovh.com" and failures:
            server.token_requests.append(request)
            return failures.pop()
        return await server.handle(request)

    sleep = FakeSleep()

    async def go() -> None:
        transport = RecordingTransport(handle)
        clock = ManualClock(datetime(2027, 1, 15, 8, 0, tzinfo=UTC))
        async with make_client(transport, credentials=CREDS, clock=clock, sleep=sleep) as c:
            await c.put("/services/1", {"terminationPolicy": "empty"})

    asyncio.run(go())
    assert len(server.token_requests) == 2 and sleep.delays == [0.25]
    assert [r.method for r in api.requests if r.url.path == "/1.0/services/1"] == ["PUT"]
