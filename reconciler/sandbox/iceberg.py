"""Iceberg, OVH's paged listings: page sizes, filters, sort, and what a listing remembers.

Pure: a page is cut from the expanded services the backend reads; ``Listings`` keeps,
per filter, the total and where each page started, valid while the store's listing
generation stays the same (see ``store.py``), so that going page after page never
re-reads the skipped services.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Iceberg page sizes: 1000 when none is asked (``ovh-api-notes``, from the control
# panel); the panel itself asks up to 50,000 on some listings (``X-Pagination-Size:
# 50000`` in ``ovh/manager``'s PCI AI and e-mail account lists), so that is the cap here:
# no larger size is known to be accepted (inferred, no published bound).
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 50_000
MAX_CACHED_PAGES = 256  # cached Iceberg answers kept at once (seeded lag only)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None = None


@dataclass(slots=True)
class Listing:
    """One listing's total and, by position, the id just before it (where the page
    that starts there starts): a cache, valid for one generation of the services."""

    total: int | None = None
    last_before: dict[int, int] = field(default_factory=dict)


class Listings:
    """The listings remembered for the current generation (a few: one per filter)."""

    LIMIT = 32

    def __init__(self) -> None:
        self.generation = -1
        self.by_key: dict[tuple[Any, ...], Listing] = {}

    def get(self, generation: int, key: tuple[Any, ...]) -> Listing:
        if generation != self.generation:
            self.generation, self.by_key = generation, {}
        if key not in self.by_key and len(self.by_key) >= self.LIMIT:
            self.by_key.clear()
        return self.by_key.setdefault(key, Listing())


def dotted(item: Mapping[str, Any], key: str) -> Any:
    value: Any = item
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, value)
    return (2, str(value))


def filter_matches(item: Mapping[str, Any], key: str, op: str, wanted: str) -> bool:
    """An Iceberg filter ``key:op=value`` on an expanded object (ops: eq ne lt gt le ge
    like nlike in; ``like`` takes SQL wildcards ``%`` and ``_``)."""
    value = dotted(item, key)
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    if op == "eq":
        return text == wanted
    if op in ("ne", "nq"):
        return text != wanted
    if op == "in":
        return text in wanted.split(",")
    if op in ("like", "nlike"):
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in wanted)
        found = re.fullmatch(pattern, text, flags=re.IGNORECASE) is not None
        return found if op == "like" else not found
    if value is None:
        return False
    left: Any = value
    right: Any = wanted
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            right = float(wanted)
        except ValueError:
            return False
    else:
        left = text
    comparisons: dict[str, bool] = {
        "lt": left < right,
        "gt": left > right,
        "le": left <= right,
        "ge": left >= right,
    }
    return comparisons[op]


FILTER_OPS = ("eq", "ne", "nq", "lt", "gt", "le", "ge", "like", "nlike", "in")
