"""The sandbox's HTTP face: a thin ASGI app over ``Backend``.

``/1.0/...`` is the OVH API (signed calls, OVH's errors, ``X-Ovh-Queryid`` on every
answer, injected faults); everything else is the admin side (``/sandbox/...``,
unauthenticated: the sandbox is local) and the credential validation page
(``/auth/?credentialToken=...``, as the ``validationUrl`` of OVH points to).

Parsing and serialising only: every decision is the backend's. ``docs/sandbox.md`` lists
the routes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from reconciler.sandbox import errors, iam
from reconciler.sandbox.admin_routes import admin_routes
from reconciler.sandbox.auth import CredentialView, SignedRequest
from reconciler.sandbox.backend import DEFAULT_PAGE_SIZE, FILTER_OPS, Backend
from reconciler.sandbox.calls import CallLog
from reconciler.sandbox.faults import FaultInjector
from reconciler.sandbox.urls import API_ROUTES, ApiRoute, _template, match

# The route table is urls.py's; tests read it from here too.
__all__ = ["API_ROUTES", "ApiRoute", "ConnectionDropped", "SandboxApp", "_template", "create_app"]

log = logging.getLogger("reconciler.sandbox")

API_PREFIX = "/1.0"
_BOOT = f"{int(time.time()) & 0xFFFFFFFF:08x}"


class ConnectionDropped(ConnectionResetError):
    """Raised out of the app after half a response, to drop the connection (a fault).
    Over a real server the client sees a truncated answer; in-process (httpx's ASGI
    transport) it sees this exception, an ``OSError`` like a reset connection."""


@dataclass(slots=True)
class _Seen:
    """What answering one request learnt, for the request log."""

    service_id: int | None = None
    credential_id: int | None = None
    changes: dict[str, list[Any]] | None = None  # None: not a processed mutating call


@dataclass(frozen=True, slots=True)
class Reply:
    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Call:
    """One API request, parsed."""

    method: str
    path: str  # relative to /1.0, decoded, no query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    raw_body: str
    root: str  # scheme://host[:port], as the client addressed the API
    credential: CredentialView | None = None

    def json(self) -> Any:
        if not self.raw_body.strip():
            return None
        try:
            return json.loads(self.raw_body)
        except ValueError:
            raise errors.bad_request("Invalid JSON received") from None


Handler = Callable[..., Reply]


def _service_id(raw: str) -> int:
    if not raw.isdigit():
        raise errors.bad_request(f"Invalid serviceId {raw!r}: expected an integer")
    if len(raw) > 15:  # beyond any id (and beyond SQLite's integers)
        raise errors.not_found(f"The requested object (serviceId = {raw}) does not exist")
    return int(raw)


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class SandboxApp:
    """The ASGI app: ``/1.0`` is the API, the rest the admin side."""

    def __init__(
        self,
        backend: Backend,
        *,
        faults: FaultInjector | None = None,
        calls: CallLog | None = None,
    ) -> None:
        self.backend = backend
        self.faults = faults or FaultInjector()
        self.calls = calls or CallLog()
        self.admin = Starlette(routes=admin_routes(backend, self.faults, self.calls))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path = scope["path"]
        if scope["type"] == "http" and (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.api(scope, receive, send)
            return
        query_id = _query_id().encode("latin-1")

        async def send_with_query_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-ovh-queryid", query_id)],
                }
            await send(message)

        await self.admin(scope, receive, send_with_query_id)

    # --- the API ---------------------------------------------------------------------

    async def api(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        query_id = _query_id()
        decision = self.faults.decide()
        if decision.delay_seconds:
            await asyncio.sleep(decision.delay_seconds)
        raw_body = (await request.body()).decode("utf-8", errors="replace")
        seen = _Seen()
        if decision.error is not None:
            reply = _error_reply(decision.error)
        else:
            reply = self._answer(scope, request, raw_body, seen)
        self.calls.add(
            method=request.method.upper(),
            path=scope["path"][len(API_PREFIX) :] or "/",
            status=reply.status,
            fault="error" if decision.error is not None else ("drop" if decision.drop else None),
            applied=decision.error is None and reply.status < 300,
            changes=seen.changes,
            service_id=seen.service_id,
            credential_id=seen.credential_id,
            user_agent=request.headers.get("user-agent"),
        )
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-ovh-queryid": query_id,
            **{k.lower(): v for k, v in reply.headers.items()},
        }
        body = _json_bytes(reply.body)
        headers["content-length"] = str(len(body))
        start = {
            "type": "http.response.start",
            "status": reply.status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        }
        await send(start)
        if decision.drop:
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            raise ConnectionDropped("sandbox fault: connection dropped mid-response")
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _answer(self, scope: Scope, request: Request, raw_body: str, seen: _Seen) -> Reply:
        method = request.method.upper()
        path = scope["path"][len(API_PREFIX) :] or "/"
        try:
            route, params = match(method, path)
            root = _root(scope, request)
            call = Call(
                method=method,
                path=path,
                query=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
                headers={k.lower(): v for k, v in request.headers.items()},
                raw_body=raw_body,
                root=root,
            )
            if route.auth != "public":
                credential = self.backend.authenticate(
                    _signed_request(scope, call), check_rules=route.auth == "signed"
                )
                call = replace(call, credential=credential)
                seen.credential_id = credential.credential_id
                if credential.iam_actions is not None and route.iam:
                    missing = iam.refused(credential.iam_actions, route.iam)
                    if missing:
                        raise errors.iam_refused(missing)
            handler: Handler = getattr(self, route.handler)
            seen.service_id = self._service_of(params, dict(route.extra))
            if method not in ("PUT", "POST", "DELETE") or seen.service_id is None:
                return handler(call, **params, **dict(route.extra))
            before = self._footprint(seen.service_id)
            reply = handler(call, **params, **dict(route.extra))
            seen.changes = _differences(before, self._footprint(seen.service_id))
            return reply
        except errors.ApiError as error:
            return _error_reply(error)
        except Exception:  # a sandbox bug: still an OVH-shaped answer, and a log line
            log.exception("sandbox: internal error on %s %s", method, path)
            return _error_reply(
                errors.ApiError(
                    500, "Internal server error", error_class="Server::InternalServerError"
                )
            )

    # the request log's view of a call

    def _service_of(self, params: dict[str, str], extra: dict[str, str]) -> int | None:
        """The service a route names: ``{id}`` of ``/services/{id}...``, or a legacy
        ``/{route}/{serviceName}`` resolved to its id (None when there is none)."""
        if "id" in params and "route" not in extra:
            raw = params["id"]
            return int(raw) if raw.isdigit() and len(raw) <= 15 else None
        if "route" not in extra or not params:
            return None
        try:
            name, organization = _legacy_name(params)
            return self.backend.legacy_service_id(extra["route"], name, organization)
        except errors.ApiError:
            return None

    def _footprint(self, service_id: int) -> dict[str, Any]:
        """What a mutating call can change, flattened: the service as the API shows it
        (``{"service": None}`` when gone) and the number of e-mails sent."""
        try:
            shown: Any = self.backend.service(service_id)
        except errors.ApiError:
            shown = None
        flat: dict[str, Any] = {"emails": len(self.backend.email_ids())}
        _flatten(shown, "service", flat)
        return flat

    # handlers: one per route, each a thin call into the backend

    def auth_time(self, call: Call) -> Reply:
        return Reply(self.backend.api_time())

    def auth_credential(self, call: Call) -> Reply:
        return Reply(
            self.backend.request_credential(
                call.headers.get("x-ovh-application"), call.json(), validation_root=call.root
            )
        )

    def current_credential(self, call: Call) -> Reply:
        assert call.credential is not None
        return Reply(self.backend.current_credential(call.credential))

    def me(self, call: Call) -> Reply:
        return Reply(self.backend.account(call.credential))

    def email_history(self, call: Call) -> Reply:
        return Reply(self.backend.email_ids(_nichandle(call)))

    def email(self, call: Call, id: str) -> Reply:
        return Reply(self.backend.email(_service_id(id), _nichandle(call)))

    def services(self, call: Call) -> Reply:
        resource_name = call.query.get("resourceName")
        routes = [r for r in call.query.get("routes", "").split(",") if r]
        mode = call.headers.get("x-pagination-mode")
        if not mode:
            return Reply(self.backend.service_ids(resource_name=resource_name, routes=routes))
        if mode not in ("CachedObjectList-Pages", "CachedObjectList-Cursor"):
            raise errors.bad_request(
                f"Invalid X-Pagination-Mode {mode!r}: expected CachedObjectList-Pages or "
                "CachedObjectList-Cursor"
            )
        size = _header_int(call, "x-pagination-size", DEFAULT_PAGE_SIZE)
        number = _header_int(call, "x-pagination-number", 1)
        offset = None
        if mode == "CachedObjectList-Cursor":
            cursor = call.headers.get("x-pagination-cursor")
            offset = 0
            if cursor:
                if not cursor.isdigit():
                    raise errors.bad_request("Invalid X-Pagination-Cursor")
                offset = int(cursor)
        order = call.headers.get("x-pagination-sort-order", "ASC").upper()
        if order not in ("ASC", "DESC"):
            raise errors.bad_request("Invalid X-Pagination-Sort-Order: expected ASC or DESC")
        page = self.backend.services_page(
            size=size,
            number=number,
            offset=offset,
            resource_name=resource_name,
            routes=routes,
            filters=_filters(call.headers.get("x-pagination-filter", "")),
            sort=call.headers.get("x-pagination-sort") or None,
            descending=order == "DESC",
            # OVH serves Iceberg lists from a cache; the panel sends this to read fresh
            # (``ng-ovh-api-wrappers``, ``iceberg/request-upgrader.service.js``).
            fresh="no-cache" in call.headers.get("pragma", "").lower(),
        )
        headers = {
            "X-Pagination-Mode": mode,
            "X-Pagination-Elements": str(page.total),
            "X-Pagination-Size": str(size),
        }
        if mode == "CachedObjectList-Pages":
            headers["X-Pagination-Number"] = str(number)
        elif page.next_cursor is not None:
            headers["X-Pagination-Cursor-Next"] = page.next_cursor
        return Reply(page.items, headers=headers)

    def service(self, call: Call, id: str) -> Reply:
        return Reply(self.backend.service(_service_id(id)))

    def update_service(self, call: Call, id: str) -> Reply:
        self.backend.update_service(_service_id(id), call.json())
        return Reply(None)

    def options(self, call: Call, id: str) -> Reply:
        return Reply(self.backend.service_options(_service_id(id)))

    def periods(self, call: Call, id: str) -> Reply:
        return Reply(self.backend.renew_period_capacities(_service_id(id)))

    def engagement(self, call: Call, id: str) -> Reply:
        return Reply(self.backend.engagement(_service_id(id)))

    def end_rule(self, call: Call, id: str) -> Reply:
        self.backend.update_end_rule(_service_id(id), call.json())
        return Reply(None)

    def terminate(self, call: Call, id: str) -> Reply:
        return Reply({"message": self.backend.request_termination(_service_id(id))})

    def confirm(self, call: Call, id: str) -> Reply:
        return Reply({"message": self.backend.confirm_termination(_service_id(id), call.json())})

    def legacy_list(self, call: Call, route: str) -> Reply:
        return Reply(self.backend.legacy_names(route))

    def legacy_infos(self, call: Call, route: str, **names: str) -> Reply:
        name, organization = _legacy_name(names)
        return Reply(self.backend.service_infos(route, name, organization))

    def legacy_update_infos(self, call: Call, route: str, **names: str) -> Reply:
        name, organization = _legacy_name(names)
        self.backend.update_service_infos(route, name, call.json(), organization)
        return Reply(None)

    def legacy_terminate(self, call: Call, route: str, **names: str) -> Reply:
        name, organization = _legacy_name(names)
        service_id = self.backend.legacy_service_id(route, name, organization)
        return Reply(self.backend.request_termination(service_id))

    def legacy_confirm(self, call: Call, route: str, **names: str) -> Reply:
        name, organization = _legacy_name(names)
        service_id = self.backend.legacy_service_id(route, name, organization)
        return Reply(self.backend.confirm_termination(service_id, call.json()))


def create_app(
    backend: Backend, *, faults: FaultInjector | None = None, calls: CallLog | None = None
) -> SandboxApp:
    """The ASGI app over a backend (see ``reconciler.sandbox`` for the ways to get one)."""
    return SandboxApp(backend, faults=faults, calls=calls)


# --- helpers of the API side -------------------------------------------------------


def _nichandle(call: Call) -> str | None:
    """The account a signed call is made as (whose e-mails it reads)."""
    return call.credential.nichandle if call.credential is not None else None


def _legacy_name(names: dict[str, str]) -> tuple[str, str | None]:
    values = list(names.values())
    if len(values) == 2:  # Exchange: organisation, then service
        return values[1], values[0]
    return values[0], None


def _root(scope: Scope, request: Request) -> str:
    host = request.headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


def _signed_request(scope: Scope, call: Call) -> SignedRequest:
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    url = call.root + path + (f"?{query}" if query else "")
    return SignedRequest(
        method=call.method,
        url=url,
        path=call.path,
        body=call.raw_body,
        application_key=call.headers.get("x-ovh-application"),
        consumer_key=call.headers.get("x-ovh-consumer"),
        timestamp=call.headers.get("x-ovh-timestamp"),
        signature=call.headers.get("x-ovh-signature"),
    )


def _header_int(call: Call, name: str, default: int) -> int:
    raw = call.headers.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit():
        raise errors.bad_request(f"Invalid {name}: expected a positive integer")
    return int(raw)


def _filters(raw: str) -> list[tuple[str, str, str]]:
    """``X-Pagination-Filter: key:op=value&key2:op=value`` (values URL-encoded)."""
    found = []
    for part in filter(None, raw.split("&")):
        key, _, rest = part.partition(":")
        op, equal, value = rest.partition("=")
        if not key or not equal or op not in FILTER_OPS:
            raise errors.bad_request(
                f"Invalid X-Pagination-Filter {part!r}: expected key:op=value with op one of "
                f"{', '.join(FILTER_OPS)}"
            )
        found.append((key, op, unquote(value)))
    return found


def _query_id() -> str:
    """An ``X-Ovh-Queryid`` shaped like OVH's (``EU.ext-2.64415cf2.40437.<uuid>``)."""
    return f"SANDBOX.ext-1.{_BOOT}.{os.getpid()}.{uuid.uuid4()}"


def _flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}", into)
    else:
        into[prefix] = value


def _differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{dotted field: [before, after]}`` of every field that differs."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    }


def _error_reply(error: errors.ApiError) -> Reply:
    return Reply(error.body(), status=error.status, headers=dict(error.headers))


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
