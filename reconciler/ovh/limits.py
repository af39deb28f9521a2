"""Bounds on what an API may send: far above any real OVH account, far below what would
exhaust memory or time.

Each bound is checked where the value arrives, before it is acted upon: the bytes of an
answer while its stream is read (not after), the announced number of objects and the
number of pages before a second page is asked for, the ids of a listing before the
first id is read. Past a bound the read stops with one ``LimitExceeded`` naming the
endpoint, the bound and its value; nothing was changed (a bound is met while reading).

Why these values (``docs/reliability.md``, "Hostile API"):

- ``max_answer_bytes`` 32 MiB: OVH's largest answers are Iceberg pages, about 1.4 MB per
  1,000 services; a listing of 1,000,000 ids is about 10 MB. Parsed JSON costs about ten
  times its size in memory: a bounded answer is at most a few hundred MB.
- ``max_objects`` 1,000,000: objects in one listing (``X-Pagination-Elements``, or the
  ids of a per-id listing). The largest accounts hold tens of thousands of services.
- ``max_pages`` 10,000: pages of one Iceberg listing; at OVH's page sizes the objects
  bound is reached first. Stops an endpoint that answers one object per page.
- ``max_name_length`` 1,000 characters: an id of a listing (a path segment; a DNS name
  has at most 253) and a service's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MAX_ANSWER_BYTES: Final = 32 * 1024 * 1024
MAX_OBJECTS: Final = 1_000_000
MAX_PAGES: Final = 10_000
MAX_NAME_LENGTH: Final = 1_000


@dataclass(frozen=True, slots=True)
class Bounds:
    """What the client accepts of an answer (see the module docstring for why)."""

    max_answer_bytes: int = MAX_ANSWER_BYTES  # of one answer's body, decoded
    max_objects: int = MAX_OBJECTS  # in one listing
    max_pages: int = MAX_PAGES  # of one Iceberg listing
    max_name_length: int = MAX_NAME_LENGTH  # of an id in a listing

    def __post_init__(self) -> None:
        if min(self.max_answer_bytes, self.max_objects, self.max_pages) < 1:
            raise ValueError("bounds must be at least 1")
        if self.max_name_length < 1:
            raise ValueError("bounds must be at least 1")


def size_text(count: int) -> str:
    """A byte count as messages write it: ``32 MiB``, ``1.5 KiB``, ``12 bytes``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            value = count / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"
