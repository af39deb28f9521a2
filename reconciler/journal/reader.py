"""Reading the journal: every record in file order, a torn line tolerated where a crash
left it, any other damage an error with its line number (``docs/journal.md``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import JournalError
from reconciler.journal.records import Outcome, Phase, Record


@dataclass(frozen=True, slots=True)
class JournalContents:
    path: Path
    records: tuple[Record, ...]
    torn: tuple[int, ...] = ()  # line numbers of torn lines (crashes mid-write), tolerated


def read_journal(path: Path, *, missing_ok: bool = False) -> JournalContents:
    """Every record of the journal at ``path``, in file order.

    A torn last line, or a torn line a later ``repaired`` record names, is tolerated and
    reported in ``torn``; any other invalid line raises ``JournalError`` with its line
    number. A missing file is an error unless ``missing_ok`` (then: no records)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return JournalContents(path, ())
        raise JournalError(
            f"no journal at {path}: nothing was applied with it yet",
            hint="give the journal of the runs you mean with --journal PATH "
            "(`reconciler journal --help` says which one is read by default)",
        ) from None
    except OSError as exc:
        raise JournalError(
            f"cannot read the journal {path}: {exc.strerror or exc}",
            hint="check the path and its permissions",
        ) from None
    records: list[Record] = []
    bad: list[tuple[int, str]] = []
    lines = raw.split(b"\n")
    ends_clean = raw.endswith(b"\n")
    if ends_clean:
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(Record.from_json(json.loads(line.decode("utf-8"))))
        except (ValueError, UnicodeDecodeError) as exc:
            bad.append((number, _reason(exc)))
    repaired = {
        record.detail.get("torn_line")
        for record in records
        if record.phase == Phase.JOURNAL and record.outcome == Outcome.REPAIRED
    }
    torn: list[int] = []
    last = len(lines)
    for number, reason in bad:
        if number in repaired or (number == last and not ends_clean):
            torn.append(number)
            continue
        raise JournalError(
            f"{path}:{number}: not a journal record ({reason})",
            hint="the journal was edited or damaged; move it aside to keep it, and apply "
            "with a new one (--journal PATH)",
        )
    return JournalContents(path, tuple(records), tuple(torn))


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg} at column {exc.colno}"
    return str(exc)
