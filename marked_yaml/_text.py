"""Bytes to text, and the characters a reader of the file cannot see."""

from __future__ import annotations

import codecs
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator

from marked_yaml._values import Code, Limits, Problem

_SHOWN_MAX = 60  # characters of any value echoed back in a message


def cut(text: str, limit: int = _SHOWN_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str) -> str:
    """A value quoted for a message (``repr``: escapes stay escapes, so an invisible
    character shows), cut short so that a hostile value cannot flood it."""
    return repr(cut(text))


# --- bytes ------------------------------------------------------------------------------

_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_UNDECODED = re.compile("[\udc80-\udcff]+")


def decode(data: bytes, limits: Limits, noun: str) -> tuple[str | None, list[Problem]]:
    """The text of ``data`` (UTF-8, an optional byte order mark dropped), or the problems
    that prevent reading it, each located by line and column and by its byte offset."""
    for other_bom, encoding in _OTHER_BOMS:
        if data.startswith(other_bom):
            return None, [
                Problem(Code.ENCODING, 1, 1, f"the file is {encoding} text", _utf8_fix(noun))
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
    byte_offset_of = _ByteOffsets(text)
    problems: list[Problem] = []
    for match in _UNDECODED.finditer(text):
        if len(problems) > limits.max_problems:
            break
        line, column = lines.position(match.start())
        raw = bytes(ord(char) - 0xDC00 for char in match.group()[:4])
        listed = " ".join(f"0x{byte:02X}" for byte in raw) + (
            " …" if len(match.group()) > 4 else ""
        )
        offset = bom + byte_offset_of(match.start())
        single = len(raw) == 1 and raw[0] >= 0xA0  # how Latin-1 writes accented letters
        problems.append(
            Problem(
                Code.ENCODING,
                line,
                column,
                f"byte{'s' * (len(raw) > 1)} {listed} at byte offset {offset} "
                f"{'are' if len(raw) > 1 else 'is'} not valid UTF-8",
                f"save the {noun} as UTF-8 (it looks like Latin-1 or Windows-1252 text)"
                if single
                else _utf8_fix(noun),
            )
        )
    return None, problems


def _utf8_fix(noun: str) -> str:
    return f"save the {noun} as UTF-8"


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


# --- invisible characters -----------------------------------------------------------------

# What no one reading the file can see, so what it must not hold: C0 controls but tab,
# line feed and carriage return; DEL; C1 controls (NEL among them, a line break for YAML
# 1.1); every format character (category Cf: zero-width spaces and joiners, bidirectional
# controls of "Trojan Source", the byte order mark, soft hyphens, tags...); line and
# paragraph separators; lone surrogates; non-characters; and the other characters that
# Unicode says are ignored when shown (Default_Ignorable_Code_Point: variation
# selectors, Hangul fillers...).
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt) outside category Cf.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def is_invisible(char: str) -> bool:
    """Whether ``char`` is one that a reader of the file cannot see (see above)."""
    code = ord(char)
    if code < 0x80:
        return (code < 0x20 and char not in "\t\n\r") or code == 0x7F
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return True
    if 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE:
        return True  # a non-character
    return any(first <= code <= last for first, last in _IGNORABLE_RANGES)


def invisible_characters(text: str) -> Iterator[tuple[int, str]]:
    """Each invisible character of ``text`` with its index, in order. Linear: the
    distinct characters of the text are classified once."""
    if text.isascii():
        if text.isprintable():  # no control character at all: the common case, at C speed
            return
        pattern = _ASCII_CONTROLS
    else:
        found = sorted({char for char in set(text) if is_invisible(char)})
        if not found:
            return
        pattern = re.compile("[" + "".join(re.escape(char) for char in found) + "]")
    for match in pattern.finditer(text):
        yield match.start(), match.group()


def describe_character(char: str) -> str:
    """``U+200B ZERO WIDTH SPACE``: the code point, and its name when Unicode gives one."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def invisible_message(char: str, noun: str) -> str:
    """What a problem says of an invisible character."""
    what = describe_character(char)
    if char in _BIDI_CONTROLS:
        return (
            f"invisible bidirectional control character {what}: it can make the text "
            "display differently from what it is"
        )
    if char in "\u2028\u2029":
        return f"invisible line separator {what} is not allowed in a {noun}"
    if char == "\ufeff":
        return f"byte order mark {what} in the middle of the file"
    if "\ud800" <= char <= "\udfff":
        return f"lone surrogate {what} is not allowed in a {noun}"
    if unicodedata.category(char) == "Cc":
        return f"control character {what} is not allowed in a {noun}"
    if unicodedata.category(char) == "Cn":
        return f"non-character {what} is not allowed in a {noun}"
    return f"invisible character {what} is not allowed in a {noun}"


INVISIBLE_FIX = "remove it"


def invisible_problems(text: str, limits: Limits, noun: str) -> list[Problem]:
    """A problem for each invisible character of ``text`` (one in all for NUL bytes: the
    file is binary, or UTF-16 without its byte order mark)."""
    if "\x00" in text:
        line, column = LineIndex(text).position(text.index("\x00"))
        return [
            Problem(
                Code.ENCODING,
                line,
                column,
                "the file holds NUL bytes: it is binary, or UTF-16 text",
                f"save the {noun} as UTF-8 text",
            )
        ]
    problems: list[Problem] = []
    lines: LineIndex | None = None
    for index, char in invisible_characters(text):
        if len(problems) > limits.max_problems:
            break
        lines = lines or LineIndex(text)
        line, column = lines.position(index)
        problems.append(
            Problem(Code.INVISIBLE, line, column, invisible_message(char, noun), INVISIBLE_FIX)
        )
    return problems


# --- positions --------------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class LineIndex:
    """Line and column (1-based, in characters) of an index into a text. Line breaks are
    those of YAML 1.2: ``\\r\\n``, ``\\n`` and a lone ``\\r``."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [match.end() for match in _LINE_BREAK.finditer(text)]

    def position(self, index: int) -> tuple[int, int]:
        line = bisect_right(self._starts, index)
        return line, index - self._starts[line - 1] + 1


def split_lines(text: str) -> list[str]:
    return _LINE_BREAK.split(text)
