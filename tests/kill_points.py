"""A kill point in this process: the command "dies" right after its N-th journal record.

``tests/crash_after_records.py`` kills a real process there (``os._exit``); this is its
double for tests that run ``reconciler.cli.main`` in process, at a fraction of a
process's cost, so that a test can kill a run after every one of its records
(``tests/apply/test_apply_crash.py``, docs/journal.md, "Testing crash safety").

``with kill_point(N) as point:`` arms every journal writer opened in the block, through
the same ``on_write`` seam as the script (``crash_after_records.armed``), and
``point.run(main, argv)`` runs the command there. After the N-th record is fsynced the
process is dead (``KillPoint.dead``) and ``Killed`` is raised:

- ``Killed`` is a ``BaseException``, not an ``Exception``: no handler of the product
  takes it for an error of its own (an action's ``except Exception``, the CLI's
  one-line internal error); it leaves ``main`` as the kill it stands for, wrapped in
  the ``BaseExceptionGroup`` of a task group when it came from a concurrent action
  (``KillPoint.run`` accepts both, and nothing else).
- Nothing more reaches the disk: the ``os`` of the journal's writer and lock modules is
  guarded, and once dead any write, ``fsync``, truncation or ``open`` they attempt
  raises ``Killed`` instead (``blocked_writes`` counts them), so a ``finally`` or an
  ``__exit__`` that would write a last record, or repair a torn line, writes nothing,
  as after a kill. Closing a descriptor is let through: the kernel closes them all
  when a process dies, which also releases the journal's ``flock`` and the apply lock.
- Nothing more leaves for the API: every ``httpx.AsyncHTTPTransport`` made while armed
  is a loopback-only ``RecordingTransport`` (``sent``) that refuses, raising ``Killed``,
  a request started once dead (``refused``) — and the answer to one sent before, so
  that no code acts on an answer a dead process would never have read.

Where the double differs from a kill, and why the test can live with it:

- A kill stops every task where it stands; here the unwinding runs: the task group
  cancels the other actions, ``finally`` blocks and ``with`` exits run (the journal
  writer and the apply lock close their descriptors, the client closes its
  connections). None of it writes or sends: the guards above refuse it. A request a
  task had handed over before the kill reaches the sandbox in both cases.
- The killed run's memory lives on in the interpreter (module-level state, logging
  configuration, the secrets the command learnt), where a new process starts empty; a
  recovery run in the same interpreter could lean on it. Buffered output is not lost
  (a kill loses what was not flushed), and no atexit handler is skipped (none runs in
  process anyway). This is why the crash test keeps a few real kills through the
  script and checks that they, and the runs that recover from them, leave the same
  journal and account as this double.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import httpx
import pytest
from crash_after_records import armed
from fakes import RecordingTransport, Sent

from reconciler.journal import lock as lock_module
from reconciler.journal import writer as writer_module
from reconciler.journal.writer import JournalWriter

# The real class, kept before any test replaces it (as ``fakes.record_real_transports``).
_REAL_TRANSPORT = httpx.AsyncHTTPTransport
# What of ``os`` puts bytes (or a new file) on disk; the dead process does none of it.
_WRITING = ("write", "pwrite", "fsync", "ftruncate", "open")


class Killed(BaseException):
    """The process died at its kill point (see the module docstring)."""


@dataclass
class KillPoint:
    """One armed kill: after ``records`` journal records the process is ``dead``."""

    records: int
    dead: bool = False
    sent: list[Sent] = field(default_factory=list)  # every request that left, in order
    refused: list[httpx.Request] = field(default_factory=list)  # tried once dead
    blocked_writes: int = 0

    def kill(self) -> NoReturn:
        self.dead = True
        raise Killed(f"killed after journal record {self.records}")

    def check_alive(self) -> None:
        """``Killed`` again if the process is dead: whatever it was about to do, it
        does not."""
        if self.dead:
            raise Killed(f"dead since journal record {self.records}")

    def run(self, main: Callable[[list[str]], None], argv: list[str]) -> None:
        """``main(argv)``, which must end killed here: a run that finished (or failed)
        before its kill point is a test's error, not a kill."""
        try:
            main(argv)
        except BaseException as ended:
            if self.dead and _only_kills(ended):
                return
            if isinstance(ended, SystemExit) and not self.dead:
                raise AssertionError(
                    f"the run ended (exit {ended.code}) before its kill point "
                    f"(record {self.records})"
                ) from None
            raise  # an error of the run's, or one the kill caused: the test's to see
        raise AssertionError(f"the run returned before its kill point (record {self.records})")


def _only_kills(ended: BaseException) -> bool:
    """``Killed``, or a task group's failure made only of it (the tasks the group
    cancelled are not in it): the kill itself, not an error the kill caused."""
    if isinstance(ended, Killed):
        return True
    if isinstance(ended, BaseExceptionGroup):
        return all(_only_kills(inner) for inner in ended.exceptions)
    return False


class _KillableTransport(RecordingTransport):
    """A recording transport that a dead process cannot send through."""

    def __init__(self, inner: httpx.AsyncBaseTransport, point: KillPoint) -> None:
        super().__init__(inner, sent=point.sent)
        self.point = point

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.point.dead:
            self.point.refused.append(request)
        self.point.check_alive()
        response = await super().handle_async_request(request)
        self.point.check_alive()  # the answer came to a dead process: never read
        return response


def _guarded_os(point: KillPoint) -> types.SimpleNamespace:
    """``os`` as the journal's modules see it: the same, but for writes once dead."""

    def guard(name: str) -> Callable[..., Any]:
        real = getattr(os, name)

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if point.dead:
                point.blocked_writes += 1
            point.check_alive()
            return real(*args, **kwargs)

        return guarded

    namespace = types.SimpleNamespace(**vars(os))
    for name in _WRITING:
        setattr(namespace, name, guard(name))
    return namespace


@contextmanager
def kill_point(records: int) -> Iterator[KillPoint]:
    """Within the block, the process dies after the ``records``-th record of any journal
    writer opened in it (see the module docstring); everything is restored after it."""
    point = KillPoint(records)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(JournalWriter, "__init__", armed(records, point.kill))
        guarded = _guarded_os(point)
        patch.setattr(writer_module, "os", guarded)
        patch.setattr(lock_module, "os", guarded)

        def made(*args: Any, **kwargs: Any) -> _KillableTransport:
            return _KillableTransport(_REAL_TRANSPORT(*args, **kwargs), point)

        patch.setattr(httpx, "AsyncHTTPTransport", made)
        yield point
