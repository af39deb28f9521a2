"""Deadlines: their settings, and how each attempt is bounded by the earliest of them.

The hostile endpoints that these deadlines stop are in
``tests/reliability/test_reliability_hostile_api.py``; here, the settings and the
request each attempt carries to httpx."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fakes import FakeMonotonic, FakeSleep
from ovh_fakes import FakeApi, json_response, make_client

from reconciler.endpoints import resolve_endpoint
from reconciler.errors import ConfigError, DeadlineExceeded, TransportError
from reconciler.ovh.client import OvhClient
from reconciler.ovh.deadlines import Deadline, Timeouts, earliest


def test_the_defaults_fail_a_silent_endpoint_in_about_a_minute() -> None:
    timeouts = Timeouts()
    assert (timeouts.request, timeouts.call, timeouts.read) == (30.0, 60.0, 600.0)
    assert timeouts.connect == 10.0


def test_timeouts_come_from_the_environment() -> None:
    found = Timeouts.from_environment(
        {"RECONCILER_REQUEST_TIMEOUT": "5s", "RECONCILER_CALL_TIMEOUT": "2min",
         "RECONCILER_READ_TIMEOUT": "PT1H"}
    )  # fmt: skip
    assert (found.request, found.call, found.read) == (5.0, 120.0, 3600.0)
    assert Timeouts.from_environment({"RECONCILER_READ_TIMEOUT": " "}) == Timeouts()


@pytest.mark.parametrize("value", ["soon", "30", "1mo", "0s", "-5s"])
def test_a_timeout_that_is_no_duration_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Timeouts.from_environment({"RECONCILER_REQUEST_TIMEOUT": value})
    assert "RECONCILER_REQUEST_TIMEOUT" in str(caught.value)
    assert caught.value.hint


def test_the_client_from_the_environment_takes_them(tmp_path: object) -> None:
    client = OvhClient.from_environment(
        resolve_endpoint("ovh-eu"),
        environ={"OVH_APPLICATION_KEY": "ak", "OVH_APPLICATION_SECRET": "as-secret",
                 "OVH_CONSUMER_KEY": "ck-secret", "RECONCILER_CALL_TIMEOUT": "90s"},
        search_paths=(),
    )  # fmt: skip
    assert client.timeouts.call == 90.0 and client.timeouts.request == 30.0


def test_the_earliest_deadline_binds() -> None:
    call = Deadline.after(0.0, 60.0, "the call and its retries", "RECONCILER_CALL_TIMEOUT")
    one = Deadline.after(45.0, 30.0, "one answer", "RECONCILER_REQUEST_TIMEOUT")
    assert earliest(one, None, call) is call and call.left(45.0) == 15.0
    assert call.describe() == "60 s for the call and its retries (RECONCILER_CALL_TIMEOUT)"
    with pytest.raises(ValueError):
        earliest(None)


def test_each_attempt_tells_httpx_no_more_than_the_time_left() -> None:
    monotonic = FakeMonotonic()
    api = FakeApi()
    api.queue("GET", "/me", json_response({"message": "busy"}, 503), json_response({"ok": 1}))
    sleep = FakeSleep(monotonic, took=50.0)  # the wait took long: little is left of the 60 s

    async def go() -> None:
        client = make_client(api, sleep=sleep, monotonic=monotonic)
        async with client:
            await client.get("/me")

    asyncio.run(go())
    first, second = [r.extensions["timeout"] for r in api.requests if r.url.path == "/1.0/me"]
    assert first == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}
    assert second == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}


def test_no_attempt_starts_once_the_call_deadline_has_passed() -> None:
    monotonic = FakeMonotonic()
    api = FakeApi()
    api.queue("GET", "/me", *[json_response({"message": "busy"}, 503)] * 5)
    sleep = FakeSleep(monotonic, took=70.0)

    async def go() -> None:
        client = make_client(api, sleep=sleep, monotonic=monotonic)
        async with client:
            await client.get("/me")

    with pytest.raises(DeadlineExceeded) as caught:
        asyncio.run(go())
    assert "within 60 s for the call and its retries (RECONCILER_CALL_TIMEOUT)" in str(caught.value)
    assert [r.url.path for r in api.requests].count("/1.0/me") == 1


def test_a_timeout_past_the_deadline_says_which_deadline() -> None:
    monotonic = FakeMonotonic()

    def stalled(request: httpx.Request) -> httpx.Response:
        monotonic.advance(timedelta(seconds=request.extensions["timeout"]["read"]))
        raise httpx.ReadTimeout("timed out", request=request)

    api = FakeApi()
    api.queue("GET", "/me", stalled, json_response({"ok": 1}))

    async def go() -> object:
        client = make_client(api, monotonic=monotonic)
        async with client:
            return await client.get("/me")

    assert asyncio.run(go()) == {"ok": 1}  # the first attempt timed out; the call had time

    api = FakeApi()
    api.queue("PUT", "/services/1", stalled)

    async def mutate() -> object:
        client = make_client(api, monotonic=monotonic)
        async with client:
            return await client.put("/services/1", {"terminationPolicy": "empty"})

    with pytest.raises(TransportError) as caught:
        asyncio.run(mutate())
    message = str(caught.value)
    assert "no whole answer within 30 s for one answer (RECONCILER_REQUEST_TIMEOUT)" in message
    assert "may or may not have taken effect" in message
