"""The apply journal: what every run of ``reconciler apply`` did, one JSON object a line.

The live API is the source of truth (there is no state file); the journal is the
*record*: who did what, when, with which answer and OVH query id. It lets a human audit
a run (``reconciler journal``) and lets apply resume an immediate deletion whose
e-mailed token did not come in time without asking OVH for a second e-mail.

Writing (``JournalWriter``)
    Appended (``O_APPEND``, one ``write`` per record, under an exclusive ``flock`` so that
    two processes sharing the file never interleave a line) and **fsynced** before the
    writer returns. Apply writes a record before and after every mutating call, so a
    crash at any point leaves at most the record of a call whose outcome is unknown —
    which is exactly what apply re-reads the account for on the next run.

    A crash *during* a write can leave a torn last line. The next writer that opens the
    journal ends that line and appends a ``journal``/``repaired`` record naming it, so
    every byte ever written is kept and the damage stays marked where it happened.

Reading (``read_journal``)
    Tolerates a torn last line (reported in ``JournalContents.torn``) and a torn line
    that a later ``repaired`` record names; any other line that is not a valid record is
    a ``JournalError`` with its line number.

Locking (``ApplyLock``)
    ``reconciler apply`` holds an exclusive ``flock`` on ``<journal>.lock`` from the
    moment it re-reads the account until its last record: two applies sharing a journal
    never run at once, so the second one re-reads after the first one is done and finds
    nothing left to do, instead of sending the same calls. The kernel releases the lock
    when the process ends, however it ends: a crash never leaves a stale lock.

Secrets
    No record ever holds a secret. Call bodies are redacted by key (``token``,
    ``secret``, ``password``... → ``"<redacted>"``), and every secret the run learns (an
    e-mailed token, a ``--token``) is registered with ``add_secret`` and scrubbed from
    the line as a last guard, whatever field it would have reached. A token is
    identified only by ``token_sha256`` (the first 16 hex digits of its SHA-256).

The record format is documented in ``docs/journal.md``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from reconciler.clock import Clock, SystemClock
from reconciler.errors import JournalError, LockedError

JOURNAL_VERSION: Final = 1
JOURNAL_FILE: Final = "journal.jsonl"
REDACTED: Final = "<redacted>"
_SECRET_KEY_WORDS: Final = ("token", "secret", "password", "credential", "consumerkey")
_KEYS: Final = (
    "v",
    "time",
    "run",
    "plan",
    "endpoint",
    "service",
    "service_id",
    "action",
    "phase",
    "call",
    "attempt",
    "outcome",
    "status",
    "query_id",
    "error",
    "detail",
)


class Phase(StrEnum):
    """What a record is about."""

    RUN = "run"  # a run starts or ends
    ACTION = "action"  # one planned action starts or ends
    CALL = "call"  # a mutating API call: before it is sent, and its answer
    CHECK = "check"  # a re-read of the account that decided something
    TOKEN = "token"  # the e-mailed confirmation token of a deletion
    JOURNAL = "journal"  # the journal itself (a torn line repaired)


class Outcome(StrEnum):
    STARTED = "started"
    FINISHED = "finished"
    SENDING = "sending"  # written (and fsynced) before the call leaves
    OK = "ok"  # the API accepted the call
    AMBIGUOUS = "ambiguous"  # 5xx, dropped connection, timeout: it may have taken effect
    FAILED = "failed"
    GONE = "gone"  # the service is not (or no longer) on the account
    EFFECT_SHOWN = "effect-shown"  # a re-read shows the change is made
    NO_EFFECT = "no-effect"  # a re-read shows the change is not made
    SKIPPED = "skipped"  # the account already matched: nothing sent
    DONE = "done"
    REFUSED = "refused"
    WAITING = "waiting"
    FOUND = "found"
    TIMEOUT = "timeout"
    REPAIRED = "repaired"


@dataclass(frozen=True, slots=True)
class JournalCall:
    method: str
    path: str
    body: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": redact_body(self.body)}


@dataclass(frozen=True, slots=True)
class Record:
    """One line of the journal (see ``docs/journal.md`` for each field)."""

    time: datetime
    run: str
    plan: str
    endpoint: str
    phase: str
    outcome: str
    service: str | None = None
    service_id: int | None = None
    action: str | None = None
    call: JournalCall | None = None
    attempt: int | None = None
    status: int | None = None
    query_id: str | None = None
    error: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "v": JOURNAL_VERSION,
            "time": time_text(self.time),
            "run": self.run,
            "plan": self.plan,
            "endpoint": self.endpoint,
            "service": self.service,
            "service_id": self.service_id,
            "action": self.action,
            "phase": self.phase,
            "call": self.call.to_json() if self.call is not None else None,
            "attempt": self.attempt,
            "outcome": self.outcome,
            "status": self.status,
            "query_id": self.query_id,
            "error": self.error,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_json(cls, data: Any) -> Record:
        """A record from a parsed line; ``ValueError`` saying what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        missing = [key for key in _KEYS if key not in data]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        if data["v"] != JOURNAL_VERSION:
            raise ValueError(f"journal format v{data['v']!r}; this reconciler reads v1")
        call = data["call"]
        if call is not None:
            if not isinstance(call, dict) or not isinstance(call.get("path"), str):
                raise ValueError("call is not {method, path, body}")
            call = JournalCall(str(call.get("method")), call["path"], call.get("body"))
        detail = data["detail"]
        if not isinstance(detail, dict):
            raise ValueError("detail is not an object")
        try:
            when = datetime.fromisoformat(str(data["time"]).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"time {str(data['time'])[:40]!r} is not ISO 8601") from None
        if when.tzinfo is None:
            raise ValueError("time has no timezone")
        for key in ("run", "plan", "endpoint", "phase", "outcome"):
            if not isinstance(data[key], str):
                raise ValueError(f"{key} is not a string")
        for key in ("service_id", "attempt", "status"):
            value = data[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{key} is not an integer")
        return cls(
            time=when.astimezone(UTC),
            run=data["run"],
            plan=data["plan"],
            endpoint=data["endpoint"],
            phase=data["phase"],
            outcome=data["outcome"],
            service=_optional_str(data["service"], "service"),
            service_id=data["service_id"],
            action=_optional_str(data["action"], "action"),
            call=call,
            attempt=data["attempt"],
            status=data["status"],
            query_id=_optional_str(data["query_id"], "query_id"),
            error=_optional_str(data["error"], "error"),
            detail=detail,
        )


def _optional_str(value: Any, key: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def time_text(when: datetime) -> str:
    """``2026-03-02T09:00:00.123Z``: UTC, milliseconds."""
    moment = when.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def token_digest(token: str) -> str:
    """How the journal names a token without holding it: 16 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def redact_body(body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A call body with every secret-looking value replaced by ``"<redacted>"``."""
    if body is None:
        return None
    return {str(key): _redact_value(str(key), value) for key, value in body.items()}


def _redact_value(key: str, value: Any) -> Any:
    lowered = key.lower().replace("_", "").replace("-", "")
    if any(word in lowered for word in _SECRET_KEY_WORDS) and value is not None:
        return REDACTED
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, item) for item in value]
    return value


# --- writing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every record of one run shares."""

    run: str  # the run id
    plan: str  # "sha256:<hex>" of the plan being applied
    endpoint: str


class JournalWriter:
    """Appends fsynced records for one run. Use as a context manager (or ``open`` /
    ``close``); opening creates the file (mode 0600) and its directory, and repairs a
    torn last line left by a crash.

    ``on_write(count)`` is called after each record is durably written, with the number
    of records this writer has written: the seam crash tests use to kill the process
    between two records.
    """

    def __init__(
        self,
        path: Path,
        context: RunContext,
        *,
        clock: Clock,
        on_write: Callable[[int], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.context = context
        self._clock = clock
        self._on_write = on_write
        self._fd: int | None = None
        self._secrets: set[str] = set()
        self.written = 0

    def __repr__(self) -> str:
        return f"JournalWriter(path={str(self.path)!r}, run={self.context.run!r})"

    def __enter__(self) -> JournalWriter:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> JournalWriter:
        if self._fd is not None:
            return self
        try:
            created_dir = not self.path.parent.exists()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            existed = self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _unwritable(self.path, exc) from None
        self._fd = fd
        try:
            if not existed:
                _fsync_directory(self.path.parent)
                if created_dir:
                    _fsync_directory(self.path.parent.parent)
            self._repair_torn_tail()
        except OSError as exc:
            self.close()
            raise _unwritable(self.path, exc) from None
        return self

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def add_secret(self, secret: str) -> None:
        """Never let ``secret`` reach the file, whatever field it would land in."""
        if secret:
            self._secrets.add(secret)

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
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
            escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
            if escaped != secret:
                text = text.replace(escaped, REDACTED)
        return (text + "\n").encode("utf-8")

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
            raise _unwritable(self.path, exc) from None
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


def _unwritable(path: Path, exc: OSError) -> JournalError:
    return JournalError(
        f"cannot write the journal {path}: {exc.strerror or exc}",
        hint="nothing is applied without a journal: check the directory, or choose "
        "another file with --journal PATH (or RECONCILER_STATE_DIR)",
    )


# --- reading ---------------------------------------------------------------------------


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
            "(default: $RECONCILER_STATE_DIR/journal.jsonl or .reconciler/journal.jsonl)",
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


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run as ``reconciler journal`` lists it."""

    run: str
    plan: str
    endpoint: str
    started: datetime
    ended: datetime | None  # None: the run never wrote its end (still running, or killed)
    counts: Mapping[str, int]  # outcomes of its actions: done, skipped, failed, ...


def runs(records: Iterator[Record] | tuple[Record, ...]) -> list[RunSummary]:
    """Every run of the journal, in the order they started."""
    order: list[str] = []
    first: dict[str, Record] = {}
    ended: dict[str, datetime] = {}
    counts: dict[str, dict[str, int]] = {}
    for record in records:
        if record.phase == Phase.JOURNAL:
            continue
        if record.run not in first:
            order.append(record.run)
            first[record.run] = record
            counts[record.run] = {}
        if record.phase == Phase.RUN and record.outcome == Outcome.FINISHED:
            ended[record.run] = record.time
        if record.phase == Phase.ACTION and record.outcome != Outcome.STARTED:
            tally = counts[record.run]
            tally[record.outcome] = tally.get(record.outcome, 0) + 1
    return [
        RunSummary(
            run=run,
            plan=first[run].plan,
            endpoint=first[run].endpoint,
            started=first[run].time,
            ended=ended.get(run),
            counts=counts[run],
        )
        for run in order
    ]


def ensure_writable(path: Path) -> None:
    """Check, before anything is applied, that the journal can be written: creates its
    directory and the file (empty) if needed; ``JournalError`` otherwise."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    os.close(fd)


# --- the apply lock ----------------------------------------------------------------------

LOCK_SUFFIX: Final = ".lock"


def lock_path(journal: Path) -> Path:
    """The lock file of a journal: ``journal.jsonl`` → ``journal.jsonl.lock``."""
    journal = Path(journal)
    return journal.with_name(journal.name + LOCK_SUFFIX)


class ApplyLock:
    """An exclusive lock for one apply run on a journal (see the module docstring).

    ``acquire`` waits up to ``timeout`` seconds (0: not at all) for another holder, then
    raises ``LockedError`` naming it (pid, host, since when, its run). The holder is
    written into the lock file for that message; the file itself is never deleted (an
    unlinked lock file races with the next taker)."""

    def __init__(
        self,
        journal: Path,
        *,
        timeout: float = 0.0,
        poll: float = 0.1,
        holder: str = "",
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = lock_path(journal)
        self.timeout = max(0.0, timeout)
        self._poll = poll
        self._holder = holder
        self._clock = clock or SystemClock()
        self._monotonic = monotonic
        self._sleep = sleep
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"ApplyLock(path={str(self.path)!r}, held={self._fd is not None})"

    def __enter__(self) -> ApplyLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _unwritable(self.path, exc) from None
        deadline = self._monotonic() + self.timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if self._monotonic() >= deadline:
                        raise self._locked(fd) from None
                    self._sleep(min(self._poll, max(0.0, deadline - self._monotonic())))
            self._describe(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the last descriptor releases the flock

    def _describe(self, fd: int) -> None:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time_text(self._clock.now()),
            "run": self._holder,
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        except OSError:
            pass  # the description is for messages only; the lock is what matters

    def _locked(self, fd: int) -> LockedError:
        try:
            info = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
        except (OSError, ValueError):
            info = {}
        if not isinstance(info, dict):
            info = {}
        who = ", ".join(
            f"{key} {str(info[key])[:64]}" for key in ("pid", "host", "since") if info.get(key)
        )
        waited = f" (waited {self.timeout:g} s)" if self.timeout else ""
        return LockedError(
            f"another reconciler apply is running with the journal "
            f"{self.path.with_suffix('')}{f' ({who})' if who else ''}{waited}",
            hint="wait for it to finish (this apply then has nothing left to do, or the rest), "
            "or wait for it with --lock-timeout DURATION",
        )
