"""The asynchronous OVH API client: one ``httpx.AsyncClient``, bounded concurrency, the
API's clock, Iceberg reads, and every defence against an API that misbehaves.

Usage::

    async with OvhClient(endpoint, credentials) as client:   # fetches GET /auth/time
        services = await client.get("/services")
        await client.put("/services/123", {"terminationPolicy": "empty"})
        now = client.api_clock().now()

Sending is layered, one concern per method, as httpx layers its own:

- ``_prepare``: the request — URL and query string, compact JSON body, which signing;
- ``_send_handling_auth``: the OAuth2 bearer token (fetched, shared, refreshed once on a
  401); signed calls are signed by their ``httpx.Auth`` at each attempt;
- ``_send_handling_retries``: attempts, each asked of the one retry decision
  (``reconciler.ovh.retry.decide``) — reads are retried on 429, 5xx, timeouts and drops;
  a mutating call only when it provably did not take effect (a 429, a connection never
  opened): after a 5xx or a drop the error (``retryable``) is raised at once, and the
  caller re-reads the account before deciding anything;
- ``_send_single``: one request in a concurrency slot, its whole answer read within its
  deadline and its byte bound (``deadlines``, ``limits``);
- ``_classified``: the answer, or the ``reconciler.errors`` error it is.

Every error leaves the client through ``Secrets.redact_error``: an API echoing the
consumer key or a token in its words never shows it. Sleeping, randomness and both
clocks are injected (``sleep``, ``random``, ``clock``, ``monotonic``): tests never wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random as random_module
import re
import ssl
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Protocol, TypedDict, TypeVar, Unpack
from urllib.parse import urlencode, urlsplit

import httpx

from reconciler import __version__
from reconciler.clock import Clock, OffsetClock, SystemClock
from reconciler.endpoints import Endpoint
from reconciler.errors import (
    ApiError,
    DeadlineExceeded,
    Forbidden,
    HttpError,
    InvalidSignature,
    LimitExceeded,
    NotFound,
    NotGrantedCall,
    QueryTimeOut,
    ReconcilerError,
    RouteNotFound,
    TransportError,
    Unauthorized,
    one_line,
)
from reconciler.ovh.auth import ApplicationKeyAuth, OAuth2Tokens, OvhSignatureAuth, token_error
from reconciler.ovh.credentials import (
    Credentials,
    OAuth2Credentials,
    SignatureCredentials,
    default_search_paths,
    resolve_credentials,
)
from reconciler.ovh.deadlines import (
    CALL_TIMEOUT_ENV,
    READ_TIMEOUT_ENV,
    REQUEST_TIMEOUT_ENV,
    SYSTEM_MONOTONIC,
    Deadline,
    Monotonic,
    Timeouts,
    earliest,
)
from reconciler.ovh.limits import Bounds, size_text
from reconciler.ovh.options import DEFAULT_CONCURRENCY, ReadStrategy
from reconciler.ovh.responses import QUERY_ID_HEADER, decode_json, error_from_answer
from reconciler.ovh.retry import GiveUp, RetryPolicy, decide
from reconciler.redaction import Secrets
from reconciler.times import ImplausibleInstant, from_unix

T = TypeVar("T")
U = TypeVar("U")
A = TypeVar("A")
log = logging.getLogger("reconciler.ovh")

DEFAULT_PAGE_SIZE: Final = 1000
# The largest page asked for: what the control panel asks by default (fetchIcebergV6); the
# server's own maximum is not published (docs/control-panel.md §7, §9 Q16).
MAX_PAGE_SIZE: Final = 5000
MUTATING: Final = frozenset({"PUT", "POST", "DELETE"})
ICEBERG_MODE: Final = "CachedObjectList-Pages"
ELEMENTS_HEADER: Final = "X-Pagination-Elements"
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]*")
_SHOWN: Final = 40  # characters of a hostile value quoted in a message

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_PAGE_SIZE",
    "Answer",
    "Bounds",
    "OvhClient",
    "ReadProgress",
    "ReadStrategy",
    "RetryPolicy",
    "Timeouts",
    "gather_all",
    "gather_pair",
    "map_bounded",
    "query_string",
]


class ReadProgress(Protocol):
    """What a long read says as it goes (``OvhClient(read_progress=...)``, given a label
    such as ``"services"``): the objects it will bring once known, each one read, and
    its end. A terminal shows it (``reconciler.cli.common``); nothing else asks for it."""

    def total(self, count: int) -> None: ...

    def advance(self, count: int = 1) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer with what an audit trail needs of it: the HTTP status and
    the ``X-Ovh-Queryid`` that OVH support asks for (apply journals both)."""

    value: Any
    status: int
    query_id: str | None


class CallOptions(TypedDict, total=False):
    """What a call may carry besides its method and path (``request``, ``call``)."""

    params: Mapping[str, Any] | None  # the query string, as the official client writes it
    body: Any  # sent as compact JSON
    need_auth: bool  # False: unsigned, naming the application only (default True)


class _Signing(StrEnum):
    SIGNED = "signed"  # OVH's signature, or the OAuth2 bearer token
    APPLICATION = "application"  # unsigned, naming the application (GET /auth/time)
    TOKEN_REQUEST = "token request"  # the OAuth2 token endpoint (basic auth in headers)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A request as it will be sent, each attempt alike (signing happens per attempt)."""

    method: str
    url: str
    route: str  # the path without its query string: what messages and logs name
    content: bytes | None
    headers: Mapping[str, str]
    signing: _Signing

    @property
    def mutating(self) -> bool:
        return self.method in MUTATING and self.signing is not _Signing.TOKEN_REQUEST

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


@dataclass(frozen=True, slots=True)
class _Exchange:
    """One answer, read whole."""

    status: int
    reason: str
    headers: httpx.Headers
    content: bytes

    @property
    def query_id(self) -> str | None:
        return self.headers.get(QUERY_ID_HEADER) or None


class OvhClient:
    """An authenticated OVH API client (async context manager). See the module doc.

    ``secrets`` receives the credentials' secrets and every OAuth2 token; pass the
    process's one ``Secrets`` so that the journal and the CLI blank the same ones."""

    def __init__(
        self,
        endpoint: Endpoint,
        credentials: Credentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        bounds: Bounds | None = None,
        clock: Clock | None = None,
        monotonic: Monotonic | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        random: Callable[[], float] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        read_strategy: ReadStrategy = ReadStrategy.AUTO,
        secrets: Secrets | None = None,
        early_reads: bool = False,
        read_progress: Callable[[str], ReadProgress] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self.endpoint = endpoint
        self.concurrency = concurrency
        self.page_size = page_size
        self.read_strategy = read_strategy
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self.bounds = bounds or Bounds()
        self.secrets = secrets if secrets is not None else Secrets()
        self._transport = transport
        self._clock: Clock = clock or SystemClock()
        self._monotonic: Monotonic = monotonic or SYSTEM_MONOTONIC
        self._sleep = sleep or asyncio.sleep
        self._random = random or random_module.Random().random
        self._base = endpoint.base_url.rstrip("/")
        self._delta: float | None = None  # API time minus local time, seconds
        # With early reads, GET /auth/time is in flight while the first reads go out.
        self.early_reads = early_reads
        # Where long reads say how far they are (a terminal's stderr); None: nowhere.
        self.read_progress = read_progress
        self._clock_task: asyncio.Task[float] | None = None
        self._http: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None
        self._oauth2: OAuth2Tokens | None = None
        self._signature: httpx.Auth | None = None
        self._application: httpx.Auth | None = None
        if isinstance(credentials, OAuth2Credentials):
            self._oauth2 = OAuth2Tokens(credentials, self._clock, self.secrets)
        else:
            self.secrets.learn(credentials.application_secret)
            self.secrets.learn(credentials.consumer_key)
            self._signature = OvhSignatureAuth(credentials, self._api_timestamp)
            self._application = ApplicationKeyAuth(credentials.application_key)
        self.requests_sent = 0  # every attempt that reached the transport, for diagnostics
        # Told the path of each request once its headers are written (or its attempt
        # ended): `plan` parses its specs only once its first page is out, while the
        # answers are on their way (docs/benchmarks.md). An injected transport has no
        # wire: a request is told as it is handed over.
        self.on_sent: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return f"OvhClient(endpoint={self.endpoint.name!r}, concurrency={self.concurrency})"

    @classmethod
    def from_environment(
        cls,
        endpoint: Endpoint,
        *,
        environ: Mapping[str, str],
        search_paths: Sequence[Path] | None = None,
        state_dir: Path | None = None,
        **options: Any,
    ) -> OvhClient:
        """A client for ``endpoint`` with credentials resolved from ``environ`` and the
        ovh.conf files, and the timeouts of ``RECONCILER_*_TIMEOUT`` unless ``timeouts``
        is given; the embedded ``sandbox`` endpoint gets its in-process transport (state
        in ``state_dir``, default ``$RECONCILER_STATE_DIR`` or ``./.reconciler``) and the
        demo credentials when none are configured for it."""
        paths = default_search_paths() if search_paths is None else search_paths
        demo: SignatureCredentials | None = None
        if options.get("timeouts") is None:
            options["timeouts"] = Timeouts.from_environment(environ)
        if endpoint.embedded and "transport" not in options:
            from reconciler.ovh import embedded

            directory = state_dir or embedded.state_dir(environ, Path.cwd())
            options["transport"] = embedded.transport(directory)
            demo = embedded.demo_credentials()
        credentials = resolve_credentials(
            endpoint, environ=environ, search_paths=paths, embedded_default=demo
        )
        return cls(endpoint, credentials, **options)

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> OvhClient:
        transport = self._transport or httpx.AsyncHTTPTransport(
            limits=self._limits(), retries=0, verify=self._tls()
        )
        self._http = httpx.AsyncClient(
            transport=transport,
            limits=self._limits(),
            follow_redirects=False,
            headers={
                "User-Agent": f"reconciler/{__version__} httpx/{httpx.__version__}",
                "Accept": "application/json",
            },
        )
        self._slots = asyncio.Semaphore(self.concurrency)
        if self.early_reads:
            self._clock_task = asyncio.get_running_loop().create_task(self.sync_time())
            return self
        try:
            await self.sync_time()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        task, self._clock_task = self._clock_task, None
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            # Its outcome matters only to calls; leaving, nobody else will ask for it.
            await asyncio.gather(task, return_exceptions=True)
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    def _tls(self) -> ssl.SSLContext | bool:
        """What verifies the certificates: the system's CA bundle (httpx's default) when
        any URL this client calls is ``https://``. A plain-http loopback endpoint (a
        served sandbox) needs no bundle, and loading one costs 20-50 ms of start-up:
        it gets a context that trusts no certificate at all, so that should anything
        ever be sent over https through it, the connection fails rather than going
        unverified."""
        urls = [self._base, self._oauth2.token_url if self._oauth2 is not None else ""]
        if any(not url.startswith("http://") for url in urls if url):
            return True
        refuse_all = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifying, with no CA loaded
        refuse_all.check_hostname = True
        refuse_all.verify_mode = ssl.CERT_REQUIRED
        return refuse_all

    def _limits(self) -> httpx.Limits:
        # The pool matches the concurrency: every request in flight keeps its connection.
        return httpx.Limits(
            max_connections=self.concurrency,
            max_keepalive_connections=self.concurrency,
            keepalive_expiry=30.0,
        )

    # -- the API's clock ---------------------------------------------------------------

    async def sync_time(self) -> float:
        """Measure the delta between the API's clock and ours (``GET /auth/time``, once
        per client, as the official client does) and return it in seconds. An answer
        that is no plausible time (``NaN``, ``0``, ``10**14``, a fraction) is an
        ``ApiError`` with the query id: the rules would otherwise be judged as of 1970."""
        try:
            value, exchange = await self._fetch("GET", "/auth/time", signing=_Signing.APPLICATION)
            api_now = _api_time(value, exchange.query_id)
        except ApiError as error:
            raise self.secrets.redact_error(error) from None
        # A float delta (the official client truncates our side too): the API's clock
        # then reads its own whole second plus the time elapsed here, not up to 1 s more.
        self._delta = api_now - self._clock.now().timestamp()
        return self._delta

    def api_clock(self) -> Clock:
        """The API's clock: the local clock shifted by the measured delta. The lifecycle
        rules are judged with it (moving the sandbox's clock moves the product)."""
        if self._delta is None:
            raise RuntimeError("api_clock() needs the client to be entered (async with)")
        return OffsetClock(self._clock, timedelta(seconds=self._delta))

    async def _clock_known(self) -> None:
        """Wait for the API's clock (early reads): its error, if it failed, is the call's."""
        task = self._clock_task
        if task is not None and self._delta is None:
            await asyncio.shield(task)

    def _api_timestamp(self) -> int:
        return int(self._clock.now().timestamp() + (self._delta or 0.0))

    # -- calls -------------------------------------------------------------------------

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def put(self, path: str, body: Any = None) -> Any:
        return await self.request("PUT", path, body=body)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.request("POST", path, body=body)

    async def delete(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("DELETE", path, params=params)

    async def request(self, method: str, path: str, **options: Unpack[CallOptions]) -> Any:
        """One call; its decoded JSON answer (None for 204). ``params`` go in the query
        string as the official client writes them (booleans ``true``/``false``)."""
        answer = await self.call(method, path, **options)
        return answer.value

    async def call(self, method: str, path: str, **options: Unpack[CallOptions]) -> Answer:
        """``request``, keeping the status and the query id of the answer."""
        signing = _Signing.SIGNED if options.get("need_auth", True) else _Signing.APPLICATION
        try:
            value, exchange = await self._fetch(
                method,
                path,
                params=options.get("params"),
                body=options.get("body"),
                signing=signing,
            )
        except ApiError as error:
            raise self.secrets.redact_error(error) from None
        return Answer(value, exchange.status, exchange.query_id)

    async def _fetch(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        signing: _Signing = _Signing.SIGNED,
        within: Deadline | None = None,
    ) -> tuple[Any, _Exchange]:
        """One call, its decoded JSON and the answer it came in."""
        prepared = self._prepare(method, path, params=params, body=body, headers=headers)
        prepared = replace(prepared, signing=signing)
        exchange = await self._send_early(prepared, within)
        value = decode_json(
            exchange.content,
            status=exchange.status,
            method=prepared.method,
            path=prepared.route,
            query_id=exchange.query_id,
        )
        return value, exchange

    async def _send_early(self, prepared: _Prepared, within: Deadline | None) -> _Exchange:
        """Early reads (``early_reads``): a signed GET sent while ``GET /auth/time`` is
        still in flight is signed with the local clock, so that the first page costs no
        round trip of its own; OVH accepts a timestamp within a window of its clock, and
        a machine's clock is nearly always within it. A call that changes something
        never goes out before the API's clock is known, and every call returns only
        once it is known (``api_clock`` then works, and the clock's error is the
        call's). Should the API refuse the timestamp (``QUERY_TIME_OUT``: this
        machine's clock is far off, or a sandbox's was moved), the GET is sent once
        more with the API's clock."""
        if self._delta is not None or self._clock_task is None:
            return await self._send_handling_auth(prepared, within)
        if prepared.signing is not _Signing.SIGNED:  # GET /auth/time itself
            return await self._send_handling_auth(prepared, within)
        if prepared.mutating:
            await self._clock_known()
            return await self._send_handling_auth(prepared, within)
        try:
            exchange = await self._send_handling_auth(prepared, within)
        except QueryTimeOut:
            await self._clock_known()
            return await self._send_handling_auth(prepared, within)
        await self._clock_known()
        return exchange

    # -- the layers of sending ---------------------------------------------------------

    def _prepare(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        body: Any,
        headers: Mapping[str, str] | None,
    ) -> _Prepared:
        """The request every attempt sends: URL, query string, compact JSON body."""
        method = method.upper()
        if not path.startswith("/"):
            raise ValueError(f"API paths start with '/': {path!r}")
        query = query_string(params)
        if query and "?" in path:  # a query string in the path already, as the official client
            query = "&" + query[1:]
        request_headers = dict(headers or {})
        content: bytes | None = None
        if body is not None:
            # Compact JSON, as the official client signs it; Content-Type only with a body.
            content = json.dumps(body, separators=(",", ":")).encode("utf-8")
            request_headers["Content-Type"] = "application/json"
        return _Prepared(
            method=method,
            url=self._base + path + query,
            route=path.split("?", 1)[0],  # messages and logs name the route, not the query
            content=content,
            headers=request_headers,
            signing=_Signing.SIGNED,
        )

    async def _send_handling_auth(self, prepared: _Prepared, within: Deadline | None) -> _Exchange:
        """Signed calls carry their signature (``OvhSignatureAuth``, per attempt); with
        OAuth2 they carry the bearer token, replaced once when the API answers 401 to it
        (a 401 did nothing: sending the call again is safe)."""
        tokens = self._oauth2
        if tokens is None or prepared.signing is not _Signing.SIGNED:
            return await self._send_handling_retries(prepared, within)
        token = await self._bearer_token(tokens, within)
        try:
            return await self._send_handling_retries(_with_bearer(prepared, token), within)
        except Unauthorized as error:
            if error.status != 401:
                raise
            tokens.forget(token)
        token = await self._bearer_token(tokens, within)
        return await self._send_handling_retries(_with_bearer(prepared, token), within)

    async def _bearer_token(self, tokens: OAuth2Tokens, within: Deadline | None) -> str:
        async with tokens.lock:  # one token request at a time, whatever the concurrency
            token = tokens.current()
            if token is not None:
                return token
            headers, form = tokens.token_request()
            prepared = _Prepared(
                method="POST",
                url=tokens.token_url,
                route=urlsplit(tokens.token_url).path or "/",
                content=form,
                headers=headers,
                signing=_Signing.TOKEN_REQUEST,
            )
            exchange = await self._send_handling_retries(prepared, within)
            return tokens.store(exchange.content, path=prepared.route, query_id=exchange.query_id)

    async def _send_handling_retries(
        self, prepared: _Prepared, within: Deadline | None
    ) -> _Exchange:
        """Attempts until one is answered well or the retry decision gives up. The call's
        deadline (``Timeouts.call``) starts when its first attempt gets a slot; waits
        between attempts are spent outside the slots."""
        slots = self._require_slots()
        call_deadline: Deadline | None = None
        attempt = 0
        while True:
            attempt += 1
            async with slots:
                now = self._monotonic()
                if call_deadline is None:
                    call_deadline = Deadline.after(
                        now, self.timeouts.call, "the call and its retries", CALL_TIMEOUT_ENV
                    )
                bound = earliest(call_deadline, within)
                if bound.passed(now):
                    raise self._overdue(prepared, bound)
                single = earliest(
                    Deadline.after(now, self.timeouts.request, "one answer", REQUEST_TIMEOUT_ENV),
                    bound,
                )
                try:
                    exchange = await self._send_single(prepared, single, attempt)
                    return self._classified(exchange, prepared)
                except ApiError as failed:
                    error = failed
            decision = decide(
                error,
                attempt=attempt,
                mutating=prepared.mutating,
                policy=self.retry,
                random=self._random,
                time_left=bound.left(self._monotonic()),
            )
            if isinstance(decision, GiveUp):
                raise decision.error
            self._debug(
                "%s %s: %s; again in %.2f s", prepared.method, prepared.route, error, decision.delay
            )
            await self._sleep(decision.delay)

    async def _send_single(
        self, prepared: _Prepared, deadline: Deadline, attempt: int = 1
    ) -> _Exchange:
        """One request and its whole answer, within ``deadline`` and the byte bound.

        The deadline is checked on the injected monotonic clock after each chunk, and
        also enforced in real time (httpx's timeouts, the event loop's timer) for a peer
        that sends nothing at all."""
        http = self._require_http()
        left = deadline.left(self._monotonic())
        if left <= 0:
            raise self._overdue(prepared, deadline)
        timeout = httpx.Timeout(
            connect=min(self.timeouts.connect, left),
            read=left,
            write=min(self.timeouts.write, left),
            pool=left,
        )
        extensions: dict[str, Any] = {}
        told = self.on_sent
        if told is not None and self._transport is None:
            extensions["trace"] = _on_headers_written(told, prepared.route)
        elif told is not None:
            told(prepared.route)
        request = http.build_request(
            prepared.method,
            prepared.url,
            content=prepared.content,
            headers=dict(prepared.headers),
            timeout=timeout,
            extensions=extensions,
        )
        auth = self._signature if prepared.signing is _Signing.SIGNED else None
        if prepared.signing is _Signing.APPLICATION:
            auth = self._application
        self.requests_sent += 1
        started = self._monotonic()
        try:
            async with asyncio.timeout(left):
                try:
                    if auth is None:
                        response = await http.send(request, stream=True)
                    else:
                        response = await http.send(request, auth=auth, stream=True)
                finally:
                    if told is not None:  # answered or failed: not to be waited for
                        told(prepared.route)
                try:
                    content = await self._read_whole(response, prepared, deadline)
                finally:
                    await response.aclose()
        except TimeoutError:  # the real-time backstop: nothing came before the deadline
            raise self._overdue(prepared, deadline) from None
        except httpx.TransportError as exc:
            if isinstance(exc, httpx.TimeoutException) and deadline.passed(self._monotonic()):
                raise self._overdue(prepared, deadline) from None
            self._debug(
                "%s %s -> %s (attempt %d)",
                prepared.method, prepared.route, type(exc).__name__, attempt,
            )  # fmt: skip
            raise self._transport_error(exc, prepared) from None
        self._debug(
            "%s %s -> %d in %.0f ms (attempt %d)",
            prepared.method,
            prepared.route,
            response.status_code,
            (self._monotonic() - started) * 1000,
            attempt,
        )
        return _Exchange(response.status_code, response.reason_phrase, response.headers, content)

    async def _read_whole(
        self, response: httpx.Response, prepared: _Prepared, deadline: Deadline
    ) -> bytes:
        """The decoded body, refused as soon as it passes the byte bound (a declared
        ``Content-Length`` beyond it is refused unread) or the deadline passes."""
        limit = self.bounds.max_answer_bytes
        declared = response.headers.get("Content-Length", "")
        query_id = response.headers.get(QUERY_ID_HEADER)
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(prepared, query_id)
        body = bytearray()
        if deadline.passed(self._monotonic()):
            raise self._overdue(prepared, deadline)
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise self._too_large(prepared, query_id)
            if deadline.passed(self._monotonic()):
                raise self._overdue(prepared, deadline)
        return bytes(body)

    def _classified(self, exchange: _Exchange, prepared: _Prepared) -> _Exchange:
        """A successful answer as it is; any other, the error it is."""
        status = exchange.status
        if status < 300:
            return exchange
        if status < 400:
            raise _redirected(exchange, prepared)
        if prepared.signing is _Signing.TOKEN_REQUEST:
            raise token_error(
                status=status, headers=exchange.headers, content=exchange.content,
                path=prepared.route,
            )  # fmt: skip
        raise error_from_answer(
            status=status,
            reason=exchange.reason,
            headers=exchange.headers,
            content=exchange.content,
            method=prepared.method,
            path=prepared.route,
            now=self._clock.now(),
        )

    def _require_http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("use the client inside `async with`")
        return self._http

    def _require_slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            raise RuntimeError("use the client inside `async with`")
        return self._slots

    def _debug(self, message: str, *args: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s", self.secrets.redact(message % args))

    # -- the errors of sending ---------------------------------------------------------

    def _transport_error(self, exc: httpx.TransportError, prepared: _Prepared) -> TransportError:
        """The error for a failed exchange; ``sent`` False when the request never left."""
        sent = not isinstance(
            exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
        ) and not isinstance(exc, httpx.UnsupportedProtocol)
        # Our own malformed request, or a scheme httpx cannot speak: trying again cannot help.
        retryable = not isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol)
        method, path = prepared.method, prepared.route
        what = _describe(exc)
        if not sent:
            message = f"cannot reach the OVH API at {prepared.host} ({method} {path}): {what}"
            hint = "check the endpoint (--endpoint, OVH_ENDPOINT, ovh.conf) and the network"
        elif prepared.mutating:
            message = f"OVH API {method} {path}: {what}; the call may or may not have taken effect"
            hint = _MAY_HAVE_TAKEN_EFFECT
        else:
            message = f"OVH API {method} {path}: {what}"
            hint = "the connection to the API is failing; run again later (reads are safe)"
        return TransportError(
            message, hint=hint, method=method, path=path, sent=sent, retryable=retryable
        )

    def _overdue(self, prepared: _Prepared, deadline: Deadline) -> ApiError:
        """A deadline passed: for one answer, an attempt timed out (tried again while the
        call's deadline allows); for the call or the read, it is over."""
        method, path = prepared.method, prepared.route
        within = deadline.describe()
        if prepared.mutating:
            return TransportError(
                f"OVH API {method} {path}: no whole answer within {within}; "
                "the call may or may not have taken effect",
                hint=_MAY_HAVE_TAKEN_EFFECT,
                method=method,
                path=path,
            )
        if deadline.setting == REQUEST_TIMEOUT_ENV:
            return TransportError(
                f"OVH API {method} {path}: no whole answer within {within}",
                hint=f"the API is slow or stalled; run again later, or allow more time "
                f"with {REQUEST_TIMEOUT_ENV}",
                method=method,
                path=path,
            )
        return DeadlineExceeded(
            f"OVH API {method} {path}: not done within {within}",
            setting=deadline.setting,
            method=method,
            path=path,
        )

    def _too_large(self, prepared: _Prepared, query_id: str | None) -> ApiError:
        limit = size_text(self.bounds.max_answer_bytes)
        method, path = prepared.method, prepared.route
        if prepared.mutating:
            # The call was answered, so it may well have taken effect: the caller re-reads.
            return TransportError(
                f"OVH API {method} {path} answered more than {limit}, the most reconciler "
                "reads of one answer; the call may or may not have taken effect",
                hint=_MAY_HAVE_TAKEN_EFFECT,
                method=method,
                path=path,
            ).with_query_id(query_id)
        return LimitExceeded(
            f"OVH API {method} {path} answered more than {limit}, the most reconciler "
            "reads of one answer",
            bound="max_answer_bytes",
            limit=self.bounds.max_answer_bytes,
            method=method,
            path=path,
            query_id=query_id,
        )

    # -- reads of many objects ---------------------------------------------------------

    def _read_deadline(self, what: str) -> Deadline:
        return Deadline.after(self._monotonic(), self.timeouts.read, what, READ_TIMEOUT_ENV)

    async def read_collection(
        self,
        path: str,
        parse: Callable[[Any], T],
        *,
        strategy: ReadStrategy | None = None,
    ) -> list[T]:
        """Every object of a collection such as ``/services``, expanded and parsed.

        With Iceberg (``X-Pagination-Mode: CachedObjectList-Pages``) the first page gives
        the total (``X-Pagination-Elements``) and the other pages are fetched
        concurrently. When the API answers without pagination headers (a plain list of
        ids), each id is read with ``GET {path}/{id}``, concurrently. ``parse`` is applied
        to each object as its page arrives, so raw JSON does not pile up; an ``ApiError``
        it raises names the query id of the answer the object came in.

        The whole read is under the read deadline and the bounds: objects, pages, ids.
        """
        progress = self.read_progress(path.strip("/")) if self.read_progress else None
        try:
            return await self._read_collection(
                path, parse, strategy or self.read_strategy, progress
            )
        except ApiError as error:
            raise self.secrets.redact_error(error) from None
        finally:
            if progress is not None:
                progress.finish()

    async def _read_collection(
        self,
        path: str,
        parse: Callable[[Any], T],
        strategy: ReadStrategy,
        progress: ReadProgress | None = None,
    ) -> list[T]:
        deadline = self._read_deadline(f"the read of GET {path}")
        if strategy is ReadStrategy.PER_ID:
            ids, listing = await self._fetch("GET", path, within=deadline)
            return await self._read_each_id(path, ids, parse, deadline, listing.query_id, progress)
        try:
            answer, first = await self._fetch(
                "GET", path, headers=_page_headers(1, self.page_size), within=deadline
            )
        except HttpError as refused:
            if not _listing_refusal(refused):
                raise
            # The paged listing is refused: the plain list of ids, then each id, as the
            # per-id strategy reads it (docs/control-panel.md §8.26). Under the same read
            # deadline and bounds: the refused page spent some of the first.
            log.debug(
                "GET %s with Iceberg pages refused (%s): falling back to the list of ids "
                "and GET %s/{id} for each",
                path, refused, path,
            )  # fmt: skip
            ids, listing = await self._fetch("GET", path, within=deadline)
            return await self._read_each_id(path, ids, parse, deadline, listing.query_id, progress)
        query_id = first.query_id
        if not isinstance(answer, list):
            raise _malformed(path, f"a list was expected, got {type(answer).__name__}", query_id)
        total_header = first.headers.get(ELEMENTS_HEADER)
        if total_header is None:  # no Iceberg here: a list of ids (or of objects)
            if answer and all(isinstance(item, dict) for item in answer):
                self._check_objects(path, len(answer), "objects", query_id)
                return _parsed(answer, parse, query_id, progress)  # expanded already
            return await self._read_each_id(path, answer, parse, deadline, query_id, progress)
        total = self._announced_total(path, total_header, query_id)
        if progress is not None:
            progress.total(total)
        first_items = _parsed(answer, parse, query_id, progress)
        size = _effective_page_size(first.headers, self.page_size, len(answer), total)
        if size == 0 or len(answer) >= total:
            return first_items
        pages = math.ceil(total / size)
        if pages > self.bounds.max_pages:
            raise self._too_long(
                path,
                f"would take {pages:,} pages of {size} to read ({total:,} objects announced)",
                bound="max_pages",
                query_id=query_id,
            )

        async def page(number: int) -> list[T]:
            items, response = await self._fetch(
                "GET", path, headers=_page_headers(number, size), within=deadline
            )
            if not isinstance(items, list):
                raise _malformed(path, f"page {number} is not a list", response.query_id)
            if len(items) > size:
                raise _malformed(
                    path, f"page {number} holds {len(items)} objects, not {size}", response.query_id
                )
            return _parsed(items, parse, response.query_id, progress)

        rest = await map_bounded(range(2, pages + 1), page, limit=self.concurrency)
        every = [item for items in (first_items, *rest) for item in items]
        if len(every) != total:
            # A short or long read would silently hide or double services from a plan.
            raise ApiError(
                f"OVH API GET {path} announced {total} objects ({ELEMENTS_HEADER}) but "
                f"its pages held {len(every)}: the list changed while it was read",
                hint="run again; if it persists, force per-id reads with "
                "RECONCILER_READ_STRATEGY=per-id",
                method="GET",
                path=path,
            )
        return every

    def _announced_total(self, path: str, header: str, query_id: str | None) -> int:
        text = header.strip()
        if not (text.isascii() and text.isdigit()):
            raise _malformed(path, f"{ELEMENTS_HEADER} is {header[:_SHOWN]!r}", query_id)
        if len(text) > 30:  # a 5,000-digit header is not worth converting, nor quoting
            shown = f"a {len(text):,}-digit number of"
        else:
            shown = f"{int(text):,}"
            if int(text) <= self.bounds.max_objects:
                return int(text)
        raise self._too_long(
            path,
            f"announced {shown} objects ({ELEMENTS_HEADER})",
            bound="max_objects",
            query_id=query_id,
        )

    def _check_objects(self, path: str, count: int, what: str, query_id: str | None) -> None:
        if count > self.bounds.max_objects:
            raise self._too_long(
                path, f"listed {count:,} {what}", bound="max_objects", query_id=query_id
            )

    def _too_long(
        self,
        path: str,
        counted: str,
        *,
        bound: Literal["max_objects", "max_pages"],
        query_id: str | None,
    ) -> LimitExceeded:
        """A listing past one of the bounds of a listing; ``counted`` says how far."""
        limit = self.bounds.max_pages if bound == "max_pages" else self.bounds.max_objects
        unit = " pages" if bound == "max_pages" else ""
        return LimitExceeded(
            f"OVH API GET {path} {counted}, more than the {limit:,}{unit} reconciler reads "
            "of one listing",
            bound=bound,
            limit=limit,
            method="GET",
            path=path,
            query_id=query_id,
        )

    async def _read_each_id(
        self,
        path: str,
        ids: Any,
        parse: Callable[[Any], T],
        deadline: Deadline,
        query_id: str | None,
        progress: ReadProgress | None = None,
    ) -> list[T]:
        """``GET {path}/{id}`` for each id of a listing, ``concurrency`` at a time. Each id
        becomes a path segment: an integer, or a plain token (never "../me", a slash, or
        a control character that would make no URL at all), of a bounded length."""
        if not isinstance(ids, list):
            raise _malformed(path, "a list of ids was expected", query_id)
        self._check_objects(path, len(ids), "ids", query_id)
        longest = self.bounds.max_name_length
        for item in ids:
            if isinstance(item, str) and len(item) > longest:
                raise LimitExceeded(
                    f"OVH API GET {path} listed an id of {len(item):,} characters, more than "
                    f"the {longest:,} reconciler takes",
                    bound="max_name_length",
                    limit=longest,
                    method="GET",
                    path=path,
                    query_id=query_id,
                )
            if not (
                (isinstance(item, int) and not isinstance(item, bool))
                or (isinstance(item, str) and _ID.fullmatch(item) and item not in (".", ".."))
            ):
                raise _malformed(path, "a list of ids was expected", query_id)

        async def one(item_id: int | str) -> T | None:
            try:
                data, response = await self._fetch("GET", f"{path}/{item_id}", within=deadline)
            except RouteNotFound:  # no such route: says nothing of the object (§8.24)
                raise
            except NotFound:  # gone between the listing and the read: it is not there
                return None
            return _parsed([data], parse, response.query_id, progress)[0]

        unique = list(dict.fromkeys(ids))
        if progress is not None:
            progress.total(len(unique))
        found = await map_bounded(unique, one, limit=self.concurrency)
        return [item for item in found if item is not None]

    async def read_each(self, paths: Collection[str], *, missing_ok: bool = True) -> dict[str, Any]:
        """``GET`` each path, ``concurrency`` at a time, all under the read deadline; a
        404 gives None when ``missing_ok`` — not a missing route ("Got an invalid (or
        empty) URL"), which is raised."""
        ordered = list(paths)
        deadline = self._read_deadline(f"the read of {len(ordered)} paths")

        async def one(path: str) -> Any:
            try:
                value, _ = await self._fetch("GET", path, within=deadline)
            except NotFound as missing:
                if missing_ok and not isinstance(missing, RouteNotFound):
                    return None
                raise
            return value

        try:
            values = await map_bounded(ordered, one, limit=self.concurrency)
        except ApiError as error:
            raise self.secrets.redact_error(error) from None
        return dict(zip(ordered, values, strict=True))


_MAY_HAVE_TAKEN_EFFECT: Final = (
    "nothing was retried, so that nothing is done twice: run `reconciler plan` "
    "again to see the account as it is now"
)


def _api_time(value: Any, query_id: str | None) -> float:
    """The unix time ``GET /auth/time`` answered, if it is one (see ``sync_time``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(
            f"OVH API GET /auth/time answered {type(value).__name__}, not a timestamp",
            hint="check that the endpoint is an OVH API (--endpoint, OVH_ENDPOINT)",
            method="GET",
            path="/auth/time",
            query_id=query_id,
        )
    shown = repr(value)[:_SHOWN]
    try:
        if isinstance(value, float) and math.isfinite(value) and value != int(value):
            raise ImplausibleInstant(shown)
        from_unix(value)
    except ImplausibleInstant as exc:
        problem = (
            "not a whole number of seconds"
            if isinstance(value, float) and math.isfinite(value) and value != int(value)
            else str(exc)
        )
        raise ApiError(
            f"OVH API GET /auth/time answered {shown}, not a plausible time: {problem}",
            hint="the endpoint is not an OVH API, or its clock is broken: check "
            "--endpoint / OVH_ENDPOINT and any proxy in between",
            method="GET",
            path="/auth/time",
            query_id=query_id,
        ) from None
    return float(value)


def _on_headers_written(
    told: Callable[[str], None], route: str
) -> Callable[[str, Mapping[str, Any]], Awaitable[None]]:
    """An httpcore ``trace`` extension telling ``route`` once the headers are sent."""

    async def trace(event: str, info: Mapping[str, Any]) -> None:
        if event.endswith(".send_request_headers.complete"):
            told(route)

    return trace


def _with_bearer(prepared: _Prepared, token: str) -> _Prepared:
    return replace(prepared, headers={**prepared.headers, "Authorization": f"Bearer {token}"})


def _parsed(
    items: Iterable[Any],
    parse: Callable[[Any], T],
    query_id: str | None,
    progress: ReadProgress | None = None,
) -> list[T]:
    """``parse`` of each item; its ``ApiError`` names the answer's query id. ``progress``
    hears of the answer's objects once they are all parsed: the count is of objects in
    hand, a page at a time."""
    try:
        parsed = [parse(item) for item in items]
    except ApiError as error:
        raise error.with_query_id(query_id) from None
    if progress is not None:
        progress.advance(len(parsed))
    return parsed


def query_string(params: Mapping[str, Any] | None) -> str:
    """``?a=1&b=true`` as the official client writes it (booleans lower-case, None as
    ``null``), or the empty string."""
    if not params:
        return ""
    prepared = {
        key: ("true" if value else "false")
        if isinstance(value, bool)
        else ("null" if value is None else value)
        for key, value in params.items()
    }
    return "?" + urlencode(prepared)


def _page_headers(number: int, size: int) -> dict[str, str]:
    """The headers of one Iceberg page: an explicit size (at most ``MAX_PAGE_SIZE``), and
    ``Pragma: no-cache``, as the panel asks after a change: OVH caches listings
    server-side, and a plan or an apply must see the account as it is now
    (docs/control-panel.md §7, §8.26)."""
    return {
        "X-Pagination-Mode": ICEBERG_MODE,
        "X-Pagination-Size": str(min(size, MAX_PAGE_SIZE)),
        "X-Pagination-Number": str(number),
        "Pragma": "no-cache",
    }


def _listing_refusal(error: HttpError) -> bool:
    """Whether a refused Iceberg page is worth the per-id fallback: a clear refusal of
    the request (400, 404, 405, 409, 416, ...), and a 403 on the call itself (a call
    not granted, an IAM refusal): the cached paged listing can be refused where the plain
    list of ids and ``GET /services/{id}`` are allowed, and the control panel reads
    those then. Not a retryable answer (the retry loop gave up), nor a key that is not
    valid or a signature problem, which every other call would meet just the same."""
    if error.retryable or isinstance(error, InvalidSignature | QueryTimeOut):
        return False
    if isinstance(error, Unauthorized):
        return error.status == 403 and type(error) in (NotGrantedCall, Forbidden)
    return 400 <= error.status < 500


def _effective_page_size(headers: httpx.Headers, asked: int, got: int, total: int) -> int:
    """The page size the API really used: it may cap the size it was asked for."""
    answered = headers.get("X-Pagination-Size", "")
    if answered.isascii() and answered.isdigit() and len(answered) <= 12 and int(answered) > 0:
        return min(int(answered), asked) if got >= min(int(answered), total) else got
    return got if got < min(asked, total) else asked


def _redirected(exchange: _Exchange, prepared: _Prepared) -> ApiError:
    """The API never redirects: an endpoint URL that does is not the API's (a missing
    ``/1.0``, http instead of https behind a proxy...). Not followed: the signature
    covers the URL, and credentials must not travel to where a redirect points."""
    where = one_line(exchange.headers.get("Location", "somewhere else"), 200)
    return ApiError(
        f"OVH API {prepared.method} {prepared.route} answered {exchange.status}, "
        f"a redirect to {where}",
        hint="check the endpoint URL (--endpoint, OVH_ENDPOINT): it should end with /1.0",
        method=prepared.method,
        path=prepared.route,
        query_id=exchange.query_id,
    )


def _malformed(path: str, problem: str, query_id: str | None = None) -> ApiError:
    return ApiError(
        f"OVH API GET {path} answered an unexpected shape: {problem}",
        hint="check that the endpoint is an OVH API; run with --debug and report it",
        method="GET",
        path=path,
        query_id=query_id,
    )


def _describe(exc: httpx.TransportError) -> str:
    detail = one_line(str(exc), 200)
    kinds: list[tuple[type[httpx.TransportError], str]] = [
        (httpx.ConnectTimeout, "timed out connecting"),
        (httpx.ReadTimeout, "timed out waiting for the answer"),
        (httpx.WriteTimeout, "timed out sending the request"),
        (httpx.PoolTimeout, "timed out waiting for a free connection"),
        (httpx.ConnectError, "connection failed"),
        (httpx.RemoteProtocolError, "the connection was dropped"),
        (httpx.ReadError, "the connection was dropped"),
        (httpx.WriteError, "the connection was dropped while sending"),
    ]
    for kind, words in kinds:
        if isinstance(exc, kind):
            if "certificate" in detail.lower() or "ssl" in detail.lower():
                return "TLS certificate verification failed"
            return f"{words} ({detail})" if detail else words
    return f"{type(exc).__name__} ({detail})" if detail else type(exc).__name__


async def map_bounded(
    items: Iterable[A], function: Callable[[A], Awaitable[T]], *, limit: int
) -> list[T]:
    """``function`` of each item, at most ``limit`` at once, results in order. Only
    ``limit`` tasks exist at any time (a listing of a million ids is not a million
    tasks); on the first failure the others are cancelled and that failure raised, as
    ``gather_all`` does."""
    pending = list(items)
    results: list[Any] = [None] * len(pending)
    queue = iter(enumerate(pending))

    async def worker() -> None:
        for index, item in queue:  # a shared iterator: each item is taken once
            results[index] = await function(item)

    await gather_all(worker() for _ in range(min(limit, len(pending))))
    return results


async def gather_all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Await everything concurrently, in order; on the first failure cancel the rest and
    raise that failure itself (a ``ReconcilerError`` first), never an ExceptionGroup."""
    tasks: list[asyncio.Task[T]] = []
    try:
        async with asyncio.TaskGroup() as group:
            for awaitable in awaitables:
                tasks.append(group.create_task(_as_coroutine(awaitable)))
    except BaseExceptionGroup as failures:
        raise _first_failure(failures) from None
    return [task.result() for task in tasks]


async def gather_pair(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """Two different awaitables concurrently, with ``gather_all``'s failure handling."""
    results: list[Any] = await gather_all([first, second])
    return results[0], results[1]


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for leaf in leaves:
        if isinstance(leaf, ReconcilerError):
            return leaf
    return leaves[0]
