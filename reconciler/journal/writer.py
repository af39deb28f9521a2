"""Writing the journal: appended, one ``write`` per record under an exclusive ``flock``,
fsynced before the writer returns; a torn last line (a crash mid-write) ended and marked
by the next writer. Every line passes through the run's ``Secrets`` before it is
written. See ``docs/journal.md`` ("What is guaranteed", "Damage").
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from reconciler.clock import Clock
from reconciler.errors import JournalError
from reconciler.journal.records import JournalCall, Outcome, Phase, Record
from reconciler.redaction import Secrets

JOURNAL_FILE: Final = "journal.jsonl"


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every record of one run shares."""

    run: str  # the run id
    plan: str  # "sha256:<hex>" of the plan being applied
    endpoint: str


class HeldFile:
    """A file held by one descriptor until ``close`` (or the end of a ``with`` block,
    however it ends): the journal's writer, and the apply lock, whose ``flock`` the
    kernel releases when that descriptor closes."""

    _fd: int | None = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class JournalWriter(HeldFile):
    """Appends fsynced records for one run. Use as a context manager (or ``open`` /
    ``close``); opening creates the file (mode 0600) and its directory, and repairs a
    torn last line left by a crash.

    ``secrets`` blanks every secret of the process from every line, whatever field it
    would land in: pass the client's (``OvhClient.secrets``), so that a token apply
    learns, or the consumer key an API echoes, never reaches the file.

    ``on_write(count)`` is called after each record is durably written (fsynced), with
    the number of records this writer has written: an observer of the run's progress
    that can also stop it there, by raising, between two records. The writer itself
    never ends the process; the crash tests install their kill through this seam from
    outside the product (docs/journal.md, "Testing crash safety").
    """

    def __init__(
        self,
        path: Path,
        context: RunContext,
        *,
        clock: Clock,
        secrets: Secrets | None = None,
        on_write: Callable[[int], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.context = context
        self.secrets = secrets if secrets is not None else Secrets()
        self._clock = clock
        self._on_write = on_write
        self._fd = None
        self.written = 0

    def __repr__(self) -> str:
        return f"JournalWriter(path={str(self.path)!r}, run={self.context.run!r})"

    def __enter__(self) -> JournalWriter:
        return self.open()

    def open(self) -> JournalWriter:
        if self._fd is not None:
            return self
        self._fd = open_private(self.path, os.O_RDWR | os.O_APPEND)
        try:
            self._repair_torn_tail()
        except OSError as exc:
            self.close()
            raise unwritable(self.path, exc) from None
        return self

    def add_secret(self, secret: str) -> None:
        """Never let ``secret`` reach the file (nor any other output of ``secrets``)."""
        self.secrets.learn(secret)

    def write(
        self,
        *,
        phase: Phase | str,
        outcome: Outcome | str,
        service: str | None = None,
        service_id: int | None = None,
        action: str | None = None,
        call: JournalCall | None = None,
        attempt: int | None = None,
        status: int | None = None,
        query_id: str | None = None,
        error: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Record:
        """Append one record and fsync it; returns the record written."""
        record = Record(
            time=self._clock.now(),
            run=self.context.run,
            plan=self.context.plan,
            endpoint=self.context.endpoint,
            phase=str(phase),
            outcome=str(outcome),
            service=service,
            service_id=service_id,
            action=action,
            call=call,
            attempt=attempt,
            status=status,
            query_id=query_id,
            error=error,
            detail=dict(detail or {}),
        )
        self._append(self._line(record))
        return record

    def _line(self, record: Record) -> bytes:
        text = json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":"))
        return (self.secrets.redact(text) + "\n").encode("utf-8")

    def _append(self, data: bytes) -> None:
        fd = self._fd
        if fd is None:
            raise RuntimeError("the journal is not open")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                view = memoryview(data)
                while view:
                    done = os.write(fd, view)
                    view = view[done:]
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as exc:
            raise unwritable(self.path, exc) from None
        self.written += 1
        if self._on_write is not None:
            self._on_write(self.written)

    def _repair_torn_tail(self) -> None:
        """End a torn last line (a crash mid-write) and mark it with a record."""
        assert self._fd is not None
        fd = self._fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
                return
            line_number, last = _last_line(fd, size)
            complete = _parses(last)
            os.write(fd, b"\n")
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        if not complete:
            self.write(
                phase=Phase.JOURNAL,
                outcome=Outcome.REPAIRED,
                error=f"line {line_number} was torn by an interrupted write; kept as it is",
                detail={"torn_line": line_number},
            )


def _last_line(fd: int, size: int) -> tuple[int, bytes]:
    """The 1-based number and the bytes of the last line of a file not ending in \\n."""
    newlines = 0
    start = 0
    offset = 0
    chunk_size = 1 << 20
    while offset < size:
        chunk = os.pread(fd, min(chunk_size, size - offset), offset)
        if not chunk:
            break
        newlines += chunk.count(b"\n")
        position = chunk.rfind(b"\n")
        if position >= 0:
            start = offset + position + 1
        offset += len(chunk)
    return newlines + 1, os.pread(fd, size - start, start)


def _parses(line: bytes) -> bool:
    try:
        Record.from_json(json.loads(line.decode("utf-8")))
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some filesystems refuse fsync on directories
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def unwritable(path: Path, exc: OSError) -> JournalError:
    return JournalError(
        f"cannot write the journal {path}: {exc.strerror or exc}",
        hint="nothing is applied without a journal: check the directory, or choose "
        "another file with --journal PATH (or RECONCILER_STATE_DIR)",
    )


def open_private(path: Path, flags: int) -> int:
    """``path`` opened with ``flags``, created if need be with its directory: mode 0600
    (a journal is the account's history, for its owner only), and a new file or
    directory fsynced into its parent, so that a crash cannot lose a journal a run has
    started to write. ``JournalError`` when it cannot be."""
    try:
        created_dir = not path.parent.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        fd = os.open(path, flags | os.O_CREAT, 0o600)
    except OSError as exc:
        raise unwritable(path, exc) from None
    try:
        if not existed:
            _fsync_directory(path.parent)
            if created_dir:
                _fsync_directory(path.parent.parent)
    except OSError as exc:
        os.close(fd)
        raise unwritable(path, exc) from None
    return fd


def ensure_writable(path: Path) -> None:
    """Check, before anything is applied, that the journal can be written: creates its
    directory and the file (empty) if needed; ``JournalError`` otherwise."""
    os.close(open_private(Path(path), os.O_WRONLY | os.O_APPEND))
