"""Signing: byte-for-byte the official python client's.

The official client sends its calls to a recording HTTP server on loopback (it cannot be
given a URL: an entry is registered in ``ovh.client.ENDPOINTS``); ours signs the same
calls, with the same timestamp, through ``httpx.MockTransport``. Every ``X-Ovh-*``
header, the URL and the body must be identical.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import ovh
import ovh.client
import pytest
from fakes import FakeSleep
from ovh_fakes import FakeApi, json_response, make_client, service_json

from reconciler.endpoints import resolve_endpoint
from reconciler.ovh.auth import signature
from reconciler.ovh.credentials import SignatureCredentials

AK, AS, CK = (
    "7kbG7Bk7S9Nt7ZSV",
    "EXEgWIz07P0HYwtQDs7cNIqCiQaWSuHF",
    "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1",
)


class Recorded:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, Recorded]]:
    recorded = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == "/1.0/auth/time":
                payload = b"1800000000"
            else:
                recorded.calls.append(
                    {"method": self.command, "path": self.path,
                     "headers": {k.lower(): v for k, v in self.headers.items()},
                     "body": body}
                )  # fmt: skip
                payload = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/1.0", recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


CALLS: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
    ("GET", "/services", {"resourceName": "www.example.com", "routes": "/hosting/web"}, None),
    ("GET", "/me/notification/email/history", {"flag": True, "other": None, "n": 3}, None),
    ("PUT", "/services/120000001", None, {"terminationPolicy": "terminateAtExpirationDate"}),
    (
        "PUT",
        "/services/120000001",
        None,
        {"renew": {"mode": "automatic", "period": "P12M"}, "displayName": "Boutique é ü 😀"},
    ),
    (
        "POST",
        "/services/120000001/terminate/confirm",
        None,
        {"token": "a+b/c=d", "reason": "OTHER"},
    ),
    ("DELETE", "/domain/zone/example.com/record/42", None, None),
    ("POST", "/hosting/web/www.example.com/terminate", None, None),
]


@pytest.mark.parametrize("call", CALLS, ids=lambda c: f"{c[0]} {c[1]}")
def test_signature_equals_the_official_clients(
    recorder: tuple[str, Recorded],
    monkeypatch: pytest.MonkeyPatch,
    call: tuple[str, str, dict[str, Any] | None, dict[str, Any] | None],
) -> None:
    url, recorded = recorder
    method, path, params, body = call
    monkeypatch.setitem(ovh.client.ENDPOINTS, "recorder", url)
    official = ovh.Client(
        endpoint="recorder", application_key=AK, application_secret=AS, consumer_key=CK
    )
    getattr(official, method.lower())(path, **(params or body or {}))
    theirs = recorded.calls[-1]
    timestamp = int(theirs["headers"]["x-ovh-timestamp"])

    api = FakeApi(server_time=timestamp)
    api.queue(method, path, json_response({}))
    credentials = SignatureCredentials(application_key=AK, application_secret=AS, consumer_key=CK)

    async def ours() -> None:
        async with make_client(api, endpoint=resolve_endpoint(url), credentials=credentials) as c:
            await c.request(method, path, params=params, body=body)

    asyncio.run(ours())
    mine = api.requests[-1]

    assert mine.url.raw_path.decode() == theirs["path"]
    assert mine.content == theirs["body"]
    for header in ("X-Ovh-Application", "X-Ovh-Consumer", "X-Ovh-Timestamp", "X-Ovh-Signature"):
        assert mine.headers[header] == theirs["headers"][header.lower()], header
    assert ("Content-Type" in mine.headers) == ("content-type" in theirs["headers"])
    if body is not None:
        assert mine.headers["Content-Type"] == "application/json"
    # And the signature is what the spec of the algorithm says, over what was sent.
    expected = (
        "$1$"
        + hashlib.sha1(
            f"{AS}+{CK}+{method}+{mine.url}+{mine.content.decode()}+{timestamp}".encode()
        ).hexdigest()
    )
    assert mine.headers["X-Ovh-Signature"] == expected


def test_signature_function_matches_the_documented_formula() -> None:
    got = signature("as", "ck", "get", "https://eu.api.ovh.com/1.0/auth/time?x=1", "", "1")
    raw = "as+ck+GET+https://eu.api.ovh.com/1.0/auth/time?x=1++1"
    assert got == "$1$" + hashlib.sha1(raw.encode()).hexdigest()


def test_body_is_compact_json_and_content_type_only_with_a_body() -> None:
    api = FakeApi([service_json(1)])

    async def go() -> None:
        async with make_client(api) as client:
            await client.put("/services/1", {"renew": {"mode": "manual", "period": None}})
            await client.get("/services/1")
            await client.post("/services/1/terminate")

    asyncio.run(go())
    put, get, post = api.requests[1:]
    assert put.content == b'{"renew":{"mode":"manual","period":null}}'
    assert put.headers["Content-Type"] == "application/json"
    assert get.content == b"" and "Content-Type" not in get.headers
    assert post.content == b"" and "Content-Type" not in post.headers


def test_time_is_fetched_once_unsigned_and_timestamps_follow_the_api_clock() -> None:
    from datetime import timedelta

    from reconciler.clock import ManualClock

    local = ManualClock(datetime(2027, 1, 15, 7, 0, 0, tzinfo=UTC))  # an hour behind
    api = FakeApi(server_time=1_800_000_000)  # 2027-01-15T08:00:00Z

    async def go() -> None:
        async with make_client(api, clock=local, sleep=FakeSleep()) as client:
            assert client.api_clock().now() == datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC)
            await client.get("/services")
            local.advance(timedelta(seconds=90))
            assert client.api_clock().now() == datetime(2027, 1, 15, 8, 1, 30, tzinfo=UTC)
            await client.get("/services")

    asyncio.run(go())
    time_calls = [r for r in api.requests if r.url.path == "/1.0/auth/time"]
    assert len(time_calls) == 1
    assert "X-Ovh-Signature" not in time_calls[0].headers
    assert time_calls[0].headers["X-Ovh-Application"] == "test-ak"
    signed = [r for r in api.requests if r.url.path == "/1.0/services"]
    assert [r.headers["X-Ovh-Timestamp"] for r in signed] == ["1800000000", "1800000090"]


def test_api_clock_before_entering_is_a_programming_error() -> None:
    client = make_client(FakeApi())
    with pytest.raises(RuntimeError):
        client.api_clock()


def test_a_non_integer_time_is_a_clear_error() -> None:
    from reconciler.errors import ApiError

    api = FakeApi()
    api.queue("GET", "/auth/time", json_response({"time": "now"}))

    async def go() -> None:
        async with make_client(api):
            pass

    with pytest.raises(ApiError, match="GET /auth/time answered dict, not a timestamp"):
        asyncio.run(go())


def test_retries_are_signed_again_with_a_fresh_timestamp() -> None:
    from reconciler.clock import ManualClock
    from reconciler.ovh.client import RetryPolicy

    clock = ManualClock(datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC))
    api = FakeApi()
    api.queue("GET", "/services", json_response({"message": "boom"}, 503))
    sleep = FakeSleep(clock)
    policy = RetryPolicy(base_delay=2.0)

    async def go() -> None:
        async with make_client(api, clock=clock, sleep=sleep, retry=policy) as client:
            await client.get("/services")

    asyncio.run(go())
    first, second = [r for r in api.requests if r.url.path == "/1.0/services"]
    assert sleep.delays == [2.0]
    assert int(second.headers["X-Ovh-Timestamp"]) == int(first.headers["X-Ovh-Timestamp"]) + 2
    for request in (first, second):
        raw = (
            f"test-as-secret+test-ck-secret+GET+{request.url}++{request.headers['X-Ovh-Timestamp']}"
        )
        assert request.headers["X-Ovh-Signature"] == "$1$" + hashlib.sha1(raw.encode()).hexdigest()


def test_url_keeps_the_query_string_as_signed() -> None:
    api = FakeApi()

    async def go() -> None:
        async with make_client(api) as client:
            await client.get("/services", params={"routes": "/hosting/web,/domain", "x": "a b"})

    asyncio.run(go())
    request = api.requests[-1]
    assert str(request.url).endswith("/services?routes=%2Fhosting%2Fweb%2C%2Fdomain&x=a+b")


def test_params_join_a_query_string_already_in_the_path() -> None:
    api = FakeApi()
    api.queue("GET", "/services", json_response([]))

    async def go() -> None:
        async with make_client(api) as client:
            await client.get("/services?orderBy=serviceId", params={"sort": "asc", "x": False})

    asyncio.run(go())
    assert str(api.requests[-1].url).endswith("/services?orderBy=serviceId&sort=asc&x=false")
