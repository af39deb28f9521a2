"""Hostile YAML shared by the composer's tests and the spec's: the "billion laughs"
anchors, and a measure of the Python memory a parse takes (nothing may be expanded)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Nine anchors, each a list of nine aliases of the one before: expanded, 9**9 (387
# million) strings; read without expanding, the events of its bytes.
BILLION_LAUGHS = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def peak_memory(action: Callable[[], T], *, catch: bool = False) -> tuple[T | BaseException, int]:
    """What ``action`` returned (or, with ``catch``, raised), and the peak of Python
    memory it used."""
    tracemalloc.start()
    try:
        try:
            result: T | BaseException = action()
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            if not catch:
                raise
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
