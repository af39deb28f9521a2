"""The bytes of a spec: UTF-8 only, no invisible characters, positions in characters.

Each problem is located by line and column (1-based, counted in characters as an editor
shows them), and an undecodable byte also by its byte offset.
"""

from __future__ import annotations

import codecs

import pytest

from reconciler.core.spec import parse_spec
from reconciler.errors import SpecError, SpecProblem

GOOD = b"version: 1\nservices:\n  www.example.com:\n    lifecycle: renew\n"


def problems(data: bytes, filename: str = "s.yaml") -> list[SpecProblem]:
    with pytest.raises(SpecError) as info:
        parse_spec(data, filename)
    return list(info.value.problems)


def where(problem: SpecProblem) -> tuple[int, int]:
    return problem.line, problem.column


def test_a_latin1_byte_is_located_by_line_column_and_byte_offset() -> None:
    data = b"version: 1\nservices:\n  caf\xe9.example.com:\n    lifecycle: renew\n"
    [problem] = problems(data)
    assert where(problem) == (3, 6)
    offset = data.index(b"\xe9")
    assert offset == 26
    assert f"byte 0xE9 at byte offset {offset} is not valid UTF-8" in problem.message
    assert problem.fix is not None and "UTF-8" in problem.fix and "Latin-1" in problem.fix


def test_every_undecodable_run_is_reported_and_offsets_count_the_bom() -> None:
    data = codecs.BOM_UTF8 + b"version: 1\n# \xff\xfe\xfd\nservices: {}\n# d\xe9j\xe0\n"
    found = problems(data)
    assert [where(p) for p in found] == [(2, 3), (4, 4), (4, 6)]
    assert "0xFF 0xFE 0xFD at byte offset 16" in found[0].message
    e_acute, a_grave = data.index(b"\xe9"), data.index(b"\xe0")
    assert f"0xE9 at byte offset {e_acute}" in found[1].message
    assert f"0xE0 at byte offset {a_grave}" in found[2].message


def test_columns_count_characters_not_bytes() -> None:
    # "é" is two bytes; the bad value after it is at character column 18, byte column 19.
    data = "version: 1\nservices:\n  é.example.com: {lifecycle: renw}\n".encode()
    [problem] = problems(data)
    assert where(problem) == (3, 30)
    assert problem.message == "unknown lifecycle 'renw'"


def test_utf8_with_a_bom_and_crlf_is_read() -> None:
    data = codecs.BOM_UTF8 + GOOD.replace(b"\n", b"\r\n")
    spec = parse_spec(data, "s.yaml")
    assert [s.name for s in spec.services] == ["www.example.com"]
    location = spec.services[0].location
    assert location is not None and (location.line, location.column) == (3, 3)


def test_lone_carriage_returns_are_line_breaks_for_positions_too() -> None:
    data = b"version: 1\rservices:\r  www.example.com:\r    lifecycle: renw\r"
    [problem] = problems(data)
    assert where(problem) == (4, 16)


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ],
)
def test_utf16_and_utf32_are_refused_with_the_fix(bom: bytes, encoding: str) -> None:
    [problem] = problems(bom + GOOD.decode().encode(encoding))
    assert where(problem) == (1, 1)
    assert problem.message.startswith("the file is UTF-")
    assert problem.fix == "save the spec as UTF-8"


def test_utf16_without_a_bom_is_caught_by_its_nul_bytes() -> None:
    [problem] = problems(GOOD.decode().encode("utf-16-le"))
    assert where(problem) == (1, 2)
    assert "NUL" in problem.message


@pytest.mark.parametrize(
    ("char", "what"),
    [
        ("\x07", "control character U+0007"),
        ("\x1b", "control character U+001B"),
        ("\x7f", "control character U+007F"),
        ("\x85", "control character U+0085"),  # NEL: a line break for YAML 1.1
        ("\u202e", "bidirectional control character U+202E"),  # "Trojan Source"
        ("\u2066", "bidirectional control character U+2066"),
        ("\u2028", "line separator U+2028"),
        ("\ufeff", "byte order mark U+FEFF"),
        ("\uffff", "non-character U+FFFF"),
    ],
)
def test_invisible_characters_are_located(char: str, what: str) -> None:
    text = f"version: 1\nservices:\n  www.example.com:  # a com{char}ment\n    lifecycle: renew\n"
    [problem] = problems(text.encode())
    assert where(problem) == (3, 28)
    assert what in problem.message
    assert problem.fix == "remove it"


def test_every_invisible_character_is_reported_at_once() -> None:
    text = "version: 1\x01\nservices: {}\x02\n# \u202e\n"
    assert [where(p) for p in problems(text.encode())] == [(1, 11), (2, 13), (3, 3)]


@pytest.mark.parametrize("escape", ["\\u202e", "\\x00", "\\x1b", "\\u2029", "\\e"])
def test_invisible_characters_written_as_escapes_are_refused_too(escape: str) -> None:
    text = f'version: 1\nservices:\n  "www.example.com{escape}":\n    lifecycle: renew\n'
    first = problems(text.encode())[0]
    assert where(first) == (3, 3)
    assert "U+" in first.message and first.fix == "remove it"


def test_a_surrogate_escape_is_a_syntax_error_at_the_escape() -> None:
    text = 'version: 1\nservices:\n  "www.example.com\\ud800":\n    lifecycle: renew\n'
    [problem] = problems(text.encode())
    assert where(problem) == (3, 21)
    assert "escape" in problem.message


def test_tabs_inside_values_and_comments_are_fine() -> None:
    data = b'version: 1\t# a\ttab\nservices:\n  www.example.com:\n    lifecycle:\t"renew"\n'
    assert parse_spec(data, "s.yaml").services[0].lifecycle == "renew"
