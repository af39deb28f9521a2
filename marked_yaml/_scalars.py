"""Scalars resolved as the YAML 1.2 core schema says."""

from __future__ import annotations

import re

from marked_yaml._values import Kind

# Converting decimal text to int costs quadratic time; Python itself refuses more than
# 4,300 digits by default. Longer integers keep their text (their kind is still INT).
MAX_INT_DIGITS = 4_300

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
# Bound once: on Python 3.11 `Kind.STR` is a look-up of ~0.2 us, and a large file has
# tens of thousands of scalars.
_STR = Kind.STR

# The plain words that are not strings, with what they are: one look-up for the lot.
_WORDS: dict[str, tuple[Kind, None | bool]] = {
    **dict.fromkeys(_NULLS, (Kind.NULL, None)),
    **dict.fromkeys(_TRUE, (Kind.BOOL, True)),
    **dict.fromkeys(_FALSE, (Kind.BOOL, False)),
}
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", re.ASCII)
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN)",
    re.ASCII,
)

# The booleans of YAML 1.1 that YAML 1.2 reads as strings: a plain `yes` is true to one
# reader and a word to the other. Resolved as 1.2 does; callers may refuse them.
YAML11_BOOLEANS = frozenset(
    {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO"}
    | {"on", "On", "ON", "off", "Off", "OFF"}
)

Scalar = str | int | float | bool | None


def resolve(text: str, plain: bool) -> tuple[Kind, Scalar]:
    """The kind and value of a scalar; quoted (or ``!!str``-tagged) ones are strings."""
    if not plain:
        return _STR, text
    word = _WORDS.get(text)
    if word is not None:
        return word
    if text[0].isalpha():  # most values are words: no number starts with a letter
        return _STR, text
    if _INT.fullmatch(text):
        if len(text) > MAX_INT_DIGITS:
            return Kind.INT, text
        if text[:2] in ("0x", "0o"):
            return Kind.INT, int(text, 0)
        return Kind.INT, int(text)
    if _FLOAT.fullmatch(text):
        return Kind.FLOAT, _float(text)
    return Kind.STR, text


def _float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(text)
