"""Position-keeping YAML: bytes in, plain data and the marks of every key and value out.

``compose(data)`` reads one YAML document, safely, into a ``Document``:

- ``data``: dicts, lists and scalars, resolved as the YAML 1.2 core schema says
  (``yes`` is the string "yes"; ``true`` the boolean). Mapping keys are the text of the
  key as written (``1:`` and ``"1":`` are the same key, and a duplicate);
- ``marks``: the ``Node`` of every key and value by its path from the root, the path
  pydantic reports as an error's ``loc`` (``("services", "www.example.com", "period")``):
  its line and column, its kind, and for a scalar its text and whether it was quoted, so
  that a caller can refuse what YAML 1.1 and 1.2 readers disagree on (``YAML11_BOOLEANS``);
- ``problems``: every problem found, each at its line and column with a fix.

What a configuration never needs but an attacker might use is refused, never expanded
or constructed: text that is not UTF-8 (a UTF-8 byte order mark is allowed); control,
format and other invisible characters (``is_invisible``), anywhere, escapes included;
anchors, aliases and tags other than the standard ones; several documents; duplicate
keys (the first is kept); nesting deeper than ``Limits.max_depth`` and more than
``Limits.max_nodes`` nodes (reading stops at once, so a "billion laughs" costs what its
bytes cost). A refused alias or scalar stands in the data as a ``Refused`` placeholder,
and a list or mapping written as a key as a ``CollectionKey``, so that the rest of the
document can still be checked. Syntax errors keep PyYAML's position with a plainer
wording and a fix (tabs in indentation get their own, one per line).

It reads PyYAML's event stream (libyaml's parser when available) and builds the data
iteratively. It imports nothing of the product that uses it.
"""

from marked_yaml._compose import FAST_PARSER, PURE_PARSER, compose
from marked_yaml._scalars import MAX_INT_DIGITS, YAML11_BOOLEANS
from marked_yaml._text import describe_character, invisible_characters, is_invisible, shown
from marked_yaml._values import (
    DEFAULT_LIMITS,
    NO_MARKS,
    SCALAR_KINDS,
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

__all__ = [
    "DEFAULT_LIMITS",
    "FAST_PARSER",
    "MAX_INT_DIGITS",
    "NO_MARKS",
    "PURE_PARSER",
    "SCALAR_KINDS",
    "YAML11_BOOLEANS",
    "Code",
    "CollectionKey",
    "Document",
    "Key",
    "Kind",
    "Limits",
    "Mark",
    "Marks",
    "Node",
    "Path",
    "Problem",
    "Refused",
    "compose",
    "describe_character",
    "invisible_characters",
    "is_invisible",
    "shown",
]
