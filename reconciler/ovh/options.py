"""What a command line may choose of the client, importable without the HTTP stack:
``reconciler plan --help`` shows these defaults and must not load httpx for them
(docs/performance.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

DEFAULT_CONCURRENCY: Final = 10  # requests in flight at once


class ReadStrategy(StrEnum):
    """How a collection such as ``/services`` is read."""

    AUTO = "auto"  # Iceberg pages; per-id reads when the API answers without them
    PER_ID = "per-id"  # the list of ids, then one GET per id (concurrently)
