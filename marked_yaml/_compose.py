"""Parser events to plain data and marks, checking as it goes."""

from __future__ import annotations

from typing import Any

import yaml

from marked_yaml._scalars import Scalar, resolve
from marked_yaml._syntax import syntax_problems
from marked_yaml._text import (
    INVISIBLE_FIX,
    cut,
    decode,
    invisible_characters,
    invisible_message,
    invisible_problems,
    shown,
)
from marked_yaml._values import (
    DEFAULT_LIMITS,
    NO_MARKS,
    Code,
    CollectionKey,
    Document,
    Key,
    Kind,
    Limits,
    Mark,
    Marks,
    Node,
    Path,
    Problem,
    Refused,
)

# libyaml when PyYAML was built with it (about ten times faster); the pure Python parser
# otherwise. Only their parser half is used: events, never constructed objects.
FAST_PARSER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PURE_PARSER: type = yaml.SafeLoader

_SCALAR = yaml.ScalarEvent
_MAPPING_START, _MAPPING_END = yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQUENCE_START, _SEQUENCE_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_ALIAS, _DOCUMENT_START = yaml.AliasEvent, yaml.DocumentStartEvent
# A named tuple's own constructor is a Python function: tuple's is C, and a large file
# makes two of them per scalar.
_new = tuple.__new__

_STANDARD_TAGS = {
    Kind.STR: ("!", "tag:yaml.org,2002:str"),
    Kind.MAPPING: ("!", "tag:yaml.org,2002:map"),
    Kind.SEQUENCE: ("!", "tag:yaml.org,2002:seq"),
}
_YAML_TAG_PREFIX = "tag:yaml.org,2002:"


def compose(
    source: bytes | str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    noun: str = "document",
    parser: type = FAST_PARSER,
) -> Document:
    """Read one YAML document (the bytes of a file, or its text) into plain data and the
    marks of its nodes. Never raises for bad input: every problem is in the result.
    ``noun`` names the file in messages ("not allowed in a spec"); ``parser`` is a PyYAML
    loader class (``FAST_PARSER`` or ``PURE_PARSER``, which give the same result)."""
    if isinstance(source, bytes):
        text, problems = decode(source, limits, noun)
        if text is None:
            return Document(None, NO_MARKS, tuple(problems), complete=False, events=0)
    else:
        text = source.removeprefix("\ufeff")
    problems = invisible_problems(text, limits, noun)
    if problems:
        return Document(None, NO_MARKS, tuple(problems), complete=False, events=0)
    return _Composer(text, limits, noun, parser).compose()


class _Stop(Exception):
    """Reading cannot go on (limits, several documents): the problem is recorded."""

    def __init__(self, *, complete: bool) -> None:
        self.complete = complete


class _Open:
    """A mapping or a list whose events are still arriving."""

    __slots__ = ("path", "node", "mapping", "items", "key", "key_node", "skip")

    def __init__(self, path: Path, node: Node) -> None:
        self.path = path
        self.node = node
        self.mapping: dict[Key, Any] | None = {} if node.kind is Kind.MAPPING else None
        self.items: list[Any] = []
        self.key: Key | None = None  # a mapping's key waiting for its value
        self.key_node: Node | None = None
        self.skip = False  # the waiting key is a duplicate: its value is dropped


class _Composer:
    def __init__(self, text: str, limits: Limits, noun: str, parser: type) -> None:
        self.text = text
        self.limits = limits
        self.noun = noun
        self.parser = parser
        self.problems: list[Problem] = []
        self.marks: dict[Path, Node] = {}
        self.stack: list[_Open] = []
        self.root: Any = None
        self.events = 0
        self.nodes = 0
        self.documents = 0

    def compose(self) -> Document:
        complete = True
        parser = self.parser(self.text)
        try:
            self._read(parser)
        except _Stop as stop:
            complete = stop.complete
        except yaml.MarkedYAMLError as error:
            complete = False
            self.problems.extend(syntax_problems(error, self.text, self.limits))
        except yaml.YAMLError as error:  # a reader error without a position
            complete = False
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            self.problems.append(
                Problem(
                    Code.SYNTAX, 1, 1, f"YAML error: {cut(first_line)}", "check the file is YAML"
                )
            )
        finally:
            parser.dispose()  # frees libyaml's buffers at once
        return Document(
            self.root if complete else None,
            Marks(self.marks) if complete else NO_MARKS,
            tuple(self.problems),
            complete=complete,
            events=self.events,
        )

    def _read(self, parser: Any) -> None:
        """Every event of the stream, in one loop. A large spec is tens of thousands of
        plain scalars and flow mappings inside mappings: their way is written out here
        with names bound to locals, since a method call or two per event was most of the
        time of reading. Anchors, tags, escapes, duplicate keys, lists and keys that are
        not scalars take the methods below, which say what each case means."""
        get_event = parser.get_event  # None after the stream's end, in both parsers
        marks = self.marks
        stack = self.stack
        max_nodes = self.limits.max_nodes
        max_depth = self.limits.max_depth
        mapping_kind, str_kind = Kind.MAPPING, Kind.STR
        events = nodes = 0  # locals while reading: kept in self only at the end
        try:
            while (event := get_event()) is not None:
                events += 1
                kind_of_event = type(event)
                if kind_of_event is _MAPPING_END or kind_of_event is _SEQUENCE_END:
                    done = stack.pop()
                    top = stack[-1] if stack else None
                    if top is None or top.mapping is None or top.key is None or top.skip:
                        self._on_end(done)
                        continue
                    key = top.key
                    mark, kind = done.node.mark, done.node.kind
                    marks[top.path + (key,)] = _new(Node, (mark, kind, None, False, top.key_node))
                    top.mapping[key] = done.mapping if done.mapping is not None else done.items
                    top.key = None
                    continue
                if kind_of_event is not _SCALAR and kind_of_event is not _MAPPING_START:
                    if kind_of_event is _SEQUENCE_START or kind_of_event is _ALIAS:
                        mark = _mark(event)
                        nodes += 1
                        if nodes > max_nodes:
                            self._too_many(mark)
                        if kind_of_event is _ALIAS:
                            self._on_alias(event, mark)
                        else:
                            self._on_start(event, mark)
                    elif kind_of_event is _DOCUMENT_START:
                        self._on_document(event)
                    continue  # stream start and end, document end: nothing to do
                start = event.start_mark
                mark = _new(Mark, (start.line + 1, start.column + 1))
                nodes += 1
                if nodes > max_nodes:
                    self._too_many(mark)
                top = stack[-1] if stack else None
                if top is None or top.mapping is None or event.anchor is not None:
                    # The root, a list's item, an anchored node.
                    if kind_of_event is _SCALAR:
                        self._on_scalar(event, mark)
                    else:
                        self._on_start(event, mark)
                    continue
                if kind_of_event is _MAPPING_START:
                    if (
                        top.key is None
                        or top.skip
                        or event.tag is not None
                        or len(stack) >= max_depth
                    ):
                        self._on_start(event, mark)
                    else:
                        stack.append(
                            _Open(
                                top.path + (top.key,),
                                _new(Node, (mark, mapping_kind, None, False, None)),
                            )
                        )
                    continue
                style = event.style
                if style == '"' or event.tag is not None:
                    self._on_scalar(event, mark)
                    continue
                text: str = event.value
                value: Scalar
                if style:  # quoted, folded or literal
                    kind, value = str_kind, text
                else:  # None (the pure parser) or "" (libyaml): plain
                    kind, value = resolve(text, True)
                if top.key is None:  # a key
                    if text in top.mapping:
                        self._attach(value, mark, kind, text, not style)  # a duplicate
                    else:
                        top.key, top.skip = text, False
                        top.key_node = _new(Node, (mark, kind, text, not style, None))
                    continue
                if not top.skip:
                    key = top.key
                    marks[top.path + (key,)] = _new(
                        Node, (mark, kind, text, not style, top.key_node)
                    )
                    top.mapping[key] = value
                top.key = None

        finally:
            self.events, self.nodes = events, nodes

    def _problem(self, code: Code, mark: Mark, message: str, fix: str) -> None:
        # At most one more than the caller shows: it then knows there were too many.
        if len(self.problems) <= self.limits.max_problems:
            self.problems.append(Problem(code, mark.line, mark.column, message, fix))

    # -- events ---------------------------------------------------------------------------

    def _on_scalar(self, event: yaml.ScalarEvent, mark: Mark) -> None:
        if event.anchor is not None:
            self._refuse_anchor(event.anchor, mark)
        plain = event.style in (None, "") and event.tag is None
        if event.tag is not None:
            self._check_tag(event.tag, Kind.STR, mark)
        text: str = event.value
        # Only a double-quoted scalar holds what the text did not (escapes: "\u200b");
        # the rest of the text was checked whole before parsing.
        hidden = next(invisible_characters(text), None) if event.style == '"' else None
        if hidden is not None:
            self._problem(
                Code.INVISIBLE, mark, invisible_message(hidden[1], self.noun), INVISIBLE_FIX
            )
            self._attach(Refused(mark, Code.INVISIBLE), mark, Kind.REFUSED, text)
            return
        kind, value = resolve(text, plain)
        self._attach(value, mark, kind, text, plain)

    def _on_start(self, event: yaml.CollectionStartEvent, mark: Mark) -> None:
        if event.anchor is not None:
            self._refuse_anchor(event.anchor, mark)
        kind = Kind.MAPPING if isinstance(event, yaml.MappingStartEvent) else Kind.SEQUENCE
        if event.tag is not None:
            self._check_tag(event.tag, kind, mark)
        if len(self.stack) >= self.limits.max_depth:
            self._problem(
                Code.DEPTH,
                mark,
                f"the document is nested more than {self.limits.max_depth} levels deep",
                "nest less deeply",
            )
            raise _Stop(complete=False)
        self.stack.append(_Open(self._path_of_next(mark, kind), Node(mark, kind)))

    def _on_end(self, done: _Open) -> None:
        value: Any = done.mapping if done.mapping is not None else done.items
        if self.stack and self.stack[-1].mapping is not None and self.stack[-1].key is None:
            # A collection written as a key: its placeholder, made when it started.
            key = done.path[-1]
            assert isinstance(key, CollectionKey)
            value = key
        self._attach(value, done.node.mark, done.node.kind)

    def _on_alias(self, event: yaml.AliasEvent, mark: Mark) -> None:
        self._problem(
            Code.ALIAS,
            mark,
            f"YAML alias *{cut(str(event.anchor), 30)} is not allowed in a {self.noun}",
            "write the value out in full (anchors and aliases are refused)",
        )
        self._attach(Refused(mark, Code.ALIAS), mark, Kind.REFUSED)

    def _on_document(self, event: yaml.DocumentStartEvent) -> None:
        self.documents += 1
        if self.documents > 1:
            self._problem(
                Code.DOCUMENTS,
                _mark(event),
                "several YAML documents in one file",
                f"a {self.noun} is one document: remove this '---' and what follows, or move "
                "it to a file of its own",
            )
            raise _Stop(complete=True)  # the first document is whole: it can be checked

    # -- checks ---------------------------------------------------------------------------

    def _too_many(self, mark: Mark) -> None:
        self._problem(
            Code.NODES,
            mark,
            f"the {self.noun} holds more than {self.limits.max_nodes:,} YAML nodes",
            f"a {self.noun} this large is not supported: split it",
        )
        raise _Stop(complete=False)

    def _refuse_anchor(self, anchor: str, mark: Mark) -> None:
        self._problem(
            Code.ANCHOR,
            mark,
            f"YAML anchor &{cut(str(anchor), 30)} is not allowed in a {self.noun}",
            "remove the anchor and write each value out in full",
        )

    def _check_tag(self, tag: str, kind: Kind, mark: Mark) -> None:
        if tag in _STANDARD_TAGS[kind]:
            return
        written = (
            "!!" + tag.removeprefix(_YAML_TAG_PREFIX) if tag.startswith(_YAML_TAG_PREFIX) else tag
        )
        self._problem(
            Code.TAG,
            mark,
            f"YAML tag {cut(written, 40)} is not allowed in a {self.noun}",
            f"remove the tag: a {self.noun} holds plain values only",
        )

    # -- building -------------------------------------------------------------------------

    def _path_of_next(self, mark: Mark, kind: Kind) -> Path:
        """The path of the node that starts now (a collection: its children need it)."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if top.mapping is None:
            return top.path + (len(top.items),)
        if top.key is None:
            return top.path + (CollectionKey(mark, kind),)  # a collection written as a key
        if top.skip:  # the value of a duplicate key: dropped, its marks kept apart
            return top.path + (Refused(mark, Code.DUPLICATE_KEY),)
        return top.path + (top.key,)

    def _attach(
        self, value: Any, mark: Mark, kind: Kind, text: str | None = None, plain: bool = False
    ) -> None:
        if not self.stack:
            self.root = value
            self.marks[()] = Node(mark, kind, text, plain)
            return
        top = self.stack[-1]
        if top.mapping is None:
            self.marks[top.path + (len(top.items),)] = Node(mark, kind, text, plain)
            top.items.append(value)
            return
        if top.key is None:  # this is a key
            key: Key = value if isinstance(value, Refused | CollectionKey) else text or ""
            top.key, top.key_node, top.skip = key, Node(mark, kind, text, plain), False
            if isinstance(key, str) and key in top.mapping:
                first = self.marks[top.path + (key,)].key or Node(mark, kind)
                self._problem(
                    Code.DUPLICATE_KEY,
                    mark,
                    f"duplicate key {shown(key)} (first at line {first.mark.line}, "
                    f"column {first.mark.column})",
                    "remove one of them: YAML readers silently keep only the last",
                )
                top.skip = True
            return
        if not top.skip:
            self.marks[top.path + (top.key,)] = Node(mark, kind, text, plain, top.key_node)
            top.mapping[top.key] = value
        top.key = None


def _mark(event: yaml.Event) -> Mark:
    start = event.start_mark
    return Mark(start.line + 1, start.column + 1) if start is not None else Mark(1, 1)
