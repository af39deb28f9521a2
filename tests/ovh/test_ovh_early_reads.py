"""Early reads (``OvhClient(early_reads=True)``, what the CLI uses): the first page goes
out while ``GET /auth/time`` is in flight, so a read of one page is one round trip; a
call that changes something still waits for the API's clock; a refused timestamp is
sent again with it; the clock's error is the first call's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from fakes import RecordingTransport
from ovh_fakes import (
    SERVER_TIME,
    FakeApi,
    json_response,
    make_client,
    service_json,
)

from reconciler.clock import ManualClock
from reconciler.core.live import parse_service
from reconciler.errors import ApiError

SERVICES = [service_json(1000 + i) for i in range(3)]


class HeldClock(RecordingTransport):
    """An API whose ``/auth/time`` answers only after other calls have had many turns of
    the event loop: records what arrived while the clock was still unanswered."""

    def __init__(self, api: FakeApi, turns: int = 50) -> None:
        super().__init__(api)
        self.api = api
        self.turns = turns
        self.arrived_before_clock: list[str] = []
        self.clock_answered = False

    async def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/1.0")
        if path == "/auth/time":
            for _ in range(self.turns):
                await asyncio.sleep(0)
            answer = await super().answer(request)
            self.clock_answered = True
            return answer
        if not self.clock_answered:
            self.arrived_before_clock.append(f"{request.method} {path}")
        return await super().answer(request)


def test_the_first_page_does_not_wait_for_the_clock() -> None:
    held = HeldClock(FakeApi(SERVICES))

    async def go() -> tuple[int, datetime]:
        async with make_client(held, early_reads=True) as client:
            read = await client.read_collection("/services", parse_service)
            return len(read), client.api_clock().now()

    count, now = asyncio.run(go())
    assert count == 3
    assert held.arrived_before_clock == ["GET /services"]
    assert now.timestamp() == pytest.approx(SERVER_TIME, abs=1)  # the API's clock, known


def test_without_early_reads_the_clock_comes_first() -> None:
    held = HeldClock(FakeApi(SERVICES))

    async def go() -> None:
        async with make_client(held) as client:
            await client.read_collection("/services", parse_service)

    asyncio.run(go())
    assert held.arrived_before_clock == []


def test_a_change_waits_for_the_clock_and_is_signed_with_it() -> None:
    held = HeldClock(FakeApi(SERVICES))

    async def go() -> None:
        async with make_client(held, early_reads=True) as client:
            await client.put("/services/1000", {"displayName": "x"})

    asyncio.run(go())
    assert held.arrived_before_clock == []
    put = next(r for r in held.api.requests if r.method == "PUT")
    assert int(put.headers["X-Ovh-Timestamp"]) == pytest.approx(SERVER_TIME, abs=1)


def test_a_timestamp_the_api_refuses_is_sent_again_with_its_clock() -> None:
    api = FakeApi(SERVICES)

    def strict(request: httpx.Request) -> httpx.Response:
        if abs(int(request.headers["X-Ovh-Timestamp"]) - SERVER_TIME) > 180:
            return json_response(
                {"errorCode": "QUERY_TIME_OUT", "message": "Query out of time"}, 400
            )
        return api.listing(request)

    api.queue("GET", "/services", strict, strict)
    # This machine's clock is a day behind the API's.
    behind = ManualClock(datetime(2027, 1, 14, 8, 0, 0, tzinfo=UTC))
    held = HeldClock(api)

    async def go() -> int:
        async with make_client(held, early_reads=True, clock=behind) as client:
            return len(await client.read_collection("/services", parse_service))

    assert asyncio.run(go()) == 3
    stamps = [
        int(r.headers["X-Ovh-Timestamp"]) for r in api.requests if "X-Ovh-Timestamp" in r.headers
    ]
    assert stamps[0] == SERVER_TIME - 86400 and stamps[-1] == pytest.approx(SERVER_TIME, abs=1)
    assert api.paths().count("/services") == 2


def test_the_clock_error_is_the_first_calls() -> None:
    api = FakeApi(SERVICES)
    api.queue("GET", "/auth/time", json_response({"time": "now"}))

    async def go() -> None:
        async with make_client(api, early_reads=True) as client:
            await client.read_collection("/services", parse_service)

    with pytest.raises(ApiError, match="GET /auth/time answered dict, not a timestamp"):
        asyncio.run(go())


def test_leaving_without_a_call_leaves_nothing_pending() -> None:
    api = FakeApi(SERVICES)
    api.queue("GET", "/auth/time", json_response({"time": "now"}))

    async def go() -> None:
        async with make_client(api, early_reads=True):
            pass

    asyncio.run(go())  # no "exception never retrieved" (warnings are errors here)
