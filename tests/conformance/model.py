"""OVH's model language, translated to checks: the validator the conformance tests judge
with (``docs/conformance.md``).

A schema file's ``models{}`` names each type by its full name
(``services.expanded.Service``) and gives either ``properties{}`` (each with ``type`` /
``fullType``, ``canBeNull``, ``readOnly``, ``required``) or ``enum[]`` (with its
``enumType``). Type expressions are:

- scalars: ``string``, ``text``, ``password``, ``phoneNumber`` (strings), ``long``,
  ``double``, ``boolean``, ``date`` (``YYYY-MM-DD``), ``datetime`` (ISO 8601 with an
  offset), ``duration`` (ISO 8601, ``P1M``), ``uuid``, ``ip`` / ``ipv4`` / ``ipv6``,
  ``ipBlock`` / ``ipv4Block`` / ``ipv6Block``, and ``void`` (no value);
- ``T[]`` (a list; ``[]T`` inside map types), ``map[K]V`` (an object of ``V`` values);
- ``Name<A>``, an instance of a generic model (``complexType.UnitAndValue<double>``:
  the model ``complexType.UnitAndValue<T>`` with ``T`` bound to ``double``);
- ``Alias:base`` (``coreTypes.AccountId:string``): checked as its base;
- any other name: a model, looked up in the operation's own file first, then in the
  other files of the same region (a type may be defined in another file).

``Judge(models).compile(type_text, Direction.ANSWER)`` translates a type once into a
``Check`` (cached, so a judge compiles each type once per session); ``check.run(value,
where, out)`` appends one ``Violation`` per problem. The two directions differ in one
rule: in an **answer** every field that cannot be null must be there; in a **request**
only the fields marked ``required`` must, and ``null`` in a field that is not required
means "not given". In both, a field the model does not name is a violation, and so is
any other ``null`` where ``canBeNull`` is false. A type the
translator does not know is a ``SchemaError``: it fails closed, never passes.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any


class SchemaError(Exception):
    """A type the translator cannot judge (unknown name, malformed expression)."""


class Direction(Enum):
    ANSWER = "answer"  # what the API sends: every non-nullable field present
    REQUEST = "request"  # what a client sends: the `required` fields present


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a value differs from its type: where (a field path such as
    ``billing.renew.current.period`` or ``[2].serviceId``; empty for the value itself),
    what the schema expects there, and what was found."""

    where: str
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.where or 'the value'}: expected {self.expected}, got {self.found}"

    @property
    def field(self) -> str:
        """``where`` with list positions dropped (``[].billing.plan``): the same problem
        on every item of a list is one problem."""
        return re.sub(r"\[\d+\]", "[]", self.where)


# --- type expressions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scalar:
    name: str


@dataclass(frozen=True, slots=True)
class ListOf:
    item: TypeExpr


@dataclass(frozen=True, slots=True)
class MapOf:
    key: TypeExpr
    value: TypeExpr


@dataclass(frozen=True, slots=True)
class Named:
    """A model (or a generic parameter such as ``T``), with its type arguments."""

    name: str
    arguments: tuple[TypeExpr, ...] = ()


TypeExpr = Scalar | ListOf | MapOf | Named

_IDENTIFIER = re.compile(r"[A-Za-z_][\w.]*")


def parse_type(text: str) -> TypeExpr:
    """The expression of an OVH type string; ``SchemaError`` when it is not one."""
    text = text.strip()
    alias = _top_level_index(text, ":")
    if alias >= 0:  # coreTypes.AccountId:string -> string
        return parse_type(text[alias + 1 :])
    if text.endswith("[]"):
        return ListOf(parse_type(text[:-2]))
    if text.startswith("[]"):
        return ListOf(parse_type(text[2:]))
    if text.startswith("map["):
        close = _closing(text, 3, "[", "]")
        return MapOf(parse_type(text[4:close]), parse_type(text[close + 1 :]))
    if text.endswith(">") and "<" in text:
        opening = text.index("<")
        name = text[:opening]
        if not _IDENTIFIER.fullmatch(name):
            raise SchemaError(f"malformed type {text!r}")
        inner = text[opening + 1 : -1]
        return Named(name, tuple(parse_type(part) for part in _split_top_level(inner)))
    if not _IDENTIFIER.fullmatch(text):
        raise SchemaError(f"malformed type {text!r}")
    return Scalar(text) if text in SCALARS else Named(text)


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == opening:
            depth += 1
        elif text[index] == closing:
            depth -= 1
            if depth == 0:
                return index
    raise SchemaError(f"malformed type {text!r}: unbalanced {opening}{closing}")


def _top_level_index(text: str, wanted: str) -> int:
    depth = 0
    for index, char in enumerate(text):
        if char in "<[":
            depth += 1
        elif char in ">]":
            depth -= 1
        elif char == wanted and depth == 0:
            return index
    return -1


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "<[":
            depth += 1
        elif char in ">]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


# --- scalars ----------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_DURATION = re.compile(
    r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_long(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_double(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_duration(value: Any) -> bool:
    return isinstance(value, str) and _DURATION.fullmatch(value) is not None


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        return False
    uuid.UUID(value)
    return True


def _address(version: int | None) -> Callable[[Any], bool]:
    return _ip(ipaddress.ip_address, version)


def _block(version: int | None) -> Callable[[Any], bool]:
    # strict=False: a block written with its host bits set (10.0.0.1/24) is still one.
    return _ip(lambda text: ipaddress.ip_network(text, strict=False), version)


def _ip(parse: Callable[[str], Any], version: int | None) -> Callable[[Any], bool]:
    """A check that ``parse`` reads the value, of IP ``version`` when one is given."""

    def ok(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            found = parse(value)
        except ValueError:
            return False
        return version is None or found.version == version

    return ok


@dataclass(frozen=True, slots=True)
class ScalarKind:
    words: str  # what the schema expects, said to a reader
    accepts: Callable[[Any], bool]


SCALARS: dict[str, ScalarKind] = {
    "string": ScalarKind("a string", _is_text),
    "text": ScalarKind("a string (text)", _is_text),
    "password": ScalarKind("a string (password)", _is_text),
    "phoneNumber": ScalarKind("a string (phone number)", _is_text),
    "long": ScalarKind("an integer (long)", _is_long),
    "double": ScalarKind("a number (double)", _is_double),
    "boolean": ScalarKind("true or false (boolean)", _is_boolean),
    "date": ScalarKind("a date YYYY-MM-DD", _is_date),
    "datetime": ScalarKind("an ISO 8601 datetime with an offset", _is_datetime),
    "duration": ScalarKind("an ISO 8601 duration such as P1M", _is_duration),
    "uuid": ScalarKind("a UUID", _is_uuid),
    "ip": ScalarKind("an IP address", _address(None)),
    "ipv4": ScalarKind("an IPv4 address", _address(4)),
    "ipv6": ScalarKind("an IPv6 address", _address(6)),
    "ipBlock": ScalarKind("an IP block (CIDR)", _block(None)),
    "ipv4Block": ScalarKind("an IPv4 block (CIDR)", _block(4)),
    "ipv6Block": ScalarKind("an IPv6 block (CIDR)", _block(6)),
    "void": ScalarKind("no value (void)", lambda value: value is None),
}


def shown(value: Any) -> str:
    """A short rendering of a found value for a violation message."""
    if value is None:
        return "null"
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _at(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


# --- checks -----------------------------------------------------------------------------


class Check(ABC):
    """A compiled type: ``run`` appends a ``Violation`` for each problem of a value."""

    expected: str

    @abstractmethod
    def run(self, value: Any, where: str, out: list[Violation]) -> None: ...

    def violations(self, value: Any) -> list[Violation]:
        out: list[Violation] = []
        self.run(value, "", out)
        return out


class ScalarCheck(Check):
    def __init__(self, name: str) -> None:
        self.name = name
        self.kind = SCALARS[name]
        self.expected = self.kind.words

    def run(self, value: Any, where: str, out: list[Violation]) -> None:
        if not self.kind.accepts(value):
            out.append(Violation(where, self.expected, shown(value)))


class EnumCheck(Check):
    def __init__(self, name: str, base: ScalarCheck, values: Sequence[Any]) -> None:
        self.base = base
        self.values = tuple(values)
        self.expected = f"one of {name} ({', '.join(map(str, self.values))})"

    def run(self, value: Any, where: str, out: list[Violation]) -> None:
        if not self.base.kind.accepts(value) or value not in self.values:
            out.append(Violation(where, self.expected, shown(value)))


class ListCheck(Check):
    def __init__(self, item: Check) -> None:
        self.item = item
        self.expected = f"a list of {item.expected}"

    def run(self, value: Any, where: str, out: list[Violation]) -> None:
        if not isinstance(value, list):
            out.append(Violation(where, self.expected, shown(value)))
            return
        for index, item in enumerate(value):
            if item is None:
                out.append(Violation(_at(where, index), self.item.expected, "null"))
            else:
                self.item.run(item, _at(where, index), out)


class MapCheck(Check):
    def __init__(self, key: Check, value: Check) -> None:
        self.key = key
        self.value = value
        self.expected = f"an object of {value.expected}"

    def run(self, value: Any, where: str, out: list[Violation]) -> None:
        if not isinstance(value, dict):
            out.append(Violation(where, self.expected, shown(value)))
            return
        for key, item in value.items():
            if isinstance(self.key, ScalarCheck | EnumCheck):
                self.key.run(key, f"{_at(where, key)} (key)", out)
            if item is None:
                out.append(Violation(_at(where, key), self.value.expected, "null"))
            else:
                self.value.run(item, _at(where, key), out)


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    check: Check
    can_be_null: bool
    required: bool
    read_only: bool

    def accepts_null(self, direction: Direction) -> bool:
        """``null`` where ``canBeNull``; in a request also for a field that is not
        required: it then means "not given" (the official client sends
        ``"allowedIPs": null`` by default, and OVH takes it)."""
        return self.can_be_null or (direction is Direction.REQUEST and not self.required)


class ModelCheck(Check):
    """An object of a model: its own field names only, each of its type; which fields
    must be present depends on the direction (see the module docstring)."""

    def __init__(self, name: str, direction: Direction) -> None:
        self.name = name
        self.direction = direction
        self.expected = f"an object {name}"
        self.properties: dict[str, Property] = {}  # filled once compiled (types recurse)

    def run(self, value: Any, where: str, out: list[Violation]) -> None:
        if not isinstance(value, dict):
            out.append(Violation(where, self.expected, shown(value)))
            return
        for key in value:
            if key not in self.properties:
                out.append(Violation(_at(where, key), f"no such field (not in {self.name})", "one"))
        for prop in self.properties.values():
            if prop.name not in value:
                if self.direction is Direction.ANSWER and not prop.can_be_null:
                    out.append(
                        Violation(
                            _at(where, prop.name),
                            f"{prop.check.expected} (the field cannot be null)",
                            "no such field",
                        )
                    )
                elif self.direction is Direction.REQUEST and prop.required:
                    out.append(
                        Violation(
                            _at(where, prop.name),
                            f"{prop.check.expected} (a required field)",
                            "no such field",
                        )
                    )
                continue
            item = value[prop.name]
            if item is None:
                if not prop.accepts_null(self.direction):
                    out.append(
                        Violation(
                            _at(where, prop.name), f"{prop.check.expected} (not null)", "null"
                        )
                    )
                continue
            prop.check.run(item, _at(where, prop.name), out)


class NotNull(Check):
    """A top-level value (an answer, a body): null only where the type is ``void``."""

    def __init__(self, inner: Check) -> None:
        self.inner = inner
        self.expected = inner.expected

    def run(self, value: Any, where: str, out: list[Violation]) -> None:
        if value is None and not (
            isinstance(self.inner, ScalarCheck) and self.inner.kind is SCALARS["void"]
        ):
            out.append(Violation(where, self.expected, "null"))
            return
        self.inner.run(value, where, out)


# --- the judge ----------------------------------------------------------------------------


@dataclass
class Judge:
    """Compiles OVH types to checks against the models of one or more schema files, in
    the order given (an operation's own file first, then the rest of its region)."""

    models: Sequence[Mapping[str, Any]]
    _cache: dict[tuple[TypeExpr, Direction], Check] = field(default_factory=dict, repr=False)

    def compile(self, type_text: str, direction: Direction) -> Check:
        """The check of a type given as OVH writes it (``services.expanded.Service``,
        ``long[]``); ``SchemaError`` when it names something the files do not define."""
        return NotNull(self.compile_expr(parse_type(type_text), direction))

    def compile_expr(self, expr: TypeExpr, direction: Direction) -> Check:
        key = (expr, direction)
        found = self._cache.get(key)
        if found is not None:
            return found
        check: Check
        if isinstance(expr, Scalar):
            check = ScalarCheck(expr.name)
        elif isinstance(expr, ListOf):
            check = ListCheck(self.compile_expr(expr.item, direction))
        elif isinstance(expr, MapOf):
            check = MapCheck(
                self.compile_expr(expr.key, direction), self.compile_expr(expr.value, direction)
            )
        else:
            return self._compile_model(expr, direction)
        self._cache[key] = check
        return check

    def text_violations(self, type_text: str, text: str, where: str) -> list[Violation]:
        """A path or query parameter (always text on the wire) against its type: scalars
        and enums are checked, anything else is taken as given."""
        expr = parse_type(type_text)
        value: Any = text
        if isinstance(expr, Scalar):
            if expr.name == "long":
                value = int(text) if re.fullmatch(r"-?\d+", text) else text
            elif expr.name == "double":
                try:
                    value = float(text)
                except ValueError:
                    value = text
            elif expr.name == "boolean":
                value = {"true": True, "false": False}.get(text, text)
        elif not isinstance(expr, Named) or expr.arguments:
            return []
        check = self.compile_expr(expr, Direction.REQUEST)
        if isinstance(check, ModelCheck):
            return []
        out: list[Violation] = []
        check.run(value, where, out)
        return out

    def model(self, name: str) -> Mapping[str, Any]:
        for models in self.models:
            found = models.get(name)
            if isinstance(found, Mapping):
                return found
        raise SchemaError(f"type {name!r} is not defined in the schema files")

    def _generic(self, name: str, arity: int) -> tuple[str, Mapping[str, Any]]:
        candidates = []
        for models in self.models:
            for key, model in models.items():
                generics = model.get("generics") if isinstance(model, Mapping) else None
                if key.split("<", 1)[0] == name and generics and len(generics) == arity:
                    candidates.append((key, model))
        declared = [c for c in candidates if c[0] == f"{name}<{','.join(c[1]['generics'])}>"]
        if declared or candidates:
            return (declared or candidates)[0]
        raise SchemaError(f"generic type {name!r} with {arity} parameter(s) is not defined")

    def _compile_model(self, expr: Named, direction: Direction) -> Check:
        if expr.arguments:
            _, model = self._generic(expr.name, len(expr.arguments))
            bindings = dict(zip(model["generics"], expr.arguments, strict=True))
            shown_name = f"{expr.name}<{', '.join(_render(a) for a in expr.arguments)}>"
        else:
            model = self.model(expr.name)
            bindings = {}
            shown_name = expr.name
        key = (expr, direction)
        if "enum" in model:
            base_name = str(model.get("enumType") or "string")
            if base_name not in SCALARS:
                raise SchemaError(f"enum {expr.name!r} has an unknown base type {base_name!r}")
            check: Check = EnumCheck(shown_name, ScalarCheck(base_name), model["enum"])
            self._cache[key] = check
            return check
        properties = model.get("properties")
        if not isinstance(properties, Mapping):
            raise SchemaError(f"model {expr.name!r} has neither properties nor enum")
        compiled = ModelCheck(shown_name, direction)
        self._cache[key] = compiled  # before the properties: models may refer to themselves
        for name, spec in properties.items():
            type_text = spec.get("fullType") or spec.get("type")
            if not isinstance(type_text, str):
                raise SchemaError(f"{expr.name}.{name} has no type")
            prop_expr = _substitute(parse_type(type_text), bindings)
            compiled.properties[name] = Property(
                name=name,
                check=self.compile_expr(prop_expr, direction),
                can_be_null=bool(spec.get("canBeNull", False)),
                required=bool(spec.get("required", False)),
                read_only=bool(spec.get("readOnly", False)),
            )
        return compiled


def _substitute(expr: TypeExpr, bindings: Mapping[str, TypeExpr]) -> TypeExpr:
    if isinstance(expr, ListOf):
        return ListOf(_substitute(expr.item, bindings))
    if isinstance(expr, MapOf):
        return MapOf(_substitute(expr.key, bindings), _substitute(expr.value, bindings))
    if isinstance(expr, Named):
        if not expr.arguments and expr.name in bindings:
            return bindings[expr.name]
        return Named(expr.name, tuple(_substitute(a, bindings) for a in expr.arguments))
    if isinstance(expr, Scalar) and expr.name in bindings:
        return bindings[expr.name]
    return expr


def _render(expr: TypeExpr) -> str:
    if isinstance(expr, Scalar):
        return expr.name
    if isinstance(expr, ListOf):
        return f"{_render(expr.item)}[]"
    if isinstance(expr, MapOf):
        return f"map[{_render(expr.key)}]{_render(expr.value)}"
    if expr.arguments:
        return f"{expr.name}<{', '.join(_render(a) for a in expr.arguments)}>"
    return expr.name
