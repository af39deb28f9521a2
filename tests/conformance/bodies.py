"""Request bodies generated from an operation's body type: one valid body, and the
invalid ones OVH's schema refuses — each differing from the valid one in one way.

``valid_body(schemas, op, hints)`` holds the required fields (a value of each one's
type) plus the ``hints``: ``{dotted field: value}`` for values the schema cannot know
(a real token, a period the service offers). ``invalid_bodies(schemas, op, valid)``
derives, from that body, for every field the body type has (nested models included):

- ``unknown``: an extra field the model does not name (at every object level);
- ``type``: a value of another JSON type (a number for a string, text for a long...);
- ``format``: text that is not a date, a datetime or a duration, where one is wanted;
- ``enum``: a value outside the enum;
- ``null``: ``null`` in a required field that cannot be null (elsewhere, in a request,
  ``null`` means "not given");
- ``missing``: a required field left out;
- and, for an operation that takes no body, any body object with a field.

Each ``BodyCase`` says what it breaks, so a test id reads ``renew.mode: enum``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.model import (
    Check,
    Direction,
    EnumCheck,
    ListCheck,
    MapCheck,
    ModelCheck,
    NotNull,
    Property,
    ScalarCheck,
)
from conformance.operations import NO_BODY, ApiSchemas, Operation

UNKNOWN_FIELD = "conformanceUnknownField"

_SAMPLES: dict[str, Any] = {
    "string": "conformance",
    "text": "conformance",
    "password": "conformance-secret",
    "phoneNumber": "+33.123456789",
    "long": 1,
    "double": 1.5,
    "boolean": True,
    "date": "2026-03-02",
    "datetime": "2026-03-02T10:00:00+01:00",
    "duration": "P1M",
    "uuid": "0b5e6e1c-3f0c-4a8e-9d43-0b4c2a9f1e11",
    "ip": "192.0.2.1",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "ipBlock": "192.0.2.0/24",
    "ipv4Block": "192.0.2.0/24",
    "ipv6Block": "2001:db8::/64",
}
_WRONG_TYPE: dict[str, Any] = {
    "long": "one",
    "double": "one and a half",
    "boolean": "yes",
}
_BAD_FORMAT = {
    "date": "2 March 2026",
    "datetime": "2026-03-02 10:00",
    "duration": "one month",
}


@dataclass(frozen=True, slots=True)
class BodyCase:
    name: str  # what it breaks: "renew.mode: enum", "(body): unknown"
    body: Any  # NO_BODY for no body at all

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class _Field:
    """A field of a body object: a model property, or a named body parameter."""

    name: str
    check: Check
    required: bool
    can_be_null: bool


def _fields(check: ModelCheck) -> list[_Field]:
    return [_field_of(p) for p in check.properties.values()]


def _field_of(prop: Property) -> _Field:
    return _Field(prop.name, prop.check, prop.required, prop.accepts_null(Direction.REQUEST))


def _inner(check: Check) -> Check:
    return check.inner if isinstance(check, NotNull) else check


def _body_shape(schemas: ApiSchemas, op: Operation) -> Check | list[_Field] | None:
    """The whole-body check, the list of named parameters, or None (no body)."""
    parameters = op.body_parameters
    judge = schemas.judge_for(op)
    whole = [p for p in parameters if p.name is None]
    if whole:
        return _inner(judge.compile(whole[0].type, Direction.REQUEST))
    if not parameters:
        return None
    return [
        _Field(
            str(p.name),
            _inner(judge.compile(p.type, Direction.REQUEST)),
            p.required,
            not p.required,
        )
        for p in parameters
    ]


def sample(check: Check) -> Any:
    """A valid value of a type (required fields only, for models)."""
    check = _inner(check)
    if isinstance(check, EnumCheck):
        return check.values[0]
    if isinstance(check, ScalarCheck):
        return _SAMPLES.get(check.name)
    if isinstance(check, ListCheck):
        return [sample(check.item)]
    if isinstance(check, MapCheck):
        return {"conformance": sample(check.value)}
    if isinstance(check, ModelCheck):
        return {f.name: sample(f.check) for f in _fields(check) if f.required}
    raise TypeError(f"no sample for {check!r}")


def _put(body: dict[str, Any], dotted: str, value: Any) -> None:
    head, _, rest = dotted.partition(".")
    if rest:
        inner = body.get(head)
        if not isinstance(inner, dict):
            inner = body[head] = {}
        _put(inner, rest, value)
    else:
        body[head] = value


def valid_body(schemas: ApiSchemas, op: Operation, hints: Mapping[str, Any] = {}) -> Any:
    """The required fields of ``op``'s body, then the ``hints``; ``NO_BODY`` when the
    operation takes none."""
    shape = _body_shape(schemas, op)
    if shape is None:
        return NO_BODY
    if isinstance(shape, list):
        body: Any = {f.name: sample(f.check) for f in shape if f.required}
    else:
        body = sample(shape)
    if "" in hints:
        return hints[""]
    for dotted, value in hints.items():
        _put(body, dotted, value)
    return body


def _replaced(body: Any, path: tuple[str, ...], value: Any, *, remove: bool = False) -> Any:
    """A deep copy of ``body`` with the field at ``path`` set (or removed)."""
    copy = dict(body)
    head = path[0]
    if len(path) == 1:
        if remove:
            copy.pop(head, None)
        else:
            copy[head] = value
        return copy
    inner = copy.get(head)
    copy[head] = _replaced(inner if isinstance(inner, dict) else {}, path[1:], value, remove=remove)
    return copy


def _wrong_type(check: Check) -> Any:
    check = _inner(check)
    if isinstance(check, ScalarCheck):
        return _WRONG_TYPE.get(check.name, 12345)
    if isinstance(check, EnumCheck):
        return 12345
    if isinstance(check, ListCheck):
        return "not a list"
    return "not an object"


def _field_cases(
    fields: list[_Field], body: dict[str, Any], path: tuple[str, ...]
) -> Iterator[BodyCase]:
    where = ".".join(path) or "(body)"
    yield BodyCase(f"{where}: unknown", _replaced_at(body, path, UNKNOWN_FIELD, 1))
    for f in fields:
        here = (*path, f.name)
        name = ".".join(here)
        inner = _inner(f.check)
        yield BodyCase(f"{name}: type", _set(body, here, _wrong_type(inner)))
        if isinstance(inner, ScalarCheck) and inner.name in _BAD_FORMAT:
            yield BodyCase(f"{name}: format", _set(body, here, _BAD_FORMAT[inner.name]))
        if isinstance(inner, EnumCheck):
            yield BodyCase(f"{name}: enum", _set(body, here, "notOneOfTheEnum"))
        if isinstance(inner, ListCheck) and isinstance(_inner(inner.item), EnumCheck):
            yield BodyCase(f"{name}[]: enum", _set(body, here, ["notOneOfTheEnum"]))
        elif isinstance(inner, ListCheck) and isinstance(_inner(inner.item), ScalarCheck):
            yield BodyCase(f"{name}[]: type", _set(body, here, [_wrong_type(inner.item)]))
        if not f.can_be_null:
            yield BodyCase(f"{name}: null", _set(body, here, None))
        if f.required:
            yield BodyCase(f"{name}: missing", _remove(body, here))
        if isinstance(inner, ModelCheck):
            current = _get(body, here)
            nested = current if isinstance(current, dict) else sample(inner)
            yield from _field_cases(_fields(inner), _set(body, here, nested), here)
        if isinstance(inner, ListCheck) and isinstance(_inner(inner.item), ModelCheck):
            item_check = _inner(inner.item)
            assert isinstance(item_check, ModelCheck)
            current = _get(body, here)
            item = current[0] if isinstance(current, list) and current else sample(item_check)
            for case in _field_cases(_fields(item_check), item, ()):
                inside = case.name.removeprefix("(body)")
                inside = inside if inside.startswith(":") else "." + inside
                yield BodyCase(f"{name}[]{inside}", _set(body, here, [case.body]))


def _get(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _set(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    return _replaced(body, path, value)  # type: ignore[no-any-return]


def _remove(body: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    return _replaced(body, path, None, remove=True)  # type: ignore[no-any-return]


def _replaced_at(body: dict[str, Any], path: tuple[str, ...], key: str, value: Any) -> Any:
    return _set(body, (*path, key), value)


def invalid_bodies(schemas: ApiSchemas, op: Operation, valid: Any) -> list[BodyCase]:
    """Bodies OVH's schema refuses for ``op``, each one change away from ``valid``."""
    shape = _body_shape(schemas, op)
    if shape is None:
        return [BodyCase("(no body expected): unknown", {UNKNOWN_FIELD: 1})]
    fields = shape if isinstance(shape, list) else None
    if fields is None:
        whole = _inner(shape)  # type: ignore[arg-type]
        if not isinstance(whole, ModelCheck):
            return [BodyCase("(body): type", _wrong_type(whole))]
        fields = _fields(whole)
    base = valid if isinstance(valid, dict) else {}
    cases = [BodyCase("(body): type", ["not", "an", "object"])]
    cases.extend(_field_cases(fields, base, ()))
    names: dict[str, int] = {}
    unique = []
    for case in cases:  # one case per name (a nested model reached twice)
        if case.name not in names:
            names[case.name] = 1
            unique.append(case)
    return unique
