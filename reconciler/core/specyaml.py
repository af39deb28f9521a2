"""YAML read for the spec: bytes in, a small tree of positioned nodes out. Safely.

The spec loader needs what PyYAML's ``safe_load`` throws away or gets wrong: the line
and column of every key and value, duplicate keys (PyYAML silently keeps the last), and
a hard refusal of what a spec never needs but an attacker might use. So this module
reads the *event* stream (libyaml's ``CParser`` when available, the pure Python parser
otherwise) and builds its own tree iteratively, checking as it goes:

- the bytes: size is the caller's business (checked before anything is read); here,
  UTF-8 only (a UTF-8 byte order mark is allowed), no control, bidirectional-override or
  other invisible characters (each located by line and column);
- anchors and aliases are refused outright, never expanded: an alias is one event and
  stays one placeholder node, so a "billion laughs" document costs what its bytes cost;
- nesting deeper than ``Limits.max_depth`` and more than ``Limits.max_nodes`` nodes
  stop the read at once (libyaml's own nesting limit is 1000; ours is far lower);
- one document per file; duplicate keys at any level; tags other than the standard
  ones of the node's kind;
- syntax errors keep PyYAML's position, with a plainer wording and a fix (tabs in
  indentation get their own message, one per offending line).

Scalars are kept as text with a ``plain`` flag: the loader decides what a value means
(``resolve_scalar`` implements the YAML 1.2 core schema, and flags the YAML 1.1
booleans ``yes``/``no``/``on``/``off`` that 1.1 and 1.2 readers disagree on).

Positions are 1-based lines and columns counted in characters, as editors show them.
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

import yaml

from reconciler.errors import SpecProblem

# libyaml when PyYAML was built with it (10x faster); the pure Python parser otherwise.
# Only their parser half is used: events, never constructed objects.
FAST_PARSER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PURE_PARSER: type = yaml.SafeLoader

_SHOWN_MAX = 60  # characters of any value echoed back in a message


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one spec file may cost to read."""

    max_depth: int = 32  # nested collections; a spec needs 3
    max_nodes: int = 500_000  # about 70,000 services; a 10,000-service spec has ~60,000
    max_problems: int = 100  # problems reported for one file before giving up


DEFAULT_LIMITS = Limits()


# The tree's values are named tuples: as immutable as frozen dataclasses and three times
# cheaper to build, which counts at 60,000 nodes for a 10,000-service spec.


class Mark(NamedTuple):
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


class ScalarNode(NamedTuple):
    value: str
    mark: Mark
    plain: bool  # unquoted and untagged: its type is resolved from its text


class MappingNode(NamedTuple):
    pairs: tuple[tuple[Node, Node], ...]  # duplicate keys already removed (first kept)
    mark: Mark


class SequenceNode(NamedTuple):
    items: tuple[Node, ...]
    mark: Mark


class AliasNode(NamedTuple):
    """Where an alias stood: refused, never expanded; kept so validation can go on."""

    mark: Mark


Node = ScalarNode | MappingNode | SequenceNode | AliasNode


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """What reading one file gave."""

    root: Node | None  # None when the file holds no document at all
    problems: tuple[SpecProblem, ...]
    complete: bool  # False when reading stopped early: the tree must not be validated
    events: int  # parser events consumed: the work done, so tests can bound it


def read_yaml(
    data: bytes, filename: str, limits: Limits = DEFAULT_LIMITS, *, parser: type = FAST_PARSER
) -> YamlDocument:
    """Read ``data`` (the bytes of one file) into a positioned tree; never raises for
    bad input: every problem is in the result. ``parser`` is a PyYAML loader class
    (``FAST_PARSER`` or ``PURE_PARSER``; tests check that both give the same tree)."""
    text, problems = decode(data, filename, limits)
    if text is None:
        return YamlDocument(root=None, problems=tuple(problems), complete=False, events=0)
    problems = invisible_characters(text, filename, limits)
    if problems:
        return YamlDocument(root=None, problems=tuple(problems), complete=False, events=0)
    return _Builder(text, filename, limits, parser).build()


# --- bytes and characters ---------------------------------------------------------------


def decode(
    data: bytes, filename: str, limits: Limits = DEFAULT_LIMITS
) -> tuple[str | None, list[SpecProblem]]:
    """The text of ``data`` (UTF-8, an optional byte order mark dropped), or the problems
    that prevent reading it, located by line and column with the byte offset."""
    for other_bom, encoding in _OTHER_BOMS:
        if data.startswith(other_bom):
            return None, [
                SpecProblem(
                    filename, 1, 1, f"the file is {encoding} text", "save the spec as UTF-8"
                )
            ]
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    data = data[bom:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    # Undecodable bytes become lone surrogates, one per byte, so that the positions of
    # everything else stay right; each run of bad bytes is one problem.
    text = data.decode("utf-8", "surrogateescape")
    lines = LineIndex(text)
    problems: list[SpecProblem] = []
    byte_offset_of = _ByteOffsets(text)
    for match in _UNDECODED.finditer(text):
        if len(problems) > limits.max_problems:  # one more tells the caller: truncated
            break
        line, column = lines.position(match.start())
        raw = bytes(ord(char) - 0xDC00 for char in match.group()[:4])
        shown = " ".join(f"0x{byte:02X}" for byte in raw) + (" …" if len(match.group()) > 4 else "")
        offset = bom + byte_offset_of(match.start())
        problems.append(
            SpecProblem(
                filename,
                line,
                column,
                f"byte{'s' * (len(raw) > 1)} {shown} at byte offset {offset} "
                f"{'are' if len(raw) > 1 else 'is'} not valid UTF-8",
                "save the spec as UTF-8 (it looks like Latin-1 or Windows-1252 text)"
                if _looks_single_byte(raw)
                else "save the spec as UTF-8",
            )
        )
    return None, problems


_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_UNDECODED = re.compile("[\udc80-\udcff]+")


def _looks_single_byte(raw: bytes) -> bool:
    """A lone byte of the upper half, as Latin-1 and Windows-1252 write accented letters."""
    return len(raw) == 1 and raw[0] >= 0xA0


class _ByteOffsets:
    """Byte offset of a character index of surrogate-escaped text, computed lazily."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._index = 0
        self._offset = 0

    def __call__(self, index: int) -> int:
        # Called with increasing indexes: walk forward from the last one, linear overall.
        chunk = self._text[self._index : index]
        self._offset += len(chunk.encode("utf-8", "surrogateescape"))
        self._index = index
        return self._offset


# Characters no spec needs and that a reader of the file cannot see: C0 controls but
# tab, line feed and carriage return; DEL; C1 controls (NEL among them, a line break for
# YAML 1.1); bidirectional overrides and isolates ("Trojan Source"); line and paragraph
# separators; a byte order mark anywhere but at the start; the non-characters.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]"
)


def invisible_characters(
    text: str, filename: str, limits: Limits = DEFAULT_LIMITS
) -> list[SpecProblem]:
    """A problem for each invisible or control character in ``text``."""
    if "\x00" in text:
        line, column = LineIndex(text).position(text.index("\x00"))
        return [
            SpecProblem(
                filename,
                line,
                column,
                "the file holds NUL bytes: it is binary, or UTF-16 text",
                "save the spec as UTF-8 text",
            )
        ]
    problems: list[SpecProblem] = []
    lines: LineIndex | None = None
    for match in _INVISIBLE.finditer(text):
        if len(problems) > limits.max_problems:  # one more tells the caller: truncated
            break
        lines = lines or LineIndex(text)
        line, column = lines.position(match.start())
        char = match.group()
        problems.append(SpecProblem(filename, line, column, _invisible_message(char), "remove it"))
    return problems


_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _invisible_message(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if char == "\t":  # pragma: no cover - tabs are not in _INVISIBLE
        return "tab"
    if char in _BIDI_CONTROLS:
        return (
            f"invisible bidirectional control character {code}: it can make the text "
            "display differently from what it is"
        )
    if char in "\u2028\u2029":
        return f"invisible line separator {code} is not allowed in a spec"
    if char == "\ufeff":
        return f"byte order mark {code} in the middle of the file"
    if char in "\ufffe\uffff":
        return f"non-character {code} is not allowed in a spec"
    if "\ud800" <= char <= "\udfff":
        return f"lone surrogate {code} is not allowed in a spec"
    return f"control character {code} is not allowed in a spec"


class LineIndex:
    """Line and column (1-based, in characters) of an index into a text. Line breaks are
    those of YAML that a spec may hold: ``\\r\\n``, ``\\n`` and a lone ``\\r``."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]

    def position(self, index: int) -> tuple[int, int]:
        line = bisect_right(self._starts, index)
        return line, index - self._starts[line - 1] + 1


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# --- events to nodes --------------------------------------------------------------------


class _Stop(Exception):
    """Reading cannot go on (limits, several documents): the problem is recorded."""

    def __init__(self, *, complete: bool) -> None:
        self.complete = complete


class _Collection:
    """A mapping or a sequence being built (mutable while its events arrive)."""

    __slots__ = ("mark", "is_mapping", "items", "pairs", "key", "seen", "skip_value")

    def __init__(self, mark: Mark, is_mapping: bool) -> None:
        self.mark = mark
        self.is_mapping = is_mapping
        self.items: list[Node] = []  # a sequence's items
        self.pairs: list[tuple[Node, Node]] = []  # a mapping's pairs
        self.key: Node | None = None  # a mapping's key waiting for its value
        self.seen: dict[str, Mark] = {}  # a mapping's keys so far
        self.skip_value = False  # the waiting key is a duplicate: drop its value


_STANDARD_TAGS = {
    "scalar": ("!", "tag:yaml.org,2002:str"),
    "mapping": ("!", "tag:yaml.org,2002:map"),
    "sequence": ("!", "tag:yaml.org,2002:seq"),
}


class _Builder:
    def __init__(self, text: str, filename: str, limits: Limits, parser: type) -> None:
        self.parser = parser
        self.text = text
        self.filename = filename
        self.limits = limits
        self.problems: list[SpecProblem] = []
        self.stack: list[_Collection] = []
        self.root: Node | None = None
        self.events = 0
        self.nodes = 0
        self.documents = 0

    def build(self) -> YamlDocument:
        complete = True
        parser = self.parser(self.text)
        handlers: dict[type, Callable[[Any], None]] = {
            yaml.ScalarEvent: self._on_scalar,
            yaml.MappingStartEvent: self._on_start,
            yaml.SequenceStartEvent: self._on_start,
            yaml.MappingEndEvent: self._on_end,
            yaml.SequenceEndEvent: self._on_end,
            yaml.AliasEvent: self._on_alias,
            yaml.DocumentStartEvent: self._on_document,
        }
        try:
            while parser.check_event():
                event = parser.get_event()
                self.events += 1
                handler = handlers.get(type(event))
                if handler is not None:  # stream start/end, document end: nothing to do
                    handler(event)
        except _Stop as stop:
            complete = stop.complete
        except yaml.MarkedYAMLError as error:
            complete = False
            self.problems.extend(syntax_problems(error, self.text, self.filename, self.limits))
        except yaml.YAMLError as error:  # a reader error without a position
            complete = False
            self.problems.append(
                SpecProblem(
                    self.filename,
                    1,
                    1,
                    f"YAML error: {_cut(str(error).splitlines()[0])}",
                    "check the file is a YAML text",
                )
            )
        finally:
            parser.dispose()  # frees libyaml's buffers at once
        return YamlDocument(
            root=self.root if complete else None,
            problems=tuple(self.problems),
            complete=complete,
            events=self.events,
        )

    def _problem(self, mark: Mark, message: str, fix: str | None) -> None:
        # At most one more than shown: the caller then knows there were too many.
        if len(self.problems) <= self.limits.max_problems:
            self.problems.append(SpecProblem(self.filename, mark.line, mark.column, message, fix))

    def _on_scalar(self, event: yaml.ScalarEvent) -> None:
        mark = _mark(event)
        self._count(mark)
        if event.anchor is not None:
            self._refuse_anchor(event.anchor, mark)
        plain = event.style in (None, "") and event.tag is None
        if event.tag is not None:
            plain = False
            self._check_tag(event.tag, "scalar", mark)
        hidden = _INVISIBLE.search(event.value)
        if hidden:  # written as an escape ("\u202e") in a quoted value
            self._problem(mark, _invisible_message(hidden.group()), "remove it")
        self._attach(ScalarNode(event.value, mark, plain))

    def _on_start(self, event: yaml.CollectionStartEvent) -> None:
        mark = _mark(event)
        self._count(mark)
        if event.anchor is not None:
            self._refuse_anchor(event.anchor, mark)
        is_mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag is not None:
            self._check_tag(event.tag, "mapping" if is_mapping else "sequence", mark)
        if len(self.stack) >= self.limits.max_depth:
            self._problem(
                mark,
                f"the document is nested more than {self.limits.max_depth} levels deep",
                "a spec needs three levels: version/services, the service, its fields",
            )
            raise _Stop(complete=False)
        self.stack.append(_Collection(mark, is_mapping))

    def _on_end(self, event: yaml.CollectionEndEvent) -> None:
        done = self.stack.pop()
        node: Node = (
            MappingNode(tuple(done.pairs), done.mark)
            if done.is_mapping
            else SequenceNode(tuple(done.items), done.mark)
        )
        self._attach(node)

    def _on_alias(self, event: yaml.AliasEvent) -> None:
        mark = _mark(event)
        self._count(mark)
        self._problem(
            mark,
            f"YAML alias *{_cut(str(event.anchor), 30)} is not allowed in a spec",
            "write the value out in full (anchors and aliases are refused)",
        )
        self._attach(AliasNode(mark))

    def _on_document(self, event: yaml.DocumentStartEvent) -> None:
        self.documents += 1
        if self.documents > 1:
            self._problem(
                _mark(event),
                "several YAML documents in one file",
                "a spec is one document: remove this '---' and what follows, or move it "
                "to a file of its own",
            )
            raise _Stop(complete=True)  # the first document is whole: validate it

    def _refuse_anchor(self, anchor: str, mark: Mark) -> None:
        self._problem(
            mark,
            f"YAML anchor &{_cut(str(anchor), 30)} is not allowed in a spec",
            "remove the anchor and write each value out in full",
        )

    def _count(self, mark: Mark) -> None:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            self._problem(
                mark,
                f"the spec holds more than {self.limits.max_nodes:,} YAML nodes",
                "a spec this large is not supported; manage the account with a few "
                "smaller specs, each with `unmanaged: ignore`",
            )
            raise _Stop(complete=False)

    def _check_tag(self, tag: str | None, kind: str, mark: Mark) -> bool:
        if tag is None or tag in _STANDARD_TAGS[kind]:
            return True
        self._problem(
            mark,
            f"YAML tag {_cut(_short_tag(tag), 40)} is not allowed in a spec",
            "remove the tag: a spec holds plain values only",
        )
        return False

    def _attach(self, node: Node) -> None:
        if not self.stack:
            self.root = node
            return
        top = self.stack[-1]
        if not top.is_mapping:
            top.items.append(node)
            return
        if top.key is None:
            top.key = node
            top.skip_value = False
            if isinstance(node, ScalarNode):
                first = top.seen.get(node.value)
                if first is not None:
                    self._problem(
                        node.mark,
                        f"duplicate key {shown(node.value)} (first at line {first.line}, "
                        f"column {first.column})",
                        "remove one of them: YAML readers silently keep only the last",
                    )
                    top.skip_value = True
                else:
                    top.seen[node.value] = node.mark
            return
        if not top.skip_value:
            top.pairs.append((top.key, node))
        top.key = None


def _short_tag(tag: str) -> str:
    """A tag as it is written: ``tag:yaml.org,2002:python/object`` → ``!!python/object``."""
    return "!!" + tag.removeprefix(_YAML_TAG_PREFIX) if tag.startswith(_YAML_TAG_PREFIX) else tag


_YAML_TAG_PREFIX = "tag:yaml.org,2002:"


def _mark(event: yaml.Event) -> Mark:
    start = event.start_mark
    return Mark(start.line + 1, start.column + 1) if start is not None else Mark(1, 1)


# --- syntax errors ----------------------------------------------------------------------


def syntax_problems(
    error: yaml.MarkedYAMLError, text: str, filename: str, limits: Limits = DEFAULT_LIMITS
) -> list[SpecProblem]:
    """PyYAML's error, at PyYAML's position, in plain words and with a fix. A tab in the
    indentation is by far the most common cause: every such line gets its own problem."""
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if mark is not None and mark.index >= len(text):
        # At the end of the stream libyaml counts one line more than the file has.
        line, column = LineIndex(text).position(len(text))
    problem = error.problem or "invalid YAML"
    if "maximum nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
        return [
            SpecProblem(
                filename,
                line,
                column,
                "the document is nested more than 1000 levels deep",
                "a spec needs three levels: version/services, the service, its fields",
            )
        ]
    at_tab = mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t"
    if at_tab or "tab" in problem:
        tabs = tab_indented_lines(text, filename, limits)
        if tabs:
            return tabs
        return [
            SpecProblem(
                filename, line, column, "a tab here breaks the YAML", "replace the tab with spaces"
            )
        ]
    context = ""
    if (
        error.context
        and error.context_mark is not None
        and error.context_mark is not mark
        and "next token" not in error.context  # says nothing a user can act on
    ):
        context = f" ({error.context} at line {error.context_mark.line + 1})"
    return [
        SpecProblem(
            filename,
            line,
            column,
            f"YAML syntax error: {_cut(problem, 120)}{_cut(context, 120)}",
            _syntax_fix(problem, text, mark.index if mark is not None else -1, column),
        )
    ]


_TAB_FIX = "indent with spaces: YAML does not allow tabs in indentation"


def tab_indented_lines(
    text: str, filename: str, limits: Limits = DEFAULT_LIMITS
) -> list[SpecProblem]:
    """A problem for every line whose indentation holds a tab."""
    problems = []
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        indent = len(line) - len(line.lstrip(" \t"))
        where = line.find("\t", 0, indent)
        if where >= 0 and line.strip(" \t"):
            problems.append(
                SpecProblem(filename, number, where + 1, "tab used for indentation", _TAB_FIX)
            )
        if len(problems) > limits.max_problems:
            break
    return problems


def _syntax_fix(problem: str, text: str, index: int, column: int) -> str:
    char = text[index] if 0 <= index < len(text) else ""
    if "cannot start any token" in problem and char in "@`%":
        return f"quote the value: {char!r} cannot start a plain YAML value"
    if "mapping values are not allowed" in problem and column > 1024:
        return "an unquoted YAML key has at most 1024 characters (a service name, 255)"
    if "mapping values are not allowed" in problem:
        return "quote the value if it holds ': ', or check the indentation of this line"
    if "could not find expected ':'" in problem:
        return "a key needs ': ' after it; check this line and the one before"
    if "did not find expected key" in problem:
        return "check the indentation: the keys of one mapping start in the same column"
    if "did not find expected '-' indicator" in problem:
        return "check the indentation: the items of one list start in the same column"
    if "escape" in problem:
        return "fix the escape sequence, or use single quotes where a backslash is meant"
    if "end of stream" in problem or "found unexpected end" in problem:
        return "close the quote or bracket that is still open"
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        return "separate flow items with ', ' and close the bracket"
    return "check the YAML syntax here: indentation, quotes and brackets"


# --- scalars ----------------------------------------------------------------------------


class ScalarKind(StrEnum):
    NULL = "null"
    BOOL = "boolean"
    INT = "integer"
    FLOAT = "number"
    STR = "string"
    YAML11_BOOL = "YAML 1.1 boolean"  # yes/no/on/off/y/n: true or a string, by version


@dataclass(frozen=True, slots=True)
class Resolved:
    kind: ScalarKind
    value: str | int | float | bool | None


def resolve_scalar(node: ScalarNode) -> Resolved:
    """What a scalar means under the YAML 1.2 core schema; quoted or ``!!str``-tagged
    scalars are always strings. Huge integers are not converted (they cannot be valid
    anywhere in a spec, and converting one costs quadratic time)."""
    text = node.value
    if not node.plain:
        return Resolved(ScalarKind.STR, text)
    if text in _NULLS:
        return Resolved(ScalarKind.NULL, None)
    if text in _TRUE or text in _FALSE:
        return Resolved(ScalarKind.BOOL, text in _TRUE)
    if text in _YAML11_BOOLS:
        return Resolved(ScalarKind.YAML11_BOOL, text)
    if _INT.fullmatch(text):
        digits = text.lstrip("+-")
        if len(digits) > 18:
            return Resolved(ScalarKind.INT, None)  # out of any range a spec uses
        return Resolved(
            ScalarKind.INT, int(text, 0) if text[:2].lower() in ("0x", "0o") else int(text)
        )
    if _FLOAT.fullmatch(text):
        return Resolved(ScalarKind.FLOAT, _float(text))
    return Resolved(ScalarKind.STR, text)


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_YAML11_BOOLS = frozenset(
    {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO"}
    | {"on", "On", "ON", "off", "Off", "OFF"}
)
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", re.ASCII)
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN)",
    re.ASCII,
)


def _float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(text)


def iter_mappings(root: Node) -> Iterator[MappingNode]:
    """Every mapping in the tree, the root first (iteratively: depth is bounded anyway)."""
    pending: list[Node] = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, MappingNode):
            yield node
            for key, value in reversed(node.pairs):
                pending.extend((value, key))
        elif isinstance(node, SequenceNode):
            pending.extend(reversed(node.items))


# --- showing values ---------------------------------------------------------------------


def _cut(text: str, limit: int = _SHOWN_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str) -> str:
    """A value quoted for a message (``repr``: escapes stay escapes), cut short so that a
    hostile value cannot flood it."""
    return repr(_cut(text))
