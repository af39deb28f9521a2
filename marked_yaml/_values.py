"""The values a read gives: the data, the marks of its nodes, the problems found."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one file may cost to read."""

    max_depth: int = 32  # nested collections
    max_nodes: int = 500_000  # keys, values and items
    max_problems: int = 100  # each source of problems keeps one more: a cut is noticed


DEFAULT_LIMITS = Limits()


class Mark(NamedTuple):
    """A position in the text: 1-based line and column, counted in characters as editors
    show them."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class Kind(StrEnum):
    """What a node is. Scalars are resolved as the YAML 1.2 core schema says."""

    MAPPING = "mapping"
    SEQUENCE = "list"
    NULL = "null"
    BOOL = "boolean"
    INT = "integer"
    FLOAT = "number"
    STR = "string"
    REFUSED = "refused"  # an alias, or a scalar holding an invisible character


SCALAR_KINDS = frozenset({Kind.NULL, Kind.BOOL, Kind.INT, Kind.FLOAT, Kind.STR})


class Node(NamedTuple):
    """How one key or value is written in the file."""

    mark: Mark  # where it starts
    kind: Kind
    text: str | None = None  # a scalar's text: quotes removed, escapes decoded
    plain: bool = False  # a scalar without quotes or tag: its kind came from its text
    key: Node | None = None  # a mapping's value: the node of its key


class Code(StrEnum):
    """What kind of problem a reader's problem is (stable: callers may act on it)."""

    ENCODING = "encoding"  # not UTF-8, NUL bytes
    INVISIBLE = "invisible"  # a control, format or otherwise invisible character
    SYNTAX = "syntax"
    TAB = "tab"  # a tab in indentation
    ANCHOR = "anchor"
    ALIAS = "alias"
    TAG = "tag"
    DUPLICATE_KEY = "duplicate-key"
    DOCUMENTS = "documents"  # more than one document in the file
    DEPTH = "depth"  # nested deeper than Limits.max_depth
    NODES = "nodes"  # more than Limits.max_nodes nodes


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of the text, at its line and column, with the fix."""

    code: Code
    line: int
    column: int
    message: str
    fix: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Stands in the data for a node the reader refused and reported (an alias, a scalar
    holding an invisible character): the rest can still be checked, and a checker that
    meets one says nothing more about it."""

    mark: Mark
    code: Code


@dataclass(frozen=True, slots=True)
class CollectionKey:
    """Stands for a list or a mapping written as a mapping key (YAML allows it; plain data
    cannot hold it), so that the caller can refuse it in its own words."""

    mark: Mark
    kind: Kind


Key = str | Refused | CollectionKey
Path = tuple[Key | int, ...]  # mapping keys and list indexes from the root, as pydantic's loc


class Marks(Mapping[Path, Node]):
    """The node of every key and value, by its path from the root (``()``)."""

    __slots__ = ("_nodes",)

    def __init__(self, nodes: Mapping[Path, Node]) -> None:
        self._nodes = nodes

    def __getitem__(self, path: Path) -> Node:
        return self._nodes[path]

    def get(self, path: Path, default: Node | None = None) -> Node | None:  # type: ignore[override]
        return self._nodes.get(path, default)  # the mixin's goes through __getitem__: slower

    def __iter__(self) -> Iterator[Path]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def nearest(self, path: Path) -> tuple[Path, Node] | None:
        """The node at ``path``, or at its nearest ancestor in the file (a key that is not
        written is shown where the mapping that lacks it is), with its path."""
        for end in range(len(path), -1, -1):
            node = self._nodes.get(path[:end])
            if node is not None:
                return path[:end], node
        return None


NO_MARKS = Marks({})


@dataclass(frozen=True, slots=True)
class Document:
    """What reading one file gave."""

    data: Any  # dicts (keys: str, Refused or CollectionKey), lists and scalars; None if empty
    marks: Marks
    problems: tuple[Problem, ...]
    complete: bool  # False when reading stopped early: the data must not be checked
    events: int  # parser events consumed: the work done, so that tests can bound it
