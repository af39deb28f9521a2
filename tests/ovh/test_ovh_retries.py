"""The single retry loop: what is retried, how long it waits (an injected sleep: no test
sleeps), that it gives up, and that a mutating call is never sent twice blindly."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fakes import FakeSleep
from ovh_fakes import FakeApi, json_response, make_client

from reconciler import errors
from reconciler.ovh.client import RetryPolicy

BUSY = {"message": "Service Unavailable"}


def run(
    api: FakeApi,
    method: str,
    path: str,
    *,
    sleep: FakeSleep | None = None,
    retry: RetryPolicy | None = None,
    random: Any = lambda: 1.0,
) -> Any:
    async def go() -> Any:
        async with make_client(api, sleep=sleep, retry=retry, random=random) as client:
            body = {"terminationPolicy": "empty"} if method in ("PUT", "POST") else None
            return await client.request(method, path, body=body)

    return asyncio.run(go())


def sent(api: FakeApi, method: str, path: str) -> int:
    return sum(1 for p in api.paths(method) if p == path)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_reads_are_retried_on_429_and_5xx(status: int) -> None:
    api = FakeApi()
    api.queue("GET", "/me", json_response(BUSY, status), json_response(BUSY, status))
    api.queue("GET", "/me", json_response({"nichandle": "xx12345-ovh"}))
    sleep = FakeSleep()
    assert run(api, "GET", "/me", sleep=sleep) == {"nichandle": "xx12345-ovh"}
    assert sent(api, "GET", "/me") == 3
    assert sleep.delays == [0.25, 0.5]  # full jitter with random() = 1.0: the ceilings


# A connection lost after the request may have left: what is retried depends on the call.
DROPS = [
    httpx.ReadTimeout("read timed out"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
]


def exception_name(exc: Exception) -> str:
    return type(exc).__name__


@pytest.mark.parametrize(
    "exc",
    [*DROPS, httpx.ReadError("Connection reset by peer"), httpx.ConnectTimeout("timed out")],
    ids=exception_name,
)
def test_reads_are_retried_on_timeouts_and_drops(exc: Exception) -> None:
    api = FakeApi()
    api.queue("GET", "/me", exc, json_response({"ok": True}))
    assert run(api, "GET", "/me") == {"ok": True}
    assert sent(api, "GET", "/me") == 2


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=4.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]
    assert [policy.backoff(n, lambda: 0.25) for n in range(1, 4)] == [0.125, 0.25, 0.5]
    assert policy.backoff(3, lambda: 0.0) == 0.0


def test_attempts_are_bounded_and_the_error_says_so() -> None:
    api = FakeApi()
    api.queue("GET", "/me", *[json_response(BUSY, 503, headers={"X-Ovh-Queryid": "Q1"})] * 10)
    sleep = FakeSleep()
    with pytest.raises(errors.ServerError) as caught:
        run(api, "GET", "/me", sleep=sleep, retry=RetryPolicy(max_attempts=4))
    assert sent(api, "GET", "/me") == 4
    assert len(sleep.delays) == 3
    assert str(caught.value).endswith("(query id Q1) (gave up after 4 attempts)")


@pytest.mark.parametrize(
    ("status", "retry_after", "base_delay", "delays"),
    [
        (429, "7", 0.25, [7.0]),
        # The fake client's clock says 2027-01-15T07:59:00Z.
        (503, "Fri, 15 Jan 2027 07:59:12 GMT", 0.25, [12.0]),
        (503, "0", 3.0, [3.0]),  # a short Retry-After does not shorten the backoff
    ],
    ids=["seconds", "http-date", "short"],
)
def test_retry_after_is_honoured(
    status: int, retry_after: str, base_delay: float, delays: list[float]
) -> None:
    api = FakeApi()
    api.queue("GET", "/me", json_response(BUSY, status, headers={"Retry-After": retry_after}))
    api.queue("GET", "/me", json_response({"ok": 1}))
    sleep = FakeSleep()
    run(api, "GET", "/me", sleep=sleep, retry=RetryPolicy(base_delay=base_delay))
    assert sleep.delays == delays


def test_a_very_long_retry_after_fails_at_once() -> None:
    api = FakeApi()
    api.queue("GET", "/me", json_response(BUSY, 429, headers={"Retry-After": "3600"}))
    sleep = FakeSleep()
    with pytest.raises(errors.RateLimited) as caught:
        run(api, "GET", "/me", sleep=sleep)
    assert sleep.delays == []
    assert caught.value.retry_after == 3600.0
    assert caught.value.hint and "--concurrency" in caught.value.hint


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
@pytest.mark.parametrize("status", [500, 502, 503])
def test_mutating_calls_are_not_retried_after_a_5xx(method: str, status: int) -> None:
    api = FakeApi()
    api.queue(method, "/services/1", json_response(BUSY, status), httpx.Response(204))
    sleep = FakeSleep()
    with pytest.raises(errors.ServerError) as caught:
        run(api, method, "/services/1", sleep=sleep)
    assert sent(api, method, "/services/1") == 1
    assert sleep.delays == []
    assert caught.value.retryable  # the caller re-reads the service, then decides


@pytest.mark.parametrize("exc", [*DROPS, httpx.WriteError("Broken pipe")], ids=exception_name)
def test_mutating_calls_are_not_retried_after_a_drop(exc: Exception) -> None:
    api = FakeApi()
    api.queue("PUT", "/services/1", exc, httpx.Response(204))
    with pytest.raises(errors.TransportError) as caught:
        run(api, "PUT", "/services/1")
    assert sent(api, "PUT", "/services/1") == 1
    assert "may or may not have taken effect" in str(caught.value)
    assert caught.value.hint and "plan" in caught.value.hint


def test_mutating_calls_are_retried_after_a_429() -> None:
    api = FakeApi()
    api.queue("PUT", "/services/1", json_response(BUSY, 429, headers={"Retry-After": "2"}))
    api.queue("PUT", "/services/1", httpx.Response(204))
    sleep = FakeSleep()
    assert run(api, "PUT", "/services/1", sleep=sleep) is None
    assert sent(api, "PUT", "/services/1") == 2
    assert sleep.delays == [2.0]


def test_mutating_calls_are_retried_when_the_connection_never_opened() -> None:
    api = FakeApi()
    api.queue("POST", "/services/1/terminate", httpx.ConnectError("refused"), httpx.Response(204))
    assert run(api, "POST", "/services/1/terminate") is None
    assert sent(api, "POST", "/services/1/terminate") == 2


def test_connection_failures_are_retried_once_then_reported_clearly() -> None:
    api = FakeApi()
    api.queue("GET", "/auth/time", *[httpx.ConnectError("[Errno 111] Connection refused")] * 5)
    sleep = FakeSleep()
    with pytest.raises(errors.TransportError) as caught:
        run(api, "GET", "/me", sleep=sleep)
    assert sent(api, "GET", "/auth/time") == 2
    assert len(sleep.delays) == 1
    message = str(caught.value)
    assert message.startswith("cannot reach the OVH API at eu.api.ovh.com (GET /auth/time)")
    assert "Connection refused" in message and "gave up after 2 attempts" in message
    assert caught.value.hint and "--endpoint" in caught.value.hint


@pytest.mark.parametrize("status", [400, 403, 404, 409, 460])
def test_client_errors_fail_at_once(status: int) -> None:
    api = FakeApi()
    api.queue("GET", "/me", json_response({"message": "no"}, status), json_response({}))
    sleep = FakeSleep()
    with pytest.raises(errors.HttpError):
        run(api, "GET", "/me", sleep=sleep)
    assert sent(api, "GET", "/me") == 1 and sleep.delays == []


def test_an_unsupported_scheme_is_not_retried() -> None:
    api = FakeApi()
    api.queue("GET", "/me", httpx.UnsupportedProtocol("Request URL has an unsupported protocol"))
    with pytest.raises(errors.TransportError):
        run(api, "GET", "/me")
    assert sent(api, "GET", "/me") == 1


def test_policy_refuses_zero_attempts() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
