"""OVH's published operations: loaded from the schema files, matched to concrete paths,
and judged (answers, bodies, path parameters) with ``model.Judge``.

A schema file (``eu-services.json``: region ``eu``, API ``/services``) lists ``apis[]``,
each a ``path`` template with ``operations[]``: ``httpMethod``, ``parameters[]``
(``paramType`` ``path`` / ``query`` / ``body``, ``dataType`` / ``fullType``,
``required``; a body parameter without a ``name`` is the whole body, named ones are the
fields of a body object), ``responseType``, ``iamActions[]``, ``noAuthentication``.

``load_regions(folder)`` groups the files by region (the file name's prefix) into
``ApiSchemas``: ``match(method, path)`` finds the operation of a concrete path (a
literal segment wins over a variable: ``/services/{serviceId}/terminate/confirm``, not
``/services/{serviceId}/...``), ``covers(path)`` says whether the copy holds the API of
a path at all (``/vps/...`` is not judged when ``vps.json`` is absent), and
``answer_violations`` / ``body_violations`` judge values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from conformance.model import Check, Direction, Judge, SchemaError, Violation, parse_type, shown

_VARIABLE = re.compile(r"\{[^/{}]+\}")


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str | None  # None: the whole body
    location: str  # path | query | body | header
    type: str
    required: bool


@dataclass(frozen=True, slots=True)
class IamAction:
    name: str
    required: bool


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    template: str  # /services/{serviceId}/terminate/confirm
    api: str  # the file's resourcePath: /services
    region: str  # eu | ca | us
    source: str  # the file name
    response_type: str
    parameters: tuple[Parameter, ...]
    iam_actions: tuple[IamAction, ...]
    no_authentication: bool
    status: str  # apiStatus.value: PRODUCTION, BETA, DEPRECATED...

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def body_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "body")

    @property
    def path_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "path")


@dataclass(frozen=True, slots=True)
class RouteMatch:
    operation: Operation
    variables: tuple[tuple[str, str], ...]  # (template variable, concrete segment)


class _NoBody:
    """The request had no body at all (not even ``null``)."""

    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


def parse_body(raw: bytes) -> Any:
    """A request body as JSON, ``NO_BODY`` when empty; ``ValueError`` when not JSON."""
    if not raw.strip():
        return NO_BODY
    return json.loads(raw)


def template_shape(template: str) -> str:
    """A template with its variables unnamed: ``/services/{}/terminate`` — two templates
    of the same shape name the same route, whatever their variables are called."""
    return _VARIABLE.sub("{}", template)


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


@dataclass(frozen=True, slots=True)
class SchemaFile:
    name: str  # eu-services.json
    region: str
    api: str  # resourcePath
    document: Mapping[str, Any] = field(repr=False)

    @property
    def models(self) -> Mapping[str, Any]:
        models = self.document.get("models")
        return models if isinstance(models, Mapping) else {}


def read_schema_file(path: Path) -> SchemaFile:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("apis"), list):
        raise SchemaError(f"{path.name}: not an OVH API description (no apis[])")
    region = path.name.split("-", 1)[0] if "-" in path.name else "eu"
    api = str(document.get("resourcePath") or "")
    if not api.startswith("/"):
        raise SchemaError(f"{path.name}: no resourcePath")
    return SchemaFile(name=path.name, region=region, api=api, document=document)


def _operations_of(schema: SchemaFile) -> list[Operation]:
    found = []
    for entry in schema.document["apis"]:
        template = str(entry["path"])
        for raw in entry.get("operations") or ():
            parameters = tuple(
                Parameter(
                    name=p.get("name"),
                    location=str(p["paramType"]),
                    type=str(p.get("fullType") or p["dataType"]),
                    required=bool(p.get("required", False)),
                )
                for p in raw.get("parameters") or ()
            )
            found.append(
                Operation(
                    method=str(raw["httpMethod"]).upper(),
                    template=template,
                    api=schema.api,
                    region=schema.region,
                    source=schema.name,
                    response_type=str(raw.get("responseType") or "void"),
                    parameters=parameters,
                    iam_actions=tuple(
                        IamAction(str(a["name"]), bool(a.get("required", True)))
                        for a in raw.get("iamActions") or ()
                    ),
                    no_authentication=bool(raw.get("noAuthentication", False)),
                    status=str((raw.get("apiStatus") or {}).get("value", "")),
                )
            )
    return found


class ApiSchemas:
    """The operations and models of one region's schema files."""

    def __init__(self, region: str, files: Sequence[SchemaFile]) -> None:
        self.region = region
        self.files = tuple(files)
        self.operations: tuple[Operation, ...] = tuple(
            op for schema in self.files for op in _operations_of(schema)
        )
        self._by_shape: dict[tuple[str, int], list[tuple[list[str], Operation]]] = {}
        for op in self.operations:
            segments = _segments(op.template)
            self._by_shape.setdefault((op.method, len(segments)), []).append((segments, op))
        self._judges: dict[str, Judge] = {}
        self._checks: dict[tuple[str, str, Direction], Check] = {}
        self._matches: dict[tuple[str, str], RouteMatch | None] = {}  # paths recur a lot
        self._items: dict[str, Operation | None] = {}

    @cached_property
    def apis(self) -> tuple[str, ...]:
        return tuple(sorted({schema.api for schema in self.files}, key=len, reverse=True))

    def covers(self, path: str) -> str | None:
        """The API (``resourcePath``) of the copy that describes ``path``, or None."""
        for api in self.apis:
            if path == api or path.startswith(api.rstrip("/") + "/"):
                return api
        return None

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The operation ``method path`` calls, literal segments preferred over variables
        from the left; None when OVH publishes no such operation."""
        key = (method.upper(), path)
        if key not in self._matches:
            if len(self._matches) > 10_000:
                self._matches.clear()
            self._matches[key] = self._match(*key)
        return self._matches[key]

    def _match(self, method: str, path: str) -> RouteMatch | None:
        segments = _segments(path)
        best: tuple[tuple[int, ...], RouteMatch] | None = None
        for template, op in self._by_shape.get((method, len(segments)), ()):
            variables = []
            rank = []
            for pattern, segment in zip(template, segments, strict=True):
                if pattern.startswith("{") and pattern.endswith("}"):
                    if not segment:
                        break
                    variables.append((pattern[1:-1], segment))
                    rank.append(1)
                elif pattern == segment:
                    rank.append(0)
                else:
                    break
            else:
                candidate = (tuple(rank), RouteMatch(op, tuple(variables)))
                if best is None or candidate[0] < best[0]:
                    best = candidate
        return None if best is None else best[1]

    def find(self, method: str, template: str) -> Operation | None:
        """The operation of a route given as a template (variable names aside)."""
        shape = template_shape(template)
        for op in self.operations:
            if op.method == method.upper() and template_shape(op.template) == shape:
                return op
        return None

    # --- judging ---------------------------------------------------------------------

    def judge_for(self, op: Operation) -> Judge:
        """The judge of an operation: its own file's models first, then the region's."""
        judge = self._judges.get(op.source)
        if judge is None:
            own = [f.models for f in self.files if f.name == op.source]
            others = [f.models for f in self.files if f.name != op.source]
            judge = self._judges[op.source] = Judge([*own, *others])
        return judge

    def _check(self, op: Operation, type_text: str, direction: Direction) -> Check:
        key = (op.source, type_text, direction)
        check = self._checks.get(key)
        if check is None:
            check = self._checks[key] = self.judge_for(op).compile(type_text, direction)
        return check

    def answer_violations(self, op: Operation, value: Any) -> list[Violation]:
        """What is wrong with ``value`` as the answer of ``op`` (its ``responseType``)."""
        return self._check(op, op.response_type, Direction.ANSWER).violations(value)

    def iceberg_item_operation(self, op: Operation) -> Operation | None:
        """The operation whose answers an Iceberg page of ``op`` lists: ``GET /services``
        (ids) pages hold ``GET /services/{serviceId}`` objects. Iceberg is not in the
        published schemas (it is read from the control panel's code); this is the one
        inference the judge makes, and only for a list of ids."""
        if op.key not in self._items:
            self._items[op.key] = self._item_operation(op)
        return self._items[op.key]

    def _item_operation(self, op: Operation) -> Operation | None:
        if op.method != "GET" or not op.response_type.endswith("[]"):
            return None
        for candidate in self.operations:
            if candidate.method != "GET":
                continue
            rest = candidate.template[len(op.template) :]
            if candidate.template.startswith(op.template + "/") and _VARIABLE.fullmatch(rest[1:]):
                return candidate
        return None

    def iceberg_violations(self, op: Operation, value: Any) -> list[Violation]:
        """An Iceberg page of ``op``: a list of the objects its item operation answers."""
        item = self.iceberg_item_operation(op)
        if item is None:
            return [Violation("", f"no Iceberg pages ({op.key} lists no objects)", "a page")]
        check = self._check(item, f"{item.response_type}[]", Direction.ANSWER)
        return check.violations(value)

    def body_violations(self, op: Operation, body: Any) -> list[Violation]:
        """What is wrong with a request body (``NO_BODY`` when none was sent) for ``op``."""
        parameters = op.body_parameters
        whole = [p for p in parameters if p.name is None]
        if whole:
            parameter = whole[0]
            if body is NO_BODY or body is None:
                if parameter.required:
                    expected = self._check(op, parameter.type, Direction.REQUEST).expected
                    return [Violation("", f"{expected} (a required body)", "no body")]
                return []
            return self._check(op, parameter.type, Direction.REQUEST).violations(body)
        if body is NO_BODY or body is None:
            body = {}
        if not isinstance(body, dict):
            expected = "an object of parameters" if parameters else "no body"
            return [Violation("", expected, shown(body))]
        named = {p.name: p for p in parameters if p.name is not None}
        out: list[Violation] = []
        for key in body:
            if key not in named:
                expected = (
                    f"no such parameter (the operation takes {', '.join(sorted(named))})"
                    if named
                    else "no such parameter (the operation takes no body)"
                )
                out.append(Violation(key, expected, "one"))
        for name, parameter in named.items():
            if name not in body or body[name] is None:
                if parameter.required:
                    expected = self._check(op, parameter.type, Direction.REQUEST).expected
                    found = "no such field" if name not in body else "null"
                    out.append(Violation(name, f"{expected} (a required parameter)", found))
                continue
            check = self._check(op, parameter.type, Direction.REQUEST)
            for violation in check.violations(body[name]):
                where = f"{name}{'.' if violation.where and violation.where[0] != '[' else ''}"
                out.append(Violation(where + violation.where, violation.expected, violation.found))
        return out

    def path_violations(self, match: RouteMatch) -> list[Violation]:
        """The concrete path's variables against the types of the path parameters."""
        types = {p.name: p.type for p in match.operation.path_parameters}
        judge = self.judge_for(match.operation)
        out: list[Violation] = []
        for name, text in match.variables:
            type_text = types.get(name)
            if type_text is not None:
                out.extend(judge.text_violations(type_text, text, f"{{{name}}}"))
        return out

    def compile_all(self) -> list[tuple[Operation, SchemaError]]:
        """Compile every operation's types; the operations the translator cannot judge
        (for the unit tests: the translator must understand OVH's whole language)."""
        failures = []
        for op in self.operations:
            try:
                parse_type(op.response_type)
                self._check(op, op.response_type, Direction.ANSWER)
                for parameter in op.parameters:
                    if parameter.location == "body":
                        self._check(op, parameter.type, Direction.REQUEST)
                    else:
                        parse_type(parameter.type)
            except SchemaError as error:
                failures.append((op, error))
        return failures


def load_regions(folder: Path) -> dict[str, ApiSchemas]:
    """Every ``*.json`` schema file of ``folder``, grouped by region (file name prefix)."""
    by_region: dict[str, list[SchemaFile]] = {}
    for path in sorted(folder.glob("*.json")):
        schema = read_schema_file(path)
        by_region.setdefault(schema.region, []).append(schema)
    return {region: ApiSchemas(region, files) for region, files in by_region.items()}
