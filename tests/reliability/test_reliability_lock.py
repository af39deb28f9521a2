"""The apply lock: one apply at a time per journal, the holder named to whoever waits,
released by the kernel when its holder dies however it dies (no stale lock)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FakeMonotonic, FakeSleep

from reconciler.clock import ManualClock
from reconciler.errors import JournalError, LockedError
from reconciler.journal import ApplyLock, lock_path


def test_a_second_taker_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    journal = tmp_path / "state" / "journal.jsonl"
    with ApplyLock(journal, holder="run-1", clock=ManualClock()):
        holder = json.loads(lock_path(journal).read_text())
        assert holder["run"] == "run-1" and holder["since"].startswith("2026-01-01T00:00:00")
        with pytest.raises(LockedError) as refused:
            ApplyLock(journal).acquire()
    message = str(refused.value)
    assert "another reconciler apply is running" in message and str(journal) in message
    assert f"pid {holder['pid']}" in message and "--lock-timeout" in (refused.value.hint or "")
    assert "\n" not in message
    with ApplyLock(journal):  # released: the next one takes it
        pass


def test_a_taker_waits_up_to_its_timeout(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    monotonic = FakeMonotonic()
    sleep = FakeSleep(monotonic)  # time moves only when slept
    with ApplyLock(journal):
        waiting = ApplyLock(journal, timeout=2.0, poll=0.5, monotonic=monotonic,
                            sleep=sleep.blocking)  # fmt: skip
        with pytest.raises(LockedError, match=r"waited 2 s"):
            waiting.acquire()
    assert sum(sleep.delays) == pytest.approx(2.0) and len(sleep.delays) == 4


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from reconciler.journal import "
            "ApplyLock; ApplyLock(Path(sys.argv[1])).acquire(); print('held', flush=True); "
            "time.sleep(60)",
            str(journal),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError):
            ApplyLock(journal).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=10)
    with ApplyLock(journal):
        pass


def test_an_unwritable_lock_is_a_journal_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(JournalError, match="cannot write the journal"):
        ApplyLock(blocker / "journal.jsonl").acquire()
