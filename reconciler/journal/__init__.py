"""The apply journal: what every run of ``reconciler apply`` did, one JSON object a line.

The live API is the source of truth (there is no state file); the journal is the
*record*: who did what, when, with which answer and OVH query id. It lets a human audit
a run (``reconciler journal``) and lets apply resume an immediate deletion whose
e-mailed token did not come in time without asking OVH for a second e-mail. The format
and the guarantees are in ``docs/journal.md``.

- ``records``: ``Record``, ``JournalCall``, ``Phase``, ``Outcome`` (validated values);
- ``writer``: ``JournalWriter`` (appended, locked, fsynced, redacted), ``ensure_writable``;
- ``reader``: ``read_journal`` (a torn line tolerated where a crash left it);
- ``runs``: ``runs`` — each run summed up, as ``reconciler journal`` lists them;
- ``lock``: ``ApplyLock`` — one apply at a time per journal.
"""

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
from reconciler.journal.runs import RunSummary, done_before, done_before_in, needs_journal, runs
from reconciler.journal.writer import JOURNAL_FILE, JournalWriter, RunContext, ensure_writable

__all__ = [
    "JOURNAL_FILE",
    "JOURNAL_VERSION",
    "LOCK_SUFFIX",
    "REDACTED",
    "ApplyLock",
    "JournalCall",
    "JournalContents",
    "JournalWriter",
    "Outcome",
    "Phase",
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
