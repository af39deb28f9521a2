"""The apply journal: what every run of ``reconciler apply`` did, one JSON object a line.

The live API is the source of truth (there is no state file); the journal is the
*record*: who did what, when, with which answer and OVH query id. It lets a human audit
a run (``reconciler journal``) and lets apply resume an immediate deletion whose
e-mailed token did not come in time without asking OVH for a second e-mail. The format
and the guarantees are in ``docs/journal.md``.

- ``records``: ``Record``, ``JournalCall``, ``Phase``, ``Outcome`` (validated values);
- ``writer``: ``JournalWriter`` (appended, locked, fsynced, redacted), ``ensure_writable``;
- ``reader``: ``read_journal`` (a torn line tolerated where a crash left it);
- ``summaries``: ``runs`` — each run summed up, as ``reconciler journal`` lists them;
- ``lock``: ``ApplyLock`` — one apply at a time per journal.
"""

# The names below are loaded from their module on first use (PEP 562), not when the
# package is: ``plan`` asks ``needs_journal`` of every plan, and only a plan that
# needs the journal should pay for its pydantic records and its writer
# (docs/performance.md). Type checkers see ordinary imports.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.journal.lock import LOCK_SUFFIX, ApplyLock, lock_path
    from reconciler.journal.reader import JournalContents, read_journal
    from reconciler.journal.records import (
        JOURNAL_VERSION,
        REDACTED,
        JournalCall,
        Outcome,
        Phase,
        Record,
        redact_body,
        time_text,
        token_digest,
    )
    from reconciler.journal.summaries import (
        RunSummary,
        done_before,
        done_before_in,
        needs_journal,
        runs,
    )
    from reconciler.journal.writer import (
        JOURNAL_FILE,
        JournalWriter,
        RunContext,
        ensure_writable,
    )

# name -> the module of this package that defines it
_HOMES: dict[str, str] = {
    "LOCK_SUFFIX": "lock",
    "ApplyLock": "lock",
    "lock_path": "lock",
    "JournalContents": "reader",
    "read_journal": "reader",
    "JOURNAL_VERSION": "records",
    "REDACTED": "records",
    "JournalCall": "records",
    "Outcome": "records",
    "Phase": "records",
    "Record": "records",
    "redact_body": "records",
    "time_text": "records",
    "token_digest": "records",
    "RunSummary": "summaries",
    "done_before": "summaries",
    "done_before_in": "summaries",
    "needs_journal": "summaries",
    "runs": "summaries",
    "JOURNAL_FILE": "writer",
    "JournalWriter": "writer",
    "RunContext": "writer",
    "ensure_writable": "writer",
}

# Spelled out (not ``sorted(_HOMES)``) so that linters and type checkers read it.
__all__ = [
    "ApplyLock",
    "JOURNAL_FILE",
    "JOURNAL_VERSION",
    "JournalCall",
    "JournalContents",
    "JournalWriter",
    "LOCK_SUFFIX",
    "Outcome",
    "Phase",
    "REDACTED",
    "Record",
    "RunContext",
    "RunSummary",
    "done_before",
    "done_before_in",
    "ensure_writable",
    "lock_path",
    "needs_journal",
    "read_journal",
    "redact_body",
    "runs",
    "time_text",
    "token_digest",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
