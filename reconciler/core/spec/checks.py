"""How the spec's models check what a user wrote: the problem a rule raises, where the
values come from, and the words messages use.

A field of a spec model is declared with ``rule(check)``: ``check`` receives the value
as ``Seen`` (the value, and how the file writes it when it comes from a file) and
returns the typed value or raises ``Invalid`` with the message and the fix. Rules run
when a model is validated with a ``Source`` as pydantic's context: a spec file (read by
``reconciler.core.spec.file``) or values given directly (``check_values``: Pulumi
properties, an imported account). A model built by the code itself (the planner, a
plan file read back) is a typed value: only the field types are checked.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError, ValidationInfo, WrapValidator
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

from marked_yaml import SCALAR_KINDS, YAML11_BOOLEANS, Kind, Marks, Node, Path, shown

Model = TypeVar("Model", bound=BaseModel)
_new = tuple.__new__
E = TypeVar("E", bound=StrEnum)


class At(StrEnum):
    """Where a problem is shown in a file."""

    VALUE = "value"  # at the value written
    KEY = "key"  # at the key that names it (an empty value, a value out of place)


class Invalid(ValueError):
    """What a rule raises: the problem, its fix, where a file shows it. ``absent``: the
    problem is that the key is not written (not reported when a misspelt key was
    probably meant to be it)."""

    def __init__(
        self, message: str, fix: str | None = None, *, at: At = At.VALUE, absent: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.at = at
        self.absent = absent


class Source(NamedTuple):
    """Where the values being checked come from: a spec file (its marks, and the path of
    the mapping whose values these are), or values given directly (no marks).
    ``written``: the nodes of the mapping's keys by key, when the caller has them at hand
    (the marks then need no look-up by path for each field of each service). A named
    tuple: one is made for each service of a file."""

    marks: Marks | None = None
    path: Path = ()
    written: Mapping[str, Node] | None = None

    @property
    def in_file(self) -> bool:
        return self.marks is not None

    def node(self, key: str) -> Node | None:
        """How the file writes ``key`` of the mapping (None: not written)."""
        if self.written is not None:
            return self.written.get(key)
        return self.marks.get((*self.path, key)) if self.marks is not None else None


VALUES = Source()


class Seen(NamedTuple):
    """A value being checked, with how it was written (a named tuple: one is made for
    every value of a spec, 70,000 for a large one)."""

    field: str
    value: Any
    node: Node | None = None  # how the file writes it; None: given directly, or absent
    omitted: bool = False  # a file that does not write this field
    data: Mapping[str, Any] = MappingProxyType({})  # the fields checked before it

    @property
    def kind(self) -> Kind:
        return self.node.kind if self.node is not None else _kind_of(self.value)

    @property
    def plain(self) -> bool:
        """Written without quotes (a file's scalar): its kind came from its text."""
        return self.node is not None and self.node.plain

    @property
    def text(self) -> str:
        """A scalar as it reads in a message: as written, or as JSON writes a value."""
        if self.node is not None and self.node.text is not None:
            return self.node.text
        value = self.value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return "" if value is None else str(value)

    @property
    def integer(self) -> int | None:
        """The whole number it is, if it is one that can be held (not 4,301 digits)."""
        if self.kind is not Kind.INT or isinstance(self.value, str | bool):
            return None
        return int(self.value)

    def describe(self) -> str:
        """What it is, in a user's words: "a list", "the string 'yes'", "the number 2"."""
        return describe(self.kind, self.text, plain=self.plain)


def _kind_of(value: Any) -> Kind:
    """The kind of a value given directly. Whole floats are integers: Pulumi hands every
    number back as a float (gRPC carries JSON numbers as doubles)."""
    if value is None:
        return Kind.NULL
    if isinstance(value, bool):
        return Kind.BOOL
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return Kind.INT
    if isinstance(value, float):
        return Kind.FLOAT
    if isinstance(value, Mapping):
        return Kind.MAPPING
    if isinstance(value, list | tuple):
        return Kind.SEQUENCE
    return Kind.STR


def describe(kind: Kind, text: str = "", *, plain: bool = False) -> str:
    if kind is Kind.MAPPING:
        return "a mapping"
    if kind is Kind.SEQUENCE:
        return "a list"
    if kind is Kind.REFUSED:
        return "a refused value"
    if kind is Kind.NULL:
        return "an empty value"
    if kind is Kind.STR:
        if plain and text in YAML11_BOOLEANS:
            return f"the YAML 1.1 boolean {text}"
        return f"the string {shown(text)}"
    if kind in (Kind.INT, Kind.FLOAT):
        return f"the number {shown(text)[1:-1]}"
    return f"the {kind.value} {shown(text)[1:-1]}"


def describe_node(node: Node) -> str:
    return describe(node.kind, node.text or "", plain=node.plain)


def rule(check: Callable[[Seen], Any]) -> WrapValidator:
    """A field's spec rule: run on what a ``Source`` gives (see the module docstring)."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        source = info.context
        if not isinstance(source, Source):
            return handler(value)  # a value built by the code: its type is checked
        name = info.field_name or ""
        # Source.node and Source.in_file, written out: this runs for every value of a file.
        written = source.written
        node = written.get(name) if written is not None else source.node(name)
        omitted = node is None and source.marks is not None
        # tuple's constructor, not the named tuple's (a Python function), likewise.
        seen = _new(Seen, (name, value, node, omitted, info.data))
        return handler(check(seen))

    return WrapValidator(validate)


# --- values given directly ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """A problem of values given directly, on the field it is about."""

    field: str  # "lifecycle", "period"...; "key" for a service's key
    message: str
    fix: str | None = None

    def __str__(self) -> str:
        return self.message + (f" — {self.fix}" if self.fix else "")


class InvalidValues(ValueError):
    """Values given directly that a spec could not hold: every problem, by field."""

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


def check_values(model: type[Model], values: Mapping[str, Any]) -> Model:
    """``model`` built from ``values`` with every rule a spec file's entry meets (Pulumi
    properties, an imported service): the same messages and fixes as ``reconciler
    validate``. A value None is a value not given, as Pulumi means it. Raises
    ``InvalidValues``."""
    given = {name: value for name, value in values.items() if value is not None}
    try:
        return model.model_validate(given, context=VALUES)
    except ValidationError as error:
        raise InvalidValues(
            FieldProblem(".".join(map(str, loc)) or "value", problem.message, problem.fix)
            for loc, problem in problems_of(error)
        ) from None


def problems_of(error: ValidationError) -> list[tuple[tuple[str | int, ...], Invalid]]:
    """The problems of a validation, each with its ``loc``. A problem pydantic found
    itself (a field without a rule) is worded from pydantic's own message."""
    found: list[tuple[tuple[str | int, ...], Invalid]] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, Invalid):
            found.append((loc, cause))
        else:
            name = ".".join(map(str, loc)) or "value"
            found.append((loc, Invalid(f"`{name}`: {detail['msg']}".replace("\n", " "))))
    return found


# --- words --------------------------------------------------------------------------------


def listed(choices: Iterable[str], last: str = "and") -> str:
    """``a, b and c``."""
    items = list(choices)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` was most likely meant to be (a typo, another case), if any."""
    if len(word) > 100:
        return None
    by_lower = {choice.lower(): choice for choice in choices}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[found[0]] if found else None


_NULL = Kind.NULL  # bound once: a look-up of ~0.2 us on Python 3.11, here once per value


def word(seen: Seen, expected: str) -> str:
    """The text of a field that holds a word: any scalar but an empty one."""
    kind = seen.kind
    if kind is _NULL:
        raise Invalid(f"`{seen.field}` is empty", f"write {expected}", at=At.KEY)
    if kind not in SCALAR_KINDS:
        raise Invalid(f"`{seen.field}` must be a value, not {seen.describe()}", f"write {expected}")
    return seen.text


def choice(seen: Seen, enum: type[E], what: str, *, suggest: bool = True) -> E:
    """One of the values of ``enum``, written exactly; ``what`` names it in messages
    ("renewal mode"); ``suggest`` adds "did you mean" for a near miss."""
    members: Mapping[str, E]
    members, expected = _choices(enum)
    text = word(seen, expected)
    member = members.get(text)
    if member is not None:
        return member
    close = closest(text, members) if suggest else None
    raise Invalid(
        f"unknown {what} {shown(text)}",
        (f"did you mean {close}? " if close else "") + f"expected {expected}",
    )


@functools.cache
def _choices(enum: type[E]) -> tuple[Mapping[str, E], str]:
    """The members of ``enum`` by value (a look-up: calling the enum costs more than the
    rest of a rule), and the words that list them."""
    members = MappingProxyType({member.value: member for member in enum})
    return members, listed(members, "or")
