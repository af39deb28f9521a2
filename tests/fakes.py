"""The test doubles every area shares: one fake sleep, one fake monotonic clock, one
family of recording transports. Nothing here waits for real time or reaches a host but
loopback (the rules of the house: tests use an injected transport and clock).

``FakeSleep``
    The ``sleep`` that ``OvhClient`` and apply take: records each delay asked for, moves
    the clocks it was given (the client's ``ManualClock``, the sandbox's
    ``ManualWallClock``, a ``FakeMonotonic``) by it, yields once to the event loop as a
    real sleep does, and never waits. ``took`` makes every sleep last that long instead
    (a wake-up that came late); more than ``limit`` sleeps fail the test (a loop that
    never ends). ``blocking`` is the same sleep for a caller without an event loop.
``FakeMonotonic``
    The client's ``monotonic``: seconds that move only when advanced.
``RecordingTransport``
    Stands in front of an inner transport (the in-process sandbox, a real one) or a
    handler (a function of the request, as ``httpx.MockTransport`` takes) and records
    every request (``sent``: what it asked and with which keys). A real inner transport
    is refused every host but loopback: no test touches the internet. Subclasses change
    the answer (``answer``) to inject faults or an API's own behaviour.
``record_real_transports``
    Makes every ``httpx.AsyncHTTPTransport`` created from now on (the client's own, when
    no transport is injected) a loopback-only ``RecordingTransport``.

Imported by name (``from fakes import FakeSleep``), like the other shared helpers of
``tests/``: pytest puts this folder, ``tests/conftest.py``'s, on ``sys.path``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import httpx
import pytest

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# The real class, kept before any test replaces it (``record_real_transports``).
_REAL_TRANSPORT = httpx.AsyncHTTPTransport

# What ``httpx.MockTransport`` takes: a function of the request, plain or async.
Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


class Advancing(Protocol):
    """A fake clock that time moves: ``ManualClock``, ``ManualWallClock``, ``FakeMonotonic``."""

    def advance(self, delta: timedelta) -> None: ...


class FakeMonotonic:
    """A monotonic clock in seconds that moves only when advanced (``OvhClient(monotonic=)``)."""

    def __init__(self, start: float = 0.0) -> None:
        self.elapsed = start

    def __call__(self) -> float:
        return self.elapsed

    def advance(self, delta: timedelta) -> None:
        self.elapsed += delta.total_seconds()


class FakeSleep:
    """See the module docstring."""

    def __init__(self, *clocks: Advancing, took: float | None = None, limit: int = 100_000) -> None:
        self.clocks = clocks
        self.took = took
        self.limit = limit
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.blocking(seconds)
        await asyncio.sleep(0)

    def blocking(self, seconds: float) -> None:
        """The same sleep for a caller outside the event loop (``time.sleep``'s place,
        as the journal's lock takes it)."""
        assert len(self.delays) < self.limit, "a loop that never ends: it sleeps for ever"
        self.delays.append(seconds)
        elapsed = timedelta(seconds=seconds if self.took is None else self.took)
        for clock in self.clocks:
            clock.advance(elapsed)


@dataclass(frozen=True)
class Sent:
    """One request as it left the client: where it went, and with which of our keys."""

    request: httpx.Request

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def url(self) -> str:
        return str(self.request.url)

    @property
    def host(self) -> str:
        return self.request.url.host

    @property
    def path(self) -> str:
        """The path under ``/1.0`` (the API's own paths)."""
        return self.request.url.path.removeprefix("/1.0")

    @property
    def call(self) -> tuple[str, str]:
        return (self.method, self.path)

    def _header(self, name: str) -> str | None:
        found: str | None = self.request.headers.get(name)
        return found

    @property
    def application_key(self) -> str | None:
        return self._header("X-Ovh-Application")

    @property
    def consumer_key(self) -> str | None:
        return self._header("X-Ovh-Consumer")

    @property
    def authorization(self) -> str | None:
        return self._header("Authorization")


class RecordingTransport(httpx.AsyncBaseTransport):
    """See the module docstring. ``sent`` may be a list shared by several transports;
    ``yields`` turns of the event loop before each answer let concurrent requests
    interleave, as they do over a socket (an in-process app never suspends). ``in_flight``
    and ``peak`` count the requests being answered at once."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | Handler,
        *,
        sent: list[Sent] | None = None,
        yields: int = 0,
    ) -> None:
        self.inner: httpx.AsyncBaseTransport = (
            inner if isinstance(inner, httpx.AsyncBaseTransport) else httpx.MockTransport(inner)
        )
        self.sent: list[Sent] = [] if sent is None else sent
        self.yields = yields
        self.in_flight = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            for _ in range(self.yields):
                await asyncio.sleep(0)
            self.sent.append(Sent(request))
            if isinstance(self.inner, _REAL_TRANSPORT) and request.url.host not in LOOPBACK:
                raise httpx.ConnectError("the tests reach no host but loopback", request=request)
            return await self.answer(request)
        finally:
            self.in_flight -= 1

    async def answer(self, request: httpx.Request) -> httpx.Response:
        """The answer to a recorded request: the inner transport's (subclasses change it)."""
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    @property
    def requests(self) -> list[httpx.Request]:
        return [sent.request for sent in self.sent]

    def calls(self) -> list[tuple[str, str]]:
        """Every request as (method, path under /1.0), in order."""
        return [sent.call for sent in self.sent]

    def paths(self, method: str | None = None) -> list[str]:
        return [sent.path for sent in self.sent if method is None or sent.method == method]

    def count(self, method: str, path: str) -> int:
        return self.calls().count((method, path))


def record_real_transports(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every ``httpx.AsyncHTTPTransport`` made from now on records into the list returned
    and refuses hosts but loopback (until ``monkeypatch`` undoes it)."""
    sent: list[Sent] = []

    def made(*args: Any, **kwargs: Any) -> RecordingTransport:
        return RecordingTransport(_REAL_TRANSPORT(*args, **kwargs), sent=sent)

    monkeypatch.setattr(httpx, "AsyncHTTPTransport", made)
    return sent
