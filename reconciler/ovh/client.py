"""The asynchronous OVH API client: one ``httpx.AsyncClient``, bounded concurrency, the
single retry loop, the API's clock and Iceberg reads.

Usage::

    async with OvhClient(endpoint, credentials) as client:   # fetches GET /auth/time
        services = await client.get("/services")
        await client.put("/services/123", {"terminationPolicy": "empty"})
        now = client.api_clock().now()

Retries live here and nowhere else (``OvhClient._send``):

- reads (GET) are retried on 429, 5xx, timeouts and dropped connections, with capped
  exponential backoff and full jitter, honouring ``Retry-After``;
- mutating calls (PUT, POST, DELETE) are retried **only when the request provably did not
  take effect**: a 429, or a connection that failed before the request was sent. After a
  5xx or a dropped connection the outcome is unknown: the error (``ServerError`` or
  ``TransportError``, both ``retryable``) is raised at once, and the caller re-reads the
  service before deciding anything. A mutating call is never sent twice blindly;
- connection failures (refused, unknown host, TLS) are retried once only: they are
  nearly always a wrong endpoint, and the user should hear so quickly;
- everything else fails at once, with the hint of its ``reconciler.errors`` class.

Sleeping and randomness are injected (``sleep``, ``random``) so that tests never sleep.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random as random_module
import re
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx

from reconciler import __version__
from reconciler.clock import Clock, OffsetClock, SystemClock
from reconciler.endpoints import Endpoint
from reconciler.errors import ApiError, HttpError, NotFound, ReconcilerError, TransportError
from reconciler.ovh.auth import ApplicationKeyAuth, OAuth2Auth, OvhSignatureAuth
from reconciler.ovh.credentials import (
    Credentials,
    OAuth2Credentials,
    SignatureCredentials,
    default_search_paths,
    resolve_credentials,
)
from reconciler.ovh.responses import QUERY_ID_HEADER, decode_json, error_from_answer

T = TypeVar("T")
U = TypeVar("U")
log = logging.getLogger("reconciler.ovh")

DEFAULT_CONCURRENCY: Final = 10
DEFAULT_PAGE_SIZE: Final = 1000
MUTATING: Final = frozenset({"PUT", "POST", "DELETE"})
DEFAULT_TIMEOUT: Final = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=None)
ICEBERG_MODE: Final = "CachedObjectList-Pages"
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,254}")


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer with what an audit trail needs of it: the HTTP status and
    the ``X-Ovh-Queryid`` that OVH support asks for (apply journals both)."""

    value: Any
    status: int
    query_id: str | None


class ReadStrategy(StrEnum):
    """How a collection such as ``/services`` is read."""

    AUTO = "auto"  # Iceberg pages; per-id reads when the API answers without them
    PER_ID = "per-id"  # the list of ids, then one GET per id (concurrently)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long the request loop waits before trying again."""

    max_attempts: int = 6  # of a read, the first one included
    connect_attempts: int = 2  # when the connection cannot even be opened
    base_delay: float = 0.25  # seconds; the cap of attempt n is base * 2**(n-1)
    max_delay: float = 8.0
    max_retry_after: float = 120.0  # a longer Retry-After fails at once, saying so

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.connect_attempts < 1:
            raise ValueError("attempts must be at least 1")

    def backoff(self, attempt: int, random: Callable[[], float]) -> float:
        """Full jitter: a uniform delay in [0, min(cap, base * 2**(attempt-1)))."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return random() * ceiling


class OvhClient:
    """An authenticated OVH API client (async context manager). See the module doc."""

    def __init__(
        self,
        endpoint: Endpoint,
        credentials: Credentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        random: Callable[[], float] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        read_strategy: ReadStrategy = ReadStrategy.AUTO,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.endpoint = endpoint
        self.concurrency = concurrency
        self.page_size = page_size
        self.read_strategy = read_strategy
        self.retry = retry or RetryPolicy()
        self._credentials = credentials
        self._transport = transport
        self._timeout = timeout
        self._clock: Clock = clock or SystemClock()
        self._sleep = sleep or asyncio.sleep
        self._random = random or random_module.Random().random
        self._base = endpoint.base_url.rstrip("/")
        self._host = urlsplit(self._base).netloc
        self._delta: float | None = None  # API time minus local time, seconds
        self._http: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None
        self._auth: httpx.Auth
        self._unsigned_auth: httpx.Auth | None
        if isinstance(credentials, OAuth2Credentials):
            self._auth = OAuth2Auth(credentials, self._clock)
            self._unsigned_auth = None
        else:
            self._auth = OvhSignatureAuth(credentials, self._api_timestamp)
            self._unsigned_auth = ApplicationKeyAuth(credentials.application_key)
        self.requests_sent = 0  # every attempt that reached the transport, for diagnostics

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
        ovh.conf files; the embedded ``sandbox`` endpoint gets its in-process transport
        (state in ``state_dir``, default ``$RECONCILER_STATE_DIR`` or ``./.reconciler``)
        and the demo credentials when none are configured for it."""
        paths = default_search_paths() if search_paths is None else search_paths
        demo: SignatureCredentials | None = None
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
            limits=self._limits(), retries=0, verify=True
        )
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=self._timeout,
            limits=self._limits(),
            follow_redirects=False,
            headers={
                "User-Agent": f"reconciler/{__version__} httpx/{httpx.__version__}",
                "Accept": "application/json",
            },
        )
        self._slots = asyncio.Semaphore(self.concurrency)
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
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

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
        per client, as the official client does) and return it in seconds."""
        answer = await self.request("GET", "/auth/time", need_auth=False)
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            raise ApiError(
                f"OVH API GET /auth/time answered {type(answer).__name__}, not a timestamp",
                hint="check that the endpoint is an OVH API (--endpoint, OVH_ENDPOINT)",
                method="GET",
                path="/auth/time",
            )
        # A float delta (the official client truncates our side too): the API's clock
        # then reads its own whole second plus the time elapsed here, not up to 1 s more.
        self._delta = float(answer) - self._clock.now().timestamp()
        return self._delta

    def api_clock(self) -> Clock:
        """The API's clock: the local clock shifted by the measured delta. The lifecycle
        rules are judged with it (moving the sandbox's clock moves the product)."""
        if self._delta is None:
            raise RuntimeError("api_clock() needs the client to be entered (async with)")
        return OffsetClock(self._clock, timedelta(seconds=self._delta))

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

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        need_auth: bool = True,
    ) -> Any:
        """One call; its decoded JSON answer (None for 204). ``params`` go in the query
        string as the official client writes them (booleans ``true``/``false``)."""
        answer = await self.call(method, path, params=params, body=body, need_auth=need_auth)
        return answer.value

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        need_auth: bool = True,
    ) -> Answer:
        """``request``, keeping the status and the query id of the answer."""
        response = await self._send(method, path, params=params, body=body, need_auth=need_auth)
        value = decode_json(
            response.content, status=response.status_code, method=method.upper(), path=path
        )
        return Answer(value, response.status_code, response.headers.get(QUERY_ID_HEADER))

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        need_auth: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The request loop: send, classify, retry when it is safe and useful."""
        http, slots = self._http, self._slots
        if http is None or slots is None:
            raise RuntimeError("use the client inside `async with`")
        method = method.upper()
        if not path.startswith("/"):
            raise ValueError(f"API paths start with '/': {path!r}")
        query = query_string(params)
        if query and "?" in path:  # a query string in the path already, as the official client
            query = "&" + query[1:]
        url = self._base + path + query
        path = path.split("?", 1)[0]  # messages and logs name the route, not the query
        request_headers = dict(headers or {})
        content: bytes | None = None
        if body is not None:
            # Compact JSON, as the official client signs it; Content-Type only with a body.
            content = json.dumps(body, separators=(",", ":")).encode("utf-8")
            request_headers["Content-Type"] = "application/json"
        auth = self._auth if need_auth else self._unsigned_auth
        mutating = method in MUTATING
        policy = self.retry
        attempt = 0
        while True:
            attempt += 1
            request = http.build_request(method, url, content=content, headers=request_headers)
            failure: httpx.TransportError | None = None
            response: httpx.Response | None = None
            async with slots:
                started = time.perf_counter()
                self.requests_sent += 1
                try:
                    if auth is None:
                        response = await http.send(request)
                    else:
                        response = await http.send(request, auth=auth)
                    await response.aread()
                except httpx.TransportError as exc:
                    failure = exc
                except ApiError as auth_error:
                    # The OAuth2 token could not be had: the call itself was not sent.
                    if not auth_error.retryable or attempt >= policy.max_attempts:
                        raise
                    response = None
            elapsed_ms = (time.perf_counter() - started) * 1000
            if response is None and failure is None:
                await self._sleep(policy.backoff(attempt, self._random))
                continue
            if response is None:
                assert failure is not None
                error, sent = self._transport_error(failure, method, path, mutating)
                log.debug("%s %s -> %s (attempt %d)", method, path, type(failure).__name__, attempt)
                limit = policy.max_attempts if sent else policy.connect_attempts
                if (mutating and sent) or not _may_retry(failure):
                    raise error
                if attempt >= limit:
                    raise _gave_up(error, attempt)
                await self._sleep(policy.backoff(attempt, self._random))
                continue
            log.debug(
                "%s %s -> %d in %.0f ms (attempt %d)",
                method, path, response.status_code, elapsed_ms, attempt,
            )  # fmt: skip
            if response.status_code < 300:
                return response
            if response.status_code < 400:
                raise _redirected(response, method, path)
            http_error = self._http_error(response, method, path)
            # A 429 provably did nothing; any other error of a mutating call may have.
            retry_it = http_error.retryable and (not mutating or http_error.status == 429)
            if not retry_it:
                raise http_error
            if attempt >= policy.max_attempts:
                raise _gave_up(http_error, attempt)
            delay = policy.backoff(attempt, self._random)
            if http_error.retry_after is not None:
                if http_error.retry_after > policy.max_retry_after:
                    raise http_error
                delay = max(delay, http_error.retry_after)
            await self._sleep(delay)

    def _http_error(self, response: httpx.Response, method: str, path: str) -> HttpError:
        return error_from_answer(
            status=response.status_code,
            reason=response.reason_phrase,
            headers=response.headers,
            content=response.content,
            method=method,
            path=path,
            now=self._clock.now(),
        )

    def _transport_error(
        self, exc: httpx.TransportError, method: str, path: str, mutating: bool
    ) -> tuple[TransportError, bool]:
        """The error for a failed exchange, and whether the request may have been sent."""
        sent = not isinstance(
            exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
        ) and not isinstance(exc, httpx.UnsupportedProtocol)
        what = _describe(exc)
        if not sent:
            message = f"cannot reach the OVH API at {self._host} ({method} {path}): {what}"
            hint = "check the endpoint (--endpoint, OVH_ENDPOINT, ovh.conf) and the network"
        elif mutating:
            message = f"OVH API {method} {path}: {what}; the call may or may not have taken effect"
            hint = (
                "nothing was retried, so that nothing is done twice: run `reconciler plan` "
                "again to see the account as it is now"
            )
        else:
            message = f"OVH API {method} {path}: {what}"
            hint = "the connection to the API is failing; run again later (reads are safe)"
        return TransportError(message, hint=hint, method=method, path=path), sent

    # -- Iceberg -----------------------------------------------------------------------

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
        to each object as its page arrives, so raw JSON does not pile up.
        """
        strategy = strategy or self.read_strategy
        if strategy is ReadStrategy.PER_ID:
            ids = await self.get(path)
            return await self._read_each(path, ids, parse)
        first = await self._send("GET", path, headers=_page_headers(1, self.page_size))
        answer = decode_json(first.content, status=first.status_code, method="GET", path=path)
        total_header = first.headers.get("X-Pagination-Elements")
        if not isinstance(answer, list):
            raise _malformed(path, f"a list was expected, got {type(answer).__name__}")
        if total_header is None:  # no Iceberg here: a list of ids (or of objects)
            if answer and all(isinstance(item, dict) for item in answer):
                return [parse(item) for item in answer]  # expanded already
            return await self._read_each(path, answer, parse)
        try:
            total = int(total_header)
        except ValueError:
            raise _malformed(path, f"X-Pagination-Elements is {total_header!r}") from None
        first_items = [parse(item) for item in answer]
        size = _effective_page_size(first.headers, self.page_size, len(answer), total)
        if size == 0 or len(answer) >= total:
            return first_items
        pages = math.ceil(total / size)

        async def page(number: int) -> list[T]:
            response = await self._send("GET", path, headers=_page_headers(number, size))
            items = decode_json(
                response.content, status=response.status_code, method="GET", path=path
            )
            if not isinstance(items, list):
                raise _malformed(path, f"page {number} is not a list")
            return [parse(item) for item in items]

        rest = await gather_all(page(number) for number in range(2, pages + 1))
        every = [item for items in (first_items, *rest) for item in items]
        if len(every) != total:
            # A short or long read would silently hide or double services from a plan.
            raise ApiError(
                f"OVH API GET {path} announced {total} objects (X-Pagination-Elements) but "
                f"its pages held {len(every)}: the list changed while it was read",
                hint="run again; if it persists, force per-id reads with "
                "RECONCILER_READ_STRATEGY=per-id",
                method="GET",
                path=path,
            )
        return every

    async def _read_each(self, path: str, ids: Any, parse: Callable[[Any], T]) -> list[T]:
        # Each id becomes a path segment: an integer, or a plain token (never "../me",
        # a slash, or a control character that would make no URL at all).
        if not isinstance(ids, list) or not all(
            (isinstance(i, int) and not isinstance(i, bool))
            or (isinstance(i, str) and _ID.fullmatch(i) and i not in (".", ".."))
            for i in ids
        ):
            raise _malformed(path, "a list of ids was expected")

        async def one(item_id: int | str) -> T | None:
            try:
                data = await self.get(f"{path}/{item_id}")
            except NotFound:  # gone between the listing and the read: it is not there
                return None
            return parse(data)

        found = await gather_all(one(i) for i in dict.fromkeys(ids))
        return [item for item in found if item is not None]

    async def read_each(self, paths: Collection[str], *, missing_ok: bool = True) -> dict[str, Any]:
        """``GET`` each path concurrently; a 404 gives None when ``missing_ok``."""

        async def one(path: str) -> Any:
            try:
                return await self.get(path)
            except NotFound:
                if missing_ok:
                    return None
                raise

        values = await gather_all(one(p) for p in paths)
        return dict(zip(paths, values, strict=True))


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
    return {
        "X-Pagination-Mode": ICEBERG_MODE,
        "X-Pagination-Size": str(size),
        "X-Pagination-Number": str(number),
    }


def _effective_page_size(headers: httpx.Headers, asked: int, got: int, total: int) -> int:
    """The page size the API really used: it may cap the size it was asked for."""
    answered = headers.get("X-Pagination-Size")
    if answered and answered.isdigit() and int(answered) > 0:
        return min(int(answered), asked) if got >= min(int(answered), total) else got
    return got if got < min(asked, total) else asked


def _redirected(response: httpx.Response, method: str, path: str) -> ApiError:
    """The API never redirects: an endpoint URL that does is not the API's (a missing
    ``/1.0``, http instead of https behind a proxy...). Not followed: the signature
    covers the URL, and credentials must not travel to where a redirect points."""
    where = response.headers.get("Location", "somewhere else")
    return ApiError(
        f"OVH API {method} {path} answered {response.status_code}, a redirect to {where}",
        hint="check the endpoint URL (--endpoint, OVH_ENDPOINT): it should end with /1.0",
        method=method,
        path=path,
    )


def _malformed(path: str, problem: str) -> ApiError:
    return ApiError(
        f"OVH API GET {path} answered an unexpected shape: {problem}",
        hint="check that the endpoint is an OVH API; run with --debug and report it",
        method="GET",
        path=path,
    )


def _may_retry(exc: httpx.TransportError) -> bool:
    # Our own malformed request, or a scheme httpx cannot speak: trying again cannot help.
    return not isinstance(exc, httpx.LocalProtocolError | httpx.UnsupportedProtocol)


def _describe(exc: httpx.TransportError) -> str:
    detail = str(exc).strip()
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


def _gave_up(error: ApiError, attempts: int) -> ApiError:
    error.message = f"{error.message} (gave up after {attempts} attempts)"
    error.args = (error.message,)
    return error


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
