"""An API that misbehaves, lies or stalls never hangs, exhausts or leaks.

Each attack of the hostile-API campaign, on a fake API (``hostile_api``: an
``httpx.MockTransport`` sharing one fake time with the client, or the sandbox behind an
echoing proxy on 127.0.0.1), and what stops it:

1. bounds: an announced hundred billion services, a listing of 200,000 on pages of 4,
   a million and one ids, an endless answer, a name of 100,000 characters — one
   ``LimitExceeded`` naming the endpoint and the bound, nothing sent that changes;
2. deadlines: a trickle of a byte every 20 s, an endpoint that never answers, one that
   refuses connections, a read of many slow ids — each ends within its deadline, on the
   fake clock (and one real socket, for the real-time backstop);
3. secrets: error answers that echo the deletion token or the consumer key — no secret
   in stdout, stderr or the journal, with or without ``--debug``;
5. clock and dates: ``/auth/time`` of ``10**14``, ``NaN``, ``-5``, ``0``..., and an
   ``expirationDate`` of year 1 at +14:00 — one clear error with the query id.

Then a seeded campaign of random attacks (``RECONCILER_RELIABILITY_RUNS``) with its
figures (``docs/reliability.md``, "Hostile API").
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_runs import reconciler, run_process
from demo_spec import demo_spec
from hostile_api import (
    EchoingProxy,
    FakeTime,
    HostileApi,
    id_listing,
    service_json,
)
from reliability_helpers import campaign_size, cli_env, record_figures

from reconciler.apply import apply_approved
from reconciler.core.live import LiveAccount
from reconciler.core.plan import Plan
from reconciler.core.planner import make_plan
from reconciler.core.spec import parse_spec
from reconciler.endpoints import resolve_endpoint
from reconciler.errors import (
    IAM_ACTIONS_LIMIT,
    ApiError,
    DeadlineExceeded,
    HttpError,
    LimitExceeded,
    ReconcilerError,
    TransportError,
)
from reconciler.journal import read_journal
from reconciler.observe import read_account
from reconciler.ovh.client import OvhClient
from reconciler.ovh.credentials import SignatureCredentials
from reconciler.ovh.deadlines import Timeouts
from reconciler.ovh.limits import MAX_ANSWER_BYTES
from reconciler.sandbox import create_app, demo_seed, open_state
from reconciler.sandbox.admin import SandboxAdmin
from reconciler.sandbox.server import ServerThread
from reconciler.sandbox.testing import SANDBOX_EPOCH

CREDENTIALS = SignatureCredentials(
    application_key="hostile-ak",
    application_secret="AS-hostile-3e1f",
    consumer_key="CK-hostile-9a7b",
)
QUERY_ID = "EU.ext-hostile"


def client(api: HostileApi, time: FakeTime, **options: Any) -> OvhClient:
    return OvhClient(
        resolve_endpoint("ovh-eu"),
        options.pop("credentials", CREDENTIALS),
        transport=api.transport(),
        clock=time.wall,
        monotonic=time.monotonic,
        sleep=time.sleep,
        random=lambda: 1.0,
        **options,
    )


def read(api: HostileApi, time: FakeTime, **options: Any) -> LiveAccount:
    async def go() -> LiveAccount:
        async with client(api, time, **options) as c:
            return await read_account(c)

    return asyncio.run(go())


def refused(api: HostileApi, time: FakeTime, **options: Any) -> ReconcilerError:
    """The one error a read of the account ends in (the test fails if it succeeds)."""
    with pytest.raises(ReconcilerError) as caught:
        read(api, time, **options)
    error = caught.value
    assert "\n" not in str(error) and len(str(error)) <= 600
    return error


def services(count: int) -> list[dict[str, Any]]:
    return [service_json(1000 + i) for i in range(count)]


# --- 1. bounds on everything an API sends ----------------------------------------------


@pytest.mark.parametrize(
    ("announced", "bound", "words"),
    [
        # A hundred billion services: more objects than any account holds.
        ("100000000000", "max_objects",
         ("GET /services announced 100,000,000,000 objects", "more than the 1,000,000")),
        # Two hundred thousand on pages of four: fewer objects, but too many pages.
        ("200000", "max_pages", ("50,000 pages of 4", "10,000 pages")),
    ],
    ids=["objects", "pages"],
)  # fmt: skip
def test_an_announced_count_past_a_bound_is_refused_at_the_first_page(
    announced: str, bound: str, words: tuple[str, ...]
) -> None:
    time = FakeTime()
    api = HostileApi(time, services(4))
    api.attack(
        "GET",
        "/services",
        api.json_answer(services(4), **{"X-Pagination-Elements": announced}),
    )
    error = refused(api, time)
    assert isinstance(error, LimitExceeded) and error.bound == bound
    assert all(word in str(error) for word in words) and QUERY_ID in str(error), str(error)
    assert api.served.paths().count("/services") == 1  # no second page asked for


def test_a_listing_of_a_million_and_one_ids_is_refused_before_any_id_is_read() -> None:
    time = FakeTime()
    api = HostileApi(time, iceberg=False)
    api.attack("GET", "/services", api.raw_answer(id_listing(1_000_001)))
    error = refused(api, time)
    assert isinstance(error, LimitExceeded) and error.bound == "max_objects"
    assert "listed 1,000,001 ids" in str(error)
    assert api.served.paths() == ["/auth/time", "/services"]


def test_an_endless_answer_is_refused_while_it_is_read() -> None:
    time = FakeTime()
    api = HostileApi(time)
    api.attack("GET", "/services", api.endless())
    error = refused(api, time)
    assert isinstance(error, LimitExceeded) and error.bound == "max_answer_bytes"
    assert "GET /services answered more than 32 MiB" in str(error)
    # Stopped at the bound while reading: one chunk past it at most, and read once.
    assert api.served.stream_bytes == [pytest.approx(MAX_ANSWER_BYTES, abs=70_000)]


def test_a_declared_huge_answer_is_refused_unread() -> None:
    time = FakeTime()
    api = HostileApi(time)

    async def huge(request: httpx.Request) -> httpx.Response:
        async def nothing() -> AsyncIterator[bytes]:
            yield b"[]"

        return api.stream(nothing(), **{"Content-Length": str(10**12)})

    api.attack("GET", "/services", huge)
    error = refused(api, time)
    assert isinstance(error, LimitExceeded)
    assert api.served.stream_bytes == [0]


def test_an_endless_answer_to_a_mutating_call_may_have_taken_effect_and_is_not_resent() -> None:
    time = FakeTime()
    api = HostileApi(time)
    api.attack("PUT", r"/services/\d+", api.endless())

    async def go() -> None:
        async with client(api, time) as c:
            await c.put("/services/1000", {"terminationPolicy": "empty"})

    with pytest.raises(TransportError) as caught:
        asyncio.run(go())
    assert "may or may not have taken effect" in str(caught.value)
    assert caught.value.retryable  # apply's session re-reads the account, then decides
    assert api.served.paths("PUT") == ["/services/1000"]


def test_a_name_of_a_hundred_thousand_characters_is_refused() -> None:
    time = FakeTime()
    api = HostileApi(time, [service_json(1000, "x" * 100_000 + ".example.com")])
    error = refused(api, time)
    assert isinstance(error, ApiError)
    assert "resource.name: 100,012 characters, more than 1,000" in str(error)
    assert QUERY_ID in str(error)


# The spec the tests that plan use: let the first service of ``services()`` go at expiry.
S1000_SPEC = parse_spec(
    b"version: 1\nunmanaged: ignore\nservices:\n"
    b"  s1000.example.com:\n    lifecycle: terminate_at_expiry\n",
    "spec.yaml",
)


async def plan_s1000(c: OvhClient) -> Plan:
    """Read the account through ``c`` and plan ``S1000_SPEC`` on it."""
    account = await read_account(c)
    return make_plan(S1000_SPEC, account, now=c.api_clock().now(), endpoint="ovh-eu")


def test_past_a_bound_apply_changes_nothing(tmp_path: Path) -> None:
    time = FakeTime()
    api = HostileApi(time, services(3))

    async def go() -> None:
        async with client(api, time) as c:
            plan = await plan_s1000(c)
            assert plan.actions  # there is something to do...
            api.attack(
                "GET",
                "/services",
                api.json_answer(services(3), **{"X-Pagination-Elements": str(10**9)}),
            )
            await apply_approved(
                plan, c, journal_path=tmp_path / "journal.jsonl", plan_digest="sha256:0",
                source="spec.yaml",
            )  # fmt: skip

    with pytest.raises(LimitExceeded):
        asyncio.run(go())
    assert api.served.paths("PUT") == [] and api.served.paths("POST") == []  # ...none of it
    assert read_journal(tmp_path / "journal.jsonl", missing_ok=True).records == ()


# --- 2. deadlines: whole answers, calls with their retries, reads ---------------------------


def test_a_trickle_of_a_byte_every_twenty_seconds_ends_within_the_call_deadline() -> None:
    time = FakeTime()
    api = HostileApi(time, services(4))
    body = json.dumps(services(4)).encode()
    api.attack("GET", "/services", api.trickle(body, every=20.0))
    error = refused(api, time)
    assert isinstance(error, ApiError)
    assert "RECONCILER_" in str(error) and "within" in str(error)
    # A read timeout per chunk would have read the whole body: 20 s × its bytes.
    assert time.elapsed <= Timeouts().call + 20.0 + 1.0
    assert len(body) * 20.0 > 100 * Timeouts().call


def test_an_endpoint_that_never_answers_fails_within_about_a_minute() -> None:
    time = FakeTime()
    api = HostileApi(time)
    api.attack("GET", "/auth/time", api.silence())
    error = refused(api, time)
    assert isinstance(error, ApiError) and "GET /auth/time" in str(error)
    assert time.elapsed <= 61.0  # was 6 attempts × 60 s: 364 s
    assert error.hint and "RECONCILER_" in error.hint


def test_an_endpoint_that_refuses_connections_fails_within_twenty_seconds() -> None:
    time = FakeTime()
    api = HostileApi(time)
    api.attack("GET", "/auth/time", api.unreachable())
    error = refused(api, time)
    assert isinstance(error, TransportError) and not error.sent
    assert str(error).startswith("cannot reach the OVH API at eu.api.ovh.com")
    assert time.elapsed <= 21.0 and len(api.served.requests) == 2


def test_a_read_of_many_slow_ids_stops_at_the_read_deadline() -> None:
    time = FakeTime()
    api = HostileApi(time, services(50), iceberg=False)

    async def slow(request: httpx.Request) -> httpx.Response:
        time.advance(10.0)  # each answer takes 10 s: well within its own deadline
        service_id = int(request.url.path.rsplit("/", 1)[1])
        return api.json(service_json(service_id))

    api.attack("GET", r"/services/\d+", slow)
    error = refused(api, time, concurrency=1, timeouts=Timeouts(read=100.0))
    assert isinstance(error, DeadlineExceeded)
    assert "within 100 s for the read of GET /services (RECONCILER_READ_TIMEOUT)" in str(error)
    assert len(api.served.paths()) <= 13 and time.elapsed <= 111.0


def test_a_real_socket_trickling_is_cut_by_the_real_time_backstop() -> None:
    """The fake-clock tests check the deadline between chunks; a peer that sends one byte
    and then nothing is stopped by the same deadline in real time (a few tenths of a
    second here: the deadlines are set that short)."""
    served: list[int] = []

    async def go() -> None:
        stop = asyncio.Event()
        handlers: list[asyncio.Task[None]] = []

        async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.append(task)
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n1")  # fmt: skip
            served.append(1)
            await writer.drain()
            await stop.wait()  # and nothing more until the test ends
            writer.close()

        server = await asyncio.start_server(trickle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        endpoint = resolve_endpoint(f"http://127.0.0.1:{port}/1.0")
        timeouts = Timeouts(request=0.2, call=0.5)
        try:
            async with OvhClient(endpoint, CREDENTIALS, timeouts=timeouts, random=lambda: 0.0):
                pass
        finally:
            stop.set()
            await asyncio.gather(*handlers, return_exceptions=True)
            server.close()
            await server.wait_closed()

    with pytest.raises(ApiError) as caught:
        asyncio.run(go())
    assert "GET /auth/time" in str(caught.value) and "within" in str(caught.value)
    assert 1 <= len(served) <= 3


# --- 3. secrets an API echoes -----------------------------------------------------------

AK = "ak-echo-5d21"
AS = "AS-SECRET-echo-7c2e9f01"
CK = "CK-SECRET-echo-a81d44e2"
TOKEN = "TOKEN-SECRET-echo-3b9f0c"
ECHO_SPEC = demo_spec(("example.net", "old-shop.example.org"))


def echo_seed() -> dict[str, Any]:
    mapping = demo_seed().to_mapping()
    every = [{"method": m, "path": "/*"} for m in ("GET", "PUT", "POST", "DELETE")]
    mapping["credentials"] = [
        {"application_key": AK, "application_secret": AS, "consumer_key": CK, "rules": every},
        *mapping["credentials"],
    ]
    return mapping


@pytest.fixture
def echoing(tmp_path: Path) -> Iterator[tuple[ServerThread, dict[str, EchoingProxy]]]:
    """The sandbox behind a proxy that echoes what two kinds of calls carried."""
    backend = open_state(tmp_path / "sandbox.db", reseed=True)
    app = create_app(backend)
    proxies = {
        "token": EchoingProxy(app, method="POST", path=r"/services/\d+/terminate/confirm"),
    }
    proxies["consumer key"] = EchoingProxy(
        proxies["token"], method="PUT", path=r"/services/\d+", status=403
    )
    server = ServerThread(proxies["consumer key"]).start()  # type: ignore[arg-type]
    try:
        SandboxAdmin(server.root).reset(echo_seed(), now=SANDBOX_EPOCH)
        yield server, proxies
    finally:
        server.stop()
        backend.close()


def test_secrets_an_api_echoes_reach_no_output(
    echoing: tuple[ServerThread, dict[str, EchoingProxy]], tmp_path: Path
) -> None:
    server, proxies = echoing
    (tmp_path / "spec.yaml").write_text(ECHO_SPEC)
    (tmp_path / "token.txt").write_text(TOKEN + "\n")
    env = cli_env(tmp_path / "home", {
        "OVH_APPLICATION_KEY": AK, "OVH_APPLICATION_SECRET": AS, "OVH_CONSUMER_KEY": CK,
    })  # fmt: skip
    env["RECONCILER_STATE_DIR"] = str(tmp_path / "state")
    texts: dict[str, str] = {}
    for debug in ([], ["--debug"]):
        done = run_process(
            reconciler(*debug, "apply", "spec.yaml", "--auto-approve",
                       "--token", "old-shop.example.org=@token.txt", "--endpoint", server.url),
            cwd=tmp_path, env=env, traceback=True,  # checked below: only --debug shows one
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert "internal error" not in done.stderr
        assert ("Traceback" in done.stderr) == bool(debug)  # --debug shows it: scanned too
        texts[f"stdout{debug}"] = done.stdout
        texts[f"stderr{debug}"] = done.stderr
    texts["journal"] = (tmp_path / "state" / "journal.jsonl").read_text()
    assert all(proxy.echoed for proxy in proxies.values())  # both echoes were answered
    assert "<redacted>" in texts["journal"] and "<redacted>" in texts["stdout[]"]
    leaks = [
        f"{where}: {name}"
        for where, text in texts.items()
        for name, secret in {"token": TOKEN, "consumer key": CK, "secret": AS}.items()
        if secret in text or json.dumps(secret)[1:-1] in text
    ]
    assert leaks == []


# --- 3. the API's words: printed, so bounded and inert -------------------------------------

TERMINAL_TRICKS = "\x1b[2J\x1b]0;owned\x07\x9b31m\u202egnp.exe\u200b\u2066\x00"


def refused_answering(
    status: int, body: dict[str, Any], query_id: str | None = None
) -> ReconcilerError:
    """The error a read ends in when ``GET /services`` answers ``status`` with ``body``
    (and ``query_id`` as its ``X-Ovh-Queryid``, when given)."""
    time = FakeTime()
    api = HostileApi(time, services(2))
    headers = {} if query_id is None else {"X-Ovh-Queryid": query_id}
    api.attack("GET", "/services", api.json_answer(body, status, **headers))
    return refused(api, time)


def test_an_error_answer_cannot_drive_the_terminal() -> None:
    """ANSI escapes (clear the screen, retitle the window), C1 controls, a right-to-left
    override, zero-width characters, NUL: escaped in the error, never written as such."""
    body = {"message": TERMINAL_TRICKS, "errorCode": "E\x1b[5m", "class": "C\u202e"}
    error = refused_answering(400, body, query_id="EU.q\x1b[8m" + "q" * 10_000)
    text = str(error)
    assert text.isprintable(), text[:200]
    assert "\\x1b[2J" in text and "\\u202e" in text  # shown, escaped: the user sees them
    assert isinstance(error, HttpError)
    assert error.error_code is not None and error.error_code.isprintable()
    assert error.error_class is not None and error.error_class.isprintable()
    assert error.query_id is not None and len(error.query_id) <= 100
    assert error.query_id.isprintable()


def test_a_huge_error_code_and_query_id_are_cut() -> None:
    body = {"message": "no " * 100_000, "errorCode": "E" * 100_000}
    error = refused_answering(403, body, query_id="Q" * 50_000)
    assert isinstance(error, HttpError)
    assert error.error_code is not None and len(error.error_code) <= 100
    # Each word cut, and the line as a whole within 600: the message gives way.
    assert len(str(error)) <= 600 and str(error).endswith("Q…)"), len(str(error))
    assert "no no" in str(error)


def test_an_error_naming_thousands_of_missing_iam_actions_names_a_few() -> None:
    """OVH names the one or two actions a call lacks; an answer naming 5,000 distinct
    ones is bounded (and read in linear time: a list grown by membership tests is
    quadratic, hours for a few million)."""
    actions = [f"account:apiovh:action{i}/get" for i in range(5_000)]
    body = {"message": "denied", "details": {"unauthorizedActionsByIAM": actions}}
    error = refused_answering(403, body)
    assert isinstance(error, HttpError)
    assert 1 <= len(error.missing_iam_actions) <= IAM_ACTIONS_LIMIT
    assert error.missing_iam_actions[0] == actions[0]


@pytest.mark.parametrize("offset", [480, 490, 495, 498, 499])
def test_a_secret_echoed_across_the_cut_of_a_message_shows_no_head(offset: int) -> None:
    """The API's words are cut at 500 characters; a consumer key echoed so that the cut
    falls inside it would show its head, which the whole key no longer matches."""
    time = FakeTime()
    api = HostileApi(time, services(2))
    key = CREDENTIALS.consumer_key
    api.attack(
        "GET", "/services", api.json_answer({"message": "x" * offset + key + " y" * 400}, 400)
    )
    text = str(refused(api, time))
    assert "<redacted>" in text or offset > 499 - 4  # a head of 1 to 3 characters may show
    for size in range(4, len(key) + 1):
        assert key[:size] not in text, (offset, size, text[-80:])


# --- 5. the API's clock and dates ----------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"100000000000000", "outside the dates reconciler can reason about"),
        (b"NaN", "NaN is no JSON number"),
        (b"Infinity", "Infinity is no JSON number"),
        (b"-5", "outside the dates"),
        (b"0", "outside the dates"),
        (b"1e308", "outside the dates"),
        (b"1800000000.5", "not a whole number of seconds"),
        (b"9" * 5000, "not JSON"),
        (b'"1800000000"', "answered str, not a timestamp"),
        (b"true", "answered bool, not a timestamp"),
    ],
    ids=lambda value: value[:16].decode() if isinstance(value, bytes) else "",
)
def test_an_implausible_api_time_is_one_clear_error_with_the_query_id(
    answer: bytes, words: str
) -> None:
    time = FakeTime()
    api = HostileApi(time, services(1))
    api.attack("GET", "/auth/time", api.raw_answer(answer))
    error = refused(api, time)
    assert isinstance(error, ApiError) and not isinstance(error, TransportError)
    assert str(error).startswith("OVH API GET /auth/time answered")
    assert words in str(error) and QUERY_ID in str(error)
    assert api.served.paths() == ["/auth/time"]  # nothing judged as of 1970


@pytest.mark.parametrize(
    "date",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1970-01-01T00:00:00Z"],
)
def test_an_expiration_date_beyond_reason_is_one_clear_error(date: str) -> None:
    time = FakeTime()
    api = HostileApi(time, [service_json(1000, expirationDate=date)])

    async def go() -> None:
        async with client(api, time) as c:
            await plan_s1000(c)

    with pytest.raises(ApiError) as caught:
        asyncio.run(go())
    text = str(caught.value)
    assert "service 1000: billing.expirationDate" in text
    assert "outside the dates reconciler can reason about" in text and QUERY_ID in text


# --- the campaign ---------------------------------------------------------------------------

ATTACKS = (
    "elements", "pages", "ids", "endless", "declared", "long name", "trickle", "silence",
    "unreachable", "slow ids", "auth time", "date", "5xx then fine", "malformed", "words",
)  # fmt: skip


def _arm(rng: random.Random, api: HostileApi, time: FakeTime, kind: str) -> dict[str, Any]:
    """Put one attack of ``kind`` on ``api``; the client options it is read with."""
    page = services(rng.randint(1, 8))
    route = rng.choice(["/auth/time", "/services"])
    if kind == "elements":
        total = str(rng.choice([10**6 + 1, 10**9, 10**11, 10**40]))
        api.attack("GET", "/services", api.json_answer(page, **{"X-Pagination-Elements": total}))
    elif kind == "pages":
        total = str(rng.randint(10_001 * len(page), 10**6))
        api.attack("GET", "/services", api.json_answer(page, **{"X-Pagination-Elements": total}))
    elif kind == "ids":
        api.iceberg = False
        api.attack("GET", "/services", api.raw_answer(id_listing(10**6 + rng.randint(1, 10**5))))
    elif kind == "endless":
        api.attack("GET", route, api.endless(unit=rng.choice([b"1,", b'"x",', b" "])))
    elif kind == "declared":

        async def declared(request: httpx.Request) -> httpx.Response:
            async def small() -> AsyncIterator[bytes]:
                yield b"[]"

            return api.stream(small(), **{"Content-Length": str(rng.randint(2**25 + 1, 2**60))})

        api.attack("GET", route, declared)
    elif kind == "long name":
        name = "n" * rng.randint(1_001, 200_000)
        api.services = [*page, service_json(2000, name)]
    elif kind == "trickle":
        body = json.dumps(page).encode() if route == "/services" else b"1800000000"
        api.attack("GET", route, api.trickle(body * 50, every=rng.uniform(5.0, 40.0)))
    elif kind == "silence":
        api.attack("GET", route, api.silence())
    elif kind == "unreachable":
        api.attack("GET", "/auth/time", api.unreachable())
    elif kind == "slow ids":
        api.iceberg = False
        api.services = services(rng.randint(20, 80))
        pause = rng.uniform(5.0, 25.0)

        async def slow(request: httpx.Request) -> httpx.Response:
            time.advance(pause)
            return api.json(service_json(int(request.url.path.rsplit("/", 1)[1])))

        api.attack("GET", r"/services/\d+", slow)
        return {"concurrency": rng.randint(1, 4), "timeouts": Timeouts(read=120.0)}
    elif kind == "auth time":
        value = rng.choice([b"1e14", b"NaN", b"-5", b"0", b"-Infinity", b"1.5", b"[]", b"null"])
        api.attack("GET", "/auth/time", api.raw_answer(value))
    elif kind == "date":
        date = rng.choice(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                           "1900-01-01T00:00:00Z", "2999-01-01T00:00:00Z"])  # fmt: skip
        api.services = [*page, service_json(2000, expirationDate=date)]
    elif kind == "5xx then fine":
        failures = rng.randint(1, 8)

        async def flaky(request: httpx.Request) -> httpx.Response:
            nonlocal failures
            if failures:
                failures -= 1
                return api.json({"message": "busy"}, rng.choice([500, 502, 503, 429]))
            return api.json(page, headers={"X-Pagination-Elements": str(len(page))})

        api.attack("GET", "/services", flaky)
    elif kind == "words":  # an error answer whose words would drive a terminal, or flood it
        trick = "".join(rng.choice([TERMINAL_TRICKS, "x", " ", "\n", "é"]) for _ in range(40))
        body = {
            "message": trick * rng.randint(1, 20_000),
            "errorCode": trick * rng.randint(1, 100),
            "class": trick,
            "details": {
                "unauthorizedActionsByIAM": [f"a:{i}" for i in range(rng.randint(0, 3000))]
            },
        }
        api.attack("GET", route, api.json_answer(body, rng.choice([400, 403, 404, 409, 500])))
    else:  # malformed
        body = rng.choice([b"{", b"<html>502</html>", b'{"a": 1}', b"[[[[[[[[", b'"x"'])
        api.attack("GET", route, api.raw_answer(body))
    return {}


def test_a_campaign_of_hostile_apis() -> None:
    """Seeded random attacks; each read ends in a read account or one clear error of the
    project's tree, within its deadlines (fake time), its bounds (bytes served) and a
    bounded number of requests."""
    rng = random.Random(1818)
    cases = campaign_size(len(ATTACKS))
    outcomes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    worst_seconds = worst_bytes = worst_requests = 0.0
    for index in range(cases):
        kind = ATTACKS[index % len(ATTACKS)]
        time = FakeTime()
        api = HostileApi(time, services(rng.randint(0, 6)))
        options = _arm(rng, api, time, kind)
        limit = options["timeouts"].read if "timeouts" in options else Timeouts().call
        try:
            read(api, time, **options)
            outcomes[f"{kind}: read"] += 1
        except ReconcilerError as error:
            assert "\n" not in str(error) and len(str(error)) <= 600, (kind, str(error)[:200])
            assert str(error).isprintable(), (kind, str(error)[:200])
            assert error.hint, kind
            outcomes[f"{kind}: refused"] += 1
            errors[type(error).__name__] += 1
        assert time.elapsed <= limit + 45.0, (kind, time.elapsed)
        assert max(api.served.stream_bytes, default=0) <= MAX_ANSWER_BYTES + 70_000, kind
        assert len(api.served.requests) <= 100, (kind, len(api.served.requests))
        worst_seconds = max(worst_seconds, time.elapsed)
        worst_bytes = max(worst_bytes, max(api.served.stream_bytes, default=0))
        worst_requests = max(worst_requests, len(api.served.requests))
    refusals = sum(count for key, count in outcomes.items() if key.endswith("refused"))
    assert refusals >= cases * 0.8  # nearly every attack is an attack
    assert outcomes["5xx then fine: read"] + outcomes["5xx then fine: refused"] >= 1
    record_figures(
        "hostile-api",
        cases=cases,
        refused=refusals,
        read=cases - refusals,
        errors=dict(errors),
        outcomes=dict(outcomes),
        worst_fake_seconds=round(worst_seconds, 1),
        worst_bytes_read=int(worst_bytes),
        worst_requests=int(worst_requests),
    )
