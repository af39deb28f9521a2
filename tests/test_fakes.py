"""The shared test doubles keep their contract (``tests/fakes.py``): the sleep records and
moves the clocks without waiting; the transports record what was sent, with the keys,
and a real transport under them reaches no host but loopback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from fakes import FakeMonotonic, FakeSleep, RecordingTransport, record_real_transports

from reconciler.clock import ManualClock


def test_the_sleep_records_each_delay_and_moves_every_clock_by_it() -> None:
    wall, monotonic = ManualClock(datetime(2027, 1, 15, tzinfo=UTC)), FakeMonotonic()
    sleep = FakeSleep(wall, monotonic)
    asyncio.run(sleep(2.5))
    asyncio.run(sleep(30))
    assert sleep.delays == [2.5, 30]
    assert wall.now() == datetime(2027, 1, 15, 0, 0, 32, 500000, tzinfo=UTC)
    assert monotonic() == 32.5


def test_a_sleep_that_took_longer_moves_the_clocks_by_what_it_took() -> None:
    monotonic = FakeMonotonic()
    sleep = FakeSleep(monotonic, took=50.0)
    asyncio.run(sleep(0.25))
    assert sleep.delays == [0.25] and monotonic() == 50.0


def test_the_blocking_sleep_is_the_same_sleep_outside_the_event_loop() -> None:
    monotonic = FakeMonotonic()
    sleep = FakeSleep(monotonic)
    sleep.blocking(0.5)
    asyncio.run(sleep(1.5))
    assert sleep.delays == [0.5, 1.5] and monotonic() == 2.0


def test_a_loop_that_never_stops_sleeping_fails_the_test() -> None:
    sleep = FakeSleep(limit=3)
    for _ in range(3):
        asyncio.run(sleep(1))
    with pytest.raises(AssertionError, match="never ends"):
        asyncio.run(sleep(1))


def test_the_transport_records_the_calls_and_the_keys_they_carried() -> None:
    transport = RecordingTransport(lambda request: httpx.Response(204))

    async def send() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get("http://sandbox.invalid/1.0/auth/time")
            headers = {"X-Ovh-Application": "ak", "X-Ovh-Consumer": "ck"}
            await client.put("http://sandbox.invalid/1.0/services/1", headers=headers)

    asyncio.run(send())
    assert transport.calls() == [("GET", "/auth/time"), ("PUT", "/services/1")]
    assert transport.paths("PUT") == ["/services/1"] and transport.count("PUT", "/services/1")
    first, second = transport.sent
    assert (first.application_key, first.consumer_key) == (None, None)
    assert (second.application_key, second.consumer_key, second.host) == (
        "ak",
        "ck",
        "sandbox.invalid",
    )
    assert transport.peak == 1 and transport.in_flight == 0


def test_a_real_transport_reaches_no_host_but_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = record_real_transports(monkeypatch)

    async def send() -> None:
        async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport()) as client:
            await client.get("https://eu.api.ovh.com/1.0/auth/time")

    with pytest.raises(httpx.ConnectError, match="no host but loopback"):
        asyncio.run(send())
    assert [s.url for s in sent] == ["https://eu.api.ovh.com/1.0/auth/time"]  # recorded first


def test_wrapped_transports_answer_in_turn() -> None:
    """A subclass changes the answer; the inner transport answers the rest."""

    class Refusing(RecordingTransport):
        async def answer(self, request: httpx.Request) -> httpx.Response:
            if request.method == "DELETE":
                return httpx.Response(403)
            return await super().answer(request)

    inner = RecordingTransport(lambda request: httpx.Response(200, json=[]))
    outer = Refusing(inner, yields=2)

    async def send() -> list[int]:
        async with httpx.AsyncClient(transport=outer) as client:
            got = await client.get("http://sandbox.invalid/1.0/services")
            refused = await client.delete("http://sandbox.invalid/1.0/services/1")
            return [got.status_code, refused.status_code]

    assert asyncio.run(send()) == [200, 403]
    assert outer.paths() == ["/services", "/services/1"] and inner.paths() == ["/services"]
