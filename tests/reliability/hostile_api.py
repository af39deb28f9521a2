"""An OVH API that misbehaves on demand, and one fake time for it and the client.

``FakeTime`` is the only clock of a hostile test: the client's wall clock and monotonic
clock, its sleep, and the hostile server's "waiting" (a trickle advances it per byte, a
silent server by the timeout it was given) all move it. Nothing waits for real time.

``HostileApi`` answers as a small honest OVH API (``/auth/time``, ``/services`` as
Iceberg pages or a list of ids, ``/services/{id}``, mutating calls with 204) until an
attack replaces the answer of a route: ``attack(method, path, answer)``. An answer is a
function of the request; the helpers below build the hostile ones:

- ``endless(prefix, unit)``: a body that never ends (refuses to go past a hard cap, so
  that a client without a byte bound fails the test instead of eating the machine);
- ``trickle(body, every)``: one byte per chunk, ``every`` fake seconds apart;
- ``silence()``: nothing, ever — as httpcore reports it: the fake time moves by the read
  timeout the request carried, then ``ReadTimeout``;
- ``unreachable()``: the connection never opens (``ConnectTimeout`` after its timeout);
- ``json_answer(data, status, headers)``: any JSON, any headers.

It counts what it served: requests, and body bytes of each stream.

``EchoingProxy`` wraps an ASGI app (the sandbox) and answers chosen calls with an error
that echoes what the request carried (its consumer key, its body): an API quoting a
secret back, for the CLI's outputs to be scanned.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fakes import FakeMonotonic, FakeSleep, Handler, RecordingTransport

from reconciler.clock import ManualClock

SERVER_TIME = 1_800_000_000  # 2027-01-15T08:00:00Z
HARD_CAP = 128 * 1024 * 1024  # bytes an endless body serves before the test gives up
Answer = Callable[[httpx.Request], Awaitable[httpx.Response]]


class FakeTime:
    """One fake time: ``wall`` (a ``ManualClock``), ``monotonic`` (a ``FakeMonotonic``),
    and ``sleep`` (a ``FakeSleep`` that moves both)."""

    def __init__(self, start: datetime = datetime(2027, 1, 15, 7, 59, tzinfo=UTC)) -> None:
        self.wall = ManualClock(start)
        self.monotonic = FakeMonotonic()
        self.sleep = FakeSleep(self.wall, self.monotonic)

    @property
    def elapsed(self) -> float:
        return self.monotonic()

    def advance(self, seconds: float) -> None:
        self.monotonic.advance(timedelta(seconds=seconds))
        self.wall.advance(timedelta(seconds=seconds))


def service_json(service_id: int, name: str | None = None, **billing: Any) -> dict[str, Any]:
    name = name or f"s{service_id}.example.com"
    return {
        "serviceId": service_id,
        "parentServiceId": None,
        "route": {"path": "/hosting/web/{serviceName}", "url": f"/hosting/web/{name}"},
        "resource": {"name": name, "displayName": name, "state": "active"},
        "billing": {
            "expirationDate": billing.get("expirationDate", "2027-03-01T00:00:00Z"),
            "lifecycle": {
                "current": {"state": "active", "terminationDate": None, "pendingActions": []},
                "capacities": {"actions": ["terminateAtExpirationDate"]},
            },
            "renew": {"current": {"mode": "automatic", "period": "P12M"}},
        },
    }


class Served(RecordingTransport):
    """The hostile API's transport, and what it served: every request (``sent``,
    ``requests``, ``paths()``), and the body bytes of its streams."""

    def __init__(self, handler: Handler) -> None:
        super().__init__(handler)
        self.stream_bytes: list[int] = []


class _Stream(httpx.AsyncByteStream):
    """A body produced chunk by chunk; counts what it yielded into ``served``."""

    def __init__(self, chunks: AsyncIterator[bytes], served: Served) -> None:
        self._chunks = chunks
        self._served = served
        self._index = len(served.stream_bytes)
        served.stream_bytes.append(0)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            self._served.stream_bytes[self._index] += len(chunk)
            yield chunk


class HostileApi:
    """See the module docstring."""

    def __init__(
        self,
        time: FakeTime,
        services: Iterable[dict[str, Any]] = (),
        *,
        iceberg: bool = True,
        query_ids: bool = True,
        max_requests: int = 2_000,
    ) -> None:
        self.time = time
        self.max_requests = max_requests  # a client that never stops fails the test
        self.services = list(services)
        self.iceberg = iceberg
        self.query_ids = query_ids
        self.served = Served(self.handle)
        self._attacks: list[tuple[str, re.Pattern[str], Answer]] = []

    def transport(self) -> Served:
        return self.served

    def attack(self, method: str, path: str, answer: Answer) -> None:
        """Answer ``method path`` (a regular expression over the path under ``/1.0``)
        with ``answer`` from now on."""
        self._attacks.append((method, re.compile(path), answer))

    def query_id(self) -> str:
        return f"EU.ext-hostile.{len(self.served.sent)}"

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """The answer to a request ``served`` has recorded."""
        if len(self.served.sent) > self.max_requests:
            raise RuntimeError(f"more than {self.max_requests} requests: the client never stops")
        path = request.url.path.removeprefix("/1.0")
        for method, pattern, answer in self._attacks:
            if request.method == method and pattern.fullmatch(path):
                return await answer(request)
        return self._honest(request, path)

    def headers(self, **more: str) -> dict[str, str]:
        found = {"Content-Type": "application/json"}
        if self.query_ids:
            found["X-Ovh-Queryid"] = self.query_id()
        return {**found, **more}

    def _honest(self, request: httpx.Request, path: str) -> httpx.Response:
        if path == "/auth/time":
            return self.json(SERVER_TIME)
        if request.method == "GET" and path == "/services":
            if not self.iceberg or "X-Pagination-Mode" not in request.headers:
                return self.json([s["serviceId"] for s in self.services])
            size = int(request.headers["X-Pagination-Size"])
            number = int(request.headers["X-Pagination-Number"])
            page = self.services[(number - 1) * size : number * size]
            return self.json(page, headers={"X-Pagination-Elements": str(len(self.services))})
        found = re.fullmatch(r"/services/(\d+)", path)
        if request.method == "GET" and found:
            for service in self.services:
                if service["serviceId"] == int(found[1]):
                    return self.json(service)
            return self.json({"message": "The requested object does not exist"}, 404)
        if request.method in ("PUT", "POST", "DELETE"):
            return httpx.Response(204, headers=self.headers())
        return self.json({"message": f"Got an invalid (or empty) URL: {path}"}, 404)

    def json(
        self, data: Any, status: int = 200, *, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return httpx.Response(
            status, content=json.dumps(data).encode(), headers=self.headers(**(headers or {}))
        )

    def stream(
        self, chunks: AsyncIterator[bytes], status: int = 200, **headers: str
    ) -> httpx.Response:
        return httpx.Response(
            status, headers=self.headers(**headers), stream=_Stream(chunks, self.served)
        )

    # -- hostile answers -----------------------------------------------------------------

    def json_answer(self, data: Any, status: int = 200, **headers: str) -> Answer:
        async def answer(request: httpx.Request) -> httpx.Response:
            return self.json(data, status, headers=headers)

        return answer

    def raw_answer(self, body: bytes, status: int = 200, **headers: str) -> Answer:
        async def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(status, content=body, headers=self.headers(**headers))

        return answer

    def endless(self, prefix: bytes = b"[", unit: bytes = b"1,", chunk: int = 65536) -> Answer:
        piece = unit * max(1, chunk // len(unit))

        async def chunks() -> AsyncIterator[bytes]:
            yield prefix
            sent = len(prefix)
            while True:
                if sent > HARD_CAP:
                    raise RuntimeError("the client read an endless body past the hard cap")
                sent += len(piece)
                yield piece

        async def answer(request: httpx.Request) -> httpx.Response:
            return self.stream(chunks())

        return answer

    def trickle(self, body: bytes, every: float = 20.0, limit: int = 10_000) -> Answer:
        """``body`` one byte at a time, ``every`` fake seconds apart (at most ``limit``
        bytes: a client that waits forever fails the test instead of hanging it)."""

        async def chunks() -> AsyncIterator[bytes]:
            for index in range(min(len(body), limit)):
                self.time.advance(every)
                yield body[index : index + 1]

        async def answer(request: httpx.Request) -> httpx.Response:
            return self.stream(chunks())

        return answer

    def silence(self) -> Answer:
        async def answer(request: httpx.Request) -> httpx.Response:
            self.time.advance(_timeout(request, "read"))
            raise httpx.ReadTimeout("timed out", request=request)

        return answer

    def unreachable(self) -> Answer:
        async def answer(request: httpx.Request) -> httpx.Response:
            self.time.advance(_timeout(request, "connect"))
            raise httpx.ConnectTimeout("timed out", request=request)

        return answer


def _timeout(request: httpx.Request, which: str) -> float:
    """The timeout of ``which`` kind the client gave this request (httpcore's view)."""
    timeouts = request.extensions.get("timeout", {})
    value = timeouts.get(which)
    if value is None:  # no timeout: a real client would wait forever; the test would not
        raise RuntimeError(f"the client sent a request without a {which} timeout")
    return float(value)


def id_listing(count: int) -> bytes:
    """``[1,2,3,...]``: a listing of ``count`` ids as one JSON body."""
    return ("[" + ",".join(map(str, range(1, count + 1))) + "]").encode()


# -- an API echoing secrets, around the sandbox ----------------------------------------------

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class EchoingProxy:
    """An ASGI app in front of ``app``: a request whose method and path match ``method``
    and ``path`` (a regular expression under ``/1.0``) is answered ``status`` with a
    message quoting its consumer key header and its body, as a broken proxy or
    deployment might; everything else goes to ``app``."""

    def __init__(self, app: Any, *, method: str, path: str, status: int = 400) -> None:
        self.app = app
        self.method = method
        self.path = re.compile(path)
        self.status = status
        self.echoed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if (
            scope["type"] != "http"
            or scope.get("method") != self.method
            or not self.path.fullmatch(path.removeprefix("/1.0"))
        ):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        consumer = headers.get("x-ovh-consumer", "")
        words = f"Invalid request from {consumer}: {body.decode('utf-8', 'replace')}"
        self.echoed += 1
        payload = json.dumps({"message": words, "errorCode": "INVALID_BODY"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-ovh-queryid", b"EU.ext-echo.1"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
