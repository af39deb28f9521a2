"""The apply lock: one ``reconciler apply`` at a time per journal.

``reconciler apply`` holds an exclusive ``flock`` on ``<journal>.lock`` from the moment it
re-reads the account until its last record: two applies sharing a journal never run at
once, so the second one re-reads after the first one is done and finds nothing left to
do, instead of sending the same calls. The kernel releases the lock when the process
ends, however it ends: a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from reconciler.clock import Clock, SystemClock
from reconciler.errors import LockedError
from reconciler.journal.records import time_text
from reconciler.journal.writer import HeldFile, open_private

LOCK_SUFFIX: Final = ".lock"


def lock_path(journal: Path) -> Path:
    """The lock file of a journal: ``journal.jsonl`` → ``journal.jsonl.lock``."""
    journal = Path(journal)
    return journal.with_name(journal.name + LOCK_SUFFIX)


class ApplyLock(HeldFile):
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
        self._fd = None

    def __repr__(self) -> str:
        return f"ApplyLock(path={str(self.path)!r}, held={self._fd is not None})"

    def __enter__(self) -> ApplyLock:
        self.acquire()
        return self

    def acquire(self) -> None:
        if self._fd is not None:
            return
        fd = open_private(self.path, os.O_RDWR)
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
