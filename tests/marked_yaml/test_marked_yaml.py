"""``marked_yaml``: plain data, the marks of every key and value, and every problem.

Hostile input is bounded by the work done (``Document.events``) and the peak of Python
memory, never by wall time.
"""

from __future__ import annotations

import pytest
import yaml
from hostile_yaml import BILLION_LAUGHS, peak_memory
from hypothesis import given, settings
from hypothesis import strategies as st

from marked_yaml import (
    DEFAULT_LIMITS,
    FAST_PARSER,
    MAX_INT_DIGITS,
    PURE_PARSER,
    Code,
    CollectionKey,
    Document,
    Kind,
    Limits,
    Mark,
    Node,
    Refused,
    compose,
    describe_character,
    invisible_characters,
    is_invisible,
)

PARSERS = pytest.mark.parametrize("parser", [FAST_PARSER, PURE_PARSER], ids=["libyaml", "pure"])


def read(text: str, **options: object) -> Document:
    return compose(text.encode("utf-8"), **options)  # type: ignore[arg-type]


def where(document: Document) -> list[tuple[Code, int, int]]:
    return [(p.code, p.line, p.column) for p in document.problems]


# --- data and marks ----------------------------------------------------------------------


@PARSERS
def test_data_is_plain_and_every_key_and_value_is_marked(parser: type) -> None:
    document = read(
        "version: 1\nservices:\n  www.example.com:\n    lifecycle: renew\n    tags: [a, b]\n",
        parser=parser,
    )
    assert document.complete and document.problems == ()
    assert document.data == {
        "version": 1,
        "services": {"www.example.com": {"lifecycle": "renew", "tags": ["a", "b"]}},
    }
    marks = document.marks
    assert marks[()].mark == Mark(1, 1) and marks[()].kind is Kind.MAPPING
    lifecycle = marks[("services", "www.example.com", "lifecycle")]
    assert (lifecycle.mark, lifecycle.kind, lifecycle.text, lifecycle.plain) == (
        Mark(4, 16),
        Kind.STR,
        "renew",
        True,
    )
    assert lifecycle.key is not None and lifecycle.key.mark == Mark(4, 5)
    assert marks[("services", "www.example.com", "tags", 1)].mark == Mark(5, 15)
    service = marks[("services", "www.example.com")]
    assert service.key is not None and service.key.mark == Mark(3, 3)


def test_scalars_are_resolved_as_yaml_1_2_and_keep_how_they_were_written() -> None:
    document = read(
        "a: yes\nb: 'true'\nc: true\nd: 0x1F\ne: 1.0\nf: ~\ng:\nh: 010\ni: .inf\nj: !!str 3\n"
    )
    assert document.data == {
        "a": "yes",  # YAML 1.1 would say True
        "b": "true",
        "c": True,
        "d": 31,
        "e": 1.0,
        "f": None,
        "g": None,
        "h": 10,
        "i": float("inf"),
        "j": "3",
    }
    marks = document.marks
    assert (marks[("a",)].kind, marks[("a",)].plain) == (Kind.STR, True)
    assert (marks[("b",)].kind, marks[("b",)].plain) == (Kind.STR, False)
    assert (marks[("d",)].kind, marks[("d",)].text) == (Kind.INT, "0x1F")
    assert (marks[("h",)].text, marks[("j",)].plain) == ("010", False)
    assert marks[("g",)].kind is Kind.NULL


def test_keys_are_their_text_so_quoting_does_not_make_another_key() -> None:
    document = read('1: a\ntrue: b\n"1": c\n')
    assert document.data == {"1": "a", "true": "b"}
    assert where(document) == [(Code.DUPLICATE_KEY, 3, 1)]
    key = document.marks[("true",)].key
    assert key is not None and (key.kind, key.plain) == (Kind.BOOL, True)


def test_a_huge_integer_keeps_its_text_and_is_never_converted() -> None:
    digits = "9" * 100_000
    document, peak = peak_memory(lambda: read(f"version: {digits}\n"))
    assert document.data == {"version": digits}
    assert document.marks[("version",)].kind is Kind.INT
    assert read("n: " + "9" * MAX_INT_DIGITS + "\n").data["n"] == int("9" * MAX_INT_DIGITS)
    assert peak < 2_000_000


def test_nearest_finds_the_closest_written_ancestor() -> None:
    marks = read("services:\n  a.example.com:\n    lifecycle: renew\n").marks
    path, node = marks.nearest(("services", "a.example.com", "name")) or ((), None)
    assert path == ("services", "a.example.com")
    assert node is not None and node.key is not None and node.key.mark == Mark(2, 3)
    assert marks.nearest(("absent", 3)) == ((), marks[()])


def test_text_is_read_too_and_a_leading_bom_is_dropped() -> None:
    document = compose("\ufeffa: 1\n")
    assert document.data == {"a": 1} and document.problems == ()


def test_an_empty_file_is_no_data() -> None:
    for text in ("", "# only a comment\n", "---\n"):
        document = read(text)
        assert document.complete and document.data is None and document.problems == ()


@PARSERS
def test_the_reader_keeps_its_place_after_every_case_it_treats_apart(parser: type) -> None:
    # Plain scalars and flow mappings in mappings take the composer's short way; each line
    # here takes the long one (an anchor, a tag, quotes, a duplicate, a collection key, a
    # list, an alias, a block scalar), and what follows each must be read as before.
    document = read(
        "a: &x 1\nb: !!str 2\nc: \"d\"\na: {e: 1}\nf: {g: 'h', g: i, j: ~}\n? [k]\n: v\n"
        "l: [1, {m: n}, 'q']\no: *x\nr:\n  s: |\n    t\n  u: 0x1F\n",
        parser=parser,
    )
    data = document.data
    [key] = [key for key in data if isinstance(key, CollectionKey)]
    assert data == {
        "a": 1,
        "b": "2",
        "c": "d",
        "f": {"g": "h", "j": None},
        key: "v",
        "l": [1, {"m": "n"}, "q"],
        "o": Refused(Mark(9, 4), Code.ALIAS),
        "r": {"s": "t\n", "u": 31},
    }
    assert where(document) == [
        (Code.ANCHOR, 1, 4),
        (Code.DUPLICATE_KEY, 4, 1),
        (Code.DUPLICATE_KEY, 5, 13),
        (Code.ALIAS, 9, 4),
    ]
    marks = document.marks
    assert (marks[("b",)].text, marks[("b",)].plain, marks[("c",)].plain) == ("2", False, False)
    assert marks[("f", "g")].mark == Mark(5, 8)  # the first g's, not the duplicate's
    assert (marks[("f", "j")].kind, marks[("f", "j")].key) == (
        Kind.NULL,
        Node(Mark(5, 19), Kind.STR, "j", True),
    )
    assert marks[("l", 1, "m")].mark == Mark(8, 12) and marks[("l", 2)].plain is False
    assert marks[("r", "u")] == Node(
        Mark(13, 6), Kind.INT, "0x1F", True, Node(Mark(13, 3), Kind.STR, "u", True)
    )
    assert marks[(key,)].key == Node(Mark(6, 3), Kind.SEQUENCE)
    assert len(marks) == 19 and document.events == 48


# --- what is refused ----------------------------------------------------------------------


def test_duplicate_keys_keep_the_first_and_its_marks() -> None:
    document = read("a:\n  x: 1\nb: 2\na:\n  x: 3\n")
    assert document.data == {"a": {"x": 1}, "b": 2}
    assert where(document) == [(Code.DUPLICATE_KEY, 4, 1)]
    assert document.problems[0].message == "duplicate key 'a' (first at line 1, column 1)"
    assert document.marks[("a", "x")].mark == Mark(2, 6)  # not the dropped one's


def test_aliases_and_refused_scalars_stand_in_the_data_as_placeholders() -> None:
    document = read('base: &b 1\nx: *b\n"y\\u200b": 2\nz: "w\\u200dx"\n')
    assert [p.code for p in document.problems] == [
        Code.ANCHOR,
        Code.ALIAS,
        Code.INVISIBLE,
        Code.INVISIBLE,
    ]
    data = document.data
    assert data["base"] == 1
    assert isinstance(data["x"], Refused) and data["x"].code is Code.ALIAS
    assert isinstance(data["z"], Refused) and data["z"].mark == Mark(4, 4)
    [refused_key] = [key for key in data if isinstance(key, Refused)]
    assert refused_key.mark == Mark(3, 1) and data[refused_key] == 2
    assert document.marks[("x",)].kind is Kind.REFUSED


def test_a_collection_written_as_a_key_stands_as_a_collection_key() -> None:
    document = read("? [a, b]\n: 1\nc: 2\n")
    [key] = [key for key in document.data if isinstance(key, CollectionKey)]
    assert (key.kind, key.mark) == (Kind.SEQUENCE, Mark(1, 3))
    assert document.data[key] == 1 and document.data["c"] == 2


def test_tags_other_than_the_standard_ones_are_refused_and_never_constructed() -> None:
    document = read("a: !!python/object/apply:os.system ['echo pwned']\nb: !custom x\nc: !!str y\n")
    assert [(p.line, p.message) for p in document.problems] == [
        (1, "YAML tag !!python/object/apply:os.system is not allowed in a document"),
        (2, "YAML tag !custom is not allowed in a document"),
    ]


def test_the_noun_names_the_file_in_messages() -> None:
    document = read("a: &x 1\n", noun="seed")
    assert document.problems[0].message == "YAML anchor &x is not allowed in a seed"


def test_several_documents_keep_the_first_whole() -> None:
    document = read("a: 1\n---\nb: 2\n")
    assert document.complete and document.data == {"a": 1}
    assert where(document) == [(Code.DOCUMENTS, 2, 1)]


@pytest.mark.parametrize(
    ("text", "line", "column", "fix"),
    [
        ("a:\n  b: 1\n c: 2\n", 3, 2, "check the indentation"),
        ("a: @b\n", 1, 4, "quote the value"),
        ('a: "b\n', 2, 1, "close the quote"),
        ("a: [1, 2\n", 2, 1, "close the bracket"),
    ],
)
def test_syntax_errors_keep_the_position_and_give_a_fix(
    text: str, line: int, column: int, fix: str
) -> None:
    document = read(text)
    assert not document.complete and document.data is None
    [problem] = document.problems
    assert (problem.code, problem.line, problem.column) == (Code.SYNTAX, line, column)
    assert problem.message.startswith("YAML syntax error: ")
    assert fix in problem.fix


def test_each_tab_indented_line_is_its_own_problem() -> None:
    document = read("a:\n\tb: 1\nc:\n  \td: 2\n")
    assert where(document) == [(Code.TAB, 2, 1), (Code.TAB, 4, 3)]


def test_bytes_must_be_utf8_and_each_bad_run_is_located() -> None:
    document = compose(b"a: caf\xe9\n# \xff\xfe\n")
    assert where(document) == [(Code.ENCODING, 1, 7), (Code.ENCODING, 2, 3)]
    assert "Latin-1" in document.problems[0].fix
    assert compose(b"\xff\xfea\x00").problems[0].message == "the file is UTF-16 text"


# --- invisible characters ---------------------------------------------------------------

INVISIBLE = [
    ("\u200b", "invisible character U+200B ZERO WIDTH SPACE"),
    ("\u200c", "invisible character U+200C ZERO WIDTH NON-JOINER"),
    ("\u200d", "invisible character U+200D ZERO WIDTH JOINER"),
    ("\u2060", "invisible character U+2060 WORD JOINER"),
    ("\u00ad", "invisible character U+00AD SOFT HYPHEN"),
    ("\u180e", "invisible character U+180E MONGOLIAN VOWEL SEPARATOR"),
    ("\U000e0041", "invisible character U+E0041 TAG LATIN CAPITAL LETTER A"),
    ("\u3164", "invisible character U+3164 HANGUL FILLER"),
    ("\ufe0f", "invisible character U+FE0F VARIATION SELECTOR-16"),
    ("\u202e", "bidirectional control character U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u2067", "bidirectional control character U+2067 RIGHT-TO-LEFT ISOLATE"),
    ("\u061c", "bidirectional control character U+061C ARABIC LETTER MARK"),
    ("\ufeff", "byte order mark U+FEFF ZERO WIDTH NO-BREAK SPACE in the middle of the file"),
    ("\u2028", "line separator U+2028 LINE SEPARATOR"),
    ("\x85", "control character U+0085 is not allowed"),
    ("\x1b", "control character U+001B is not allowed"),
    ("\ufdd0", "non-character U+FDD0 is not allowed"),
]


@pytest.mark.parametrize(
    ("char", "what"), INVISIBLE, ids=[describe_character(c) for c, _ in INVISIBLE]
)
@pytest.mark.parametrize("place", ["key", "value", "comment", "escape"])
def test_every_invisible_character_is_refused_with_its_code_point(
    char: str, what: str, place: str
) -> None:
    code = f"\\U{ord(char):08x}"
    text = {
        "key": f"a:\n  www{char}.example.com: 1\n",
        "value": f"a:\n  name: www{char}.example.com\n",
        "comment": f"a:\n  name: x  # a com{char}ment\n",
        "escape": f'a:\n  name: "www{code}.example.com"\n',
    }[place]
    [problem] = read(text).problems
    assert problem.code is Code.INVISIBLE
    assert what in problem.message and problem.fix == "remove it"
    if place == "escape":  # at the scalar holding it
        assert (problem.line, problem.column) == (2, 9)
    else:  # at the character itself
        assert (problem.line, problem.column) == (2, text.split("\n")[1].index(char) + 1)


def test_visible_text_of_any_script_is_fine() -> None:
    text = "names: [café.example, пример.рф, 例子.中国, مثال.إختبار, \U0001f600]\n"
    assert read(text).problems == ()
    assert not any(is_invisible(char) for char in text if char not in "\n")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=50))
def test_invisible_characters_agrees_with_is_invisible(text: str) -> None:
    found = list(invisible_characters(text))
    assert found == [(index, char) for index, char in enumerate(text) if is_invisible(char)]


# --- hostile input --------------------------------------------------------------------------


@PARSERS
def test_billion_laughs_is_refused_without_expanding_anything(parser: type) -> None:
    document, peak = peak_memory(lambda: compose(BILLION_LAUGHS, parser=parser))
    # Expanded, this is 9**9 (387 million) strings; read, it is the events of its bytes.
    assert document.events < 150
    assert peak < 2_000_000
    messages = [p.message for p in document.problems]
    assert "YAML anchor &a is not allowed in a document" in messages
    assert "YAML alias *a is not allowed in a document" in messages


def test_a_flood_of_aliases_costs_its_bytes_and_the_problems_are_capped() -> None:
    data = b"x: &x 1\nl: [" + b"*x," * 5_000 + b"]\n"
    document, peak = peak_memory(lambda: compose(data))
    assert document.events < 5_020  # one per alias: nothing expanded
    assert len(document.problems) == DEFAULT_LIMITS.max_problems + 1
    assert peak < 3_000_000


@PARSERS
@pytest.mark.parametrize(
    "data",
    [
        b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
        b"a: " + b"{a: " * 100_000 + b"1" + b"}" * 100_000 + b"\n",
        b"a:\n" + b"".join(b" " * (2 * i + 2) + b"k:\n" for i in range(2_000)) + b"  x: 1\n",
        b"a:\n" + b"".join(b" " * i + b"- \n" for i in range(2, 4_000)),
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings", "block-lists"],
)
def test_deep_nesting_stops_at_the_depth_limit(data: bytes, parser: type) -> None:
    document = compose(data, parser=parser)
    assert not document.complete
    # libyaml scans flow collections ahead and may meet its own limit (1000) first.
    assert document.events < 3 * DEFAULT_LIMITS.max_depth
    [problem] = document.problems
    assert problem.code is Code.DEPTH
    assert problem.message in (
        "the document is nested more than 32 levels deep",
        "the document is nested more than 1000 levels deep",
    )
    if data.startswith(b"a:\n"):  # block style: ours, at the 33rd level
        assert problem.message == "the document is nested more than 32 levels deep"
        assert problem.line == 1 + DEFAULT_LIMITS.max_depth


@PARSERS
def test_a_huge_number_of_keys_stops_at_the_node_limit(parser: type) -> None:
    data = b"".join(b"s%d: {lifecycle: renew}\n" % i for i in range(50_000))
    document = compose(data, limits=Limits(max_nodes=1_000), parser=parser)
    assert not document.complete
    assert document.events < 1_300
    [problem] = document.problems
    assert (problem.code, problem.message) == (
        Code.NODES,
        "the document holds more than 1,000 YAML nodes",
    )


def test_a_flood_of_duplicate_keys_is_capped() -> None:
    document, peak = peak_memory(lambda: compose(b"a: 1\n" * 5_000))
    assert len(document.problems) == DEFAULT_LIMITS.max_problems + 1
    assert peak < 3_000_000


def test_a_flood_of_invisible_characters_is_capped() -> None:
    document = compose(("# " + "\u200b" * 10_000 + "\n").encode())
    assert len(document.problems) == DEFAULT_LIMITS.max_problems + 1


# --- both parsers -----------------------------------------------------------------------

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(VALUES, st.booleans())
def test_both_parsers_give_the_same_data_and_marks(value: object, flow: bool) -> None:
    text = yaml.safe_dump({"root": value}, default_flow_style=flow, allow_unicode=True)
    fast = compose(text, parser=FAST_PARSER)
    pure = compose(text, parser=PURE_PARSER)
    assert (fast.complete, fast.problems) == (pure.complete, pure.problems)
    assert fast.data == pure.data
    assert dict(fast.marks) == dict(pure.marks)
