"""Every exchange with the sandbox's API, judged by OVH's schemas.

``judge_exchange(schemas, exchange)`` (pure) says what is wrong with one request and its
answer, as ``Finding`` values:

- ``route``: the sandbox answered (2xx) a method and path OVH publishes no operation for;
- ``path``: it accepted a path variable of the wrong type (``/services/abc``);
- ``body``: it accepted a request body the operation's body type refuses;
- ``answer``: its answer is not of the operation's ``responseType`` (field names, types,
  nullability, enums, date vs datetime); Iceberg pages are lists of the item operation's
  objects (``GET /services`` pages hold ``GET /services/{serviceId}`` objects);
- ``error``: an error answer without OVH's shape (a JSON object with a ``message``).

Paths whose API the copy of the schemas does not hold (``/vps/...`` without
``vps.json``) are not judged. ``ConformanceChecked(app, schemas, report)`` is the ASGI
middleware that judges every ``/1.0`` exchange of a wrapped sandbox app and hands each
exchange, its findings and the seconds spent judging to ``report`` *before* the answer
leaves, so a test cannot finish before its findings are known. Attributes of the wrapped
app (``backend``, ``faults``, ``calls``) stay reachable through it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.model import SchemaError, Violation, shown
from conformance.operations import ApiSchemas, parse_body

API_PREFIX = "/1.0"


@dataclass(frozen=True, slots=True)
class Exchange:
    method: str
    path: str  # under /1.0, decoded, no query string
    request_headers: Mapping[str, str]  # lower-case names
    request_body: bytes
    status: int
    response_body: bytes


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # route | path | body | answer | error
    method: str
    path: str
    template: str | None  # the operation's template, when there is one
    status: int
    violations: tuple[Violation, ...]

    @property
    def operation(self) -> str:
        return f"{self.method} {self.template or self.path}"

    def __str__(self) -> str:
        where = f"{self.method} {self.path}"
        if self.template and self.template != self.path:
            where += f" ({self.template})"
        problems = "; ".join(str(v) for v in self.violations[:8])
        more = len(self.violations) - 8
        if more > 0:
            problems += f"; and {more} more"
        return f"{where} answered {self.status}: {self.kind}: {problems}"


def judge_exchange(schemas: ApiSchemas, exchange: Exchange) -> list[Finding]:
    """What OVH's schemas say is wrong with one exchange (empty: nothing, or not judged)."""
    method, path, status = exchange.method.upper(), exchange.path, exchange.status

    def finding(kind: str, template: str | None, violations: list[Violation]) -> Finding:
        return Finding(kind, method, path, template, status, tuple(violations))

    if schemas.covers(path) is None:
        return []
    try:
        answer = json.loads(exchange.response_body) if exchange.response_body.strip() else None
    except ValueError:
        return [finding("answer", None, [Violation("", "a JSON answer", "no JSON")])]
    if status >= 400:
        if isinstance(answer, dict) and isinstance(answer.get("message"), str):
            return []
        return [
            finding("error", None, [Violation("", "OVH's error {message, ...}", shown(answer))])
        ]
    match = schemas.match(method, path)
    if match is None:
        words = "an operation OVH publishes (OVH answers 404: no such route)"
        return [finding("route", None, [Violation("", words, f"{method} {path}")])]
    op = match.operation
    found: list[Finding] = []
    try:
        bad_path = schemas.path_violations(match)
        if bad_path:
            found.append(finding("path", op.template, bad_path))
        try:
            body = parse_body(exchange.request_body)
        except ValueError:
            found.append(finding("body", op.template, [Violation("", "a JSON body", "no JSON")]))
        else:
            bad_body = schemas.body_violations(op, body)
            if bad_body:
                found.append(finding("body", op.template, bad_body))
        if exchange.request_headers.get("x-pagination-mode"):
            bad_answer = schemas.iceberg_violations(op, answer)
        else:
            bad_answer = schemas.answer_violations(op, answer)
        if bad_answer:
            found.append(finding("answer", op.template, bad_answer))
    except SchemaError as error:  # fail closed: what cannot be judged is reported
        found.append(
            finding("answer", op.template, [Violation("", "a judgeable type", str(error))])
        )
    return found


Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class ConformanceChecked:
    """An ASGI app that judges every ``/1.0`` exchange of ``app`` (see the module
    docstring). The answer is held until judged (sandbox answers are small), then sent
    as the app sent it — a connection the app drops is still dropped."""

    def __init__(
        self,
        app: Any,
        schemas: ApiSchemas,
        report: Callable[[Exchange, list[Finding], float], None],
    ) -> None:
        self.app = app
        self.schemas = schemas
        self.report = report

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["app"], name)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope.get("type") != "http" or not (
            path == API_PREFIX or path.startswith(API_PREFIX + "/")
        ):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        request_body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": request_body, "more_body": False}
            return await receive()  # type: ignore[no-any-return]

        held: list[dict[str, Any]] = []
        try:
            await self.app(scope, replay, _Holder(held))
        except BaseException:
            for message in held:
                await send(message)
            raise
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        if start is not None:
            started = time.perf_counter()
            exchange = Exchange(
                method=str(scope.get("method", "GET")),
                path=path[len(API_PREFIX) :] or "/",
                request_headers={
                    k.decode("latin-1").lower(): v.decode("latin-1")
                    for k, v in scope.get("headers", [])
                },
                request_body=request_body,
                status=int(start["status"]),
                response_body=b"".join(
                    m.get("body", b"") for m in held if m["type"] == "http.response.body"
                ),
            )
            findings = judge_exchange(self.schemas, exchange)
            self.report(exchange, findings, time.perf_counter() - started)
        for message in held:
            await send(message)


class _Holder:
    """The ``send`` given to the wrapped app: keeps its messages until judged."""

    def __init__(self, into: list[dict[str, Any]]) -> None:
        self.into = into

    async def __call__(self, message: dict[str, Any]) -> None:
        self.into.append(message)
