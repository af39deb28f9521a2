"""Run the ``reconciler`` command in this process, killed right after its N-th journal record.

``python tests/crash_after_records.py N apply ...`` behaves as ``python -m reconciler
apply ...`` except that the process ends with ``os._exit(KILLED_EXIT_CODE)`` as soon as
a journal writer has durably written its N-th record: a kill between two steps of a run,
at a step the test chooses. The crash tests start it as a subprocess
(``tests/apply/test_apply_crash.py``, ``tests/reliability/test_reliability_crash.py``);
``tests/kill_points.py`` is its double in the test's own process, armed at the same
point (``armed``), and the crash test checks that both leave the same journal.

The kill lives here, not in the product: the journal writer only offers its ``on_write``
observer (called after each fsynced record); this module installs one on every writer
the process opens before handing over to the command's own ``main``. ``os._exit`` skips
``finally`` blocks, buffered output and atexit handlers, as a SIGKILL would; the next
record is never started, so the journal holds exactly N records.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

SCRIPT = Path(__file__).resolve()
# Not a status the command itself ends with (0, 1, 2, 3, 130), so a test knows the
# process was stopped here rather than finishing or failing on its own.
KILLED_EXIT_CODE = 70


def command(records: int, *args: str) -> list[str]:
    """The argv of a subprocess that runs ``reconciler *args`` killed after ``records``."""
    return [sys.executable, str(SCRIPT), str(records), *args]


def kill_after(records: int) -> None:
    """Make every journal writer of this process end it after its ``records``-th record."""
    from reconciler.journal.writer import JournalWriter

    JournalWriter.__init__ = armed(records, _exit)  # type: ignore[method-assign]


def _exit() -> NoReturn:
    os._exit(KILLED_EXIT_CODE)


def armed(records: int, kill: Callable[[], NoReturn]) -> Callable[..., None]:
    """``JournalWriter.__init__`` with ``kill()`` called right after the writer's
    ``records``-th durably written record (its ``on_write``, chained to the caller's):
    the one kill point of this script and of the in-process double
    (``tests/kill_points.py``), which installs it with ``monkeypatch``."""
    from reconciler.journal.writer import JournalWriter

    if records < 1:
        raise ValueError(f"a kill point counts records from 1, not {records}")
    opened = JournalWriter.__init__

    def with_kill(
        self: JournalWriter,
        path: Path,
        context: Any,
        *,
        on_write: Callable[[int], None] | None = None,
        **options: Any,
    ) -> None:
        def after(written: int) -> None:
            if on_write is not None:
                on_write(written)
            if written >= records:
                kill()

        opened(self, path, context, on_write=after, **options)

    return with_kill


def _main(argv: list[str]) -> None:
    if not argv or not argv[0].isdigit():
        sys.exit("usage: crash_after_records.py N COMMAND [ARGS...]")
    # Run as a script, this file's folder (tests/) comes first on sys.path, and its
    # test folders (tests/marked_yaml, ...) would shadow the packages of the same name.
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != SCRIPT.parent]
    kill_after(int(argv[0]))
    from reconciler.cli import main

    # argv as the real command sees it, so that main() runs exactly as the CLI process.
    sys.argv = ["reconciler", *argv[1:]]
    main()


if __name__ == "__main__":
    _main(sys.argv[1:])
