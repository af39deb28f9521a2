"""Run the ``reconciler`` command in this process with a local clock that stands still.

``python tests/reliability/still_local_clock.py INSTANT plan ...`` behaves as ``python -m
reconciler plan ...`` except that the API client's local clock reads ``INSTANT`` (ISO 8601
with its offset) for the whole run. The client still measures the API's clock from
``GET /auth/time`` and judges with it; a local clock that does not move makes that
measured clock read the sandbox's stopped clock to the second, however long the process
takes between the measure and the plan. With the real clock, a process slowed by a busy
machine for more than a second printed "computed at ... 09:59:01 UTC" where the others
printed "09:59 UTC", and tests comparing texts to the letter failed now and then.

Pick a whole second: the measured delta is then a whole number of seconds, and the API's
clock has no float rounding to show (``09:58:59.999999`` would read ``09:58:59``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

SCRIPT = Path(__file__).resolve()


def command(instant: datetime, *args: str) -> list[str]:
    """The argv of a subprocess that runs ``reconciler *args``, its local clock at ``instant``."""
    return [sys.executable, str(SCRIPT), instant.isoformat(), *args]


def _main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: still_local_clock.py INSTANT COMMAND [ARGS...]")
    # Run as a script, this file's folder comes first on sys.path; no test module of it
    # may shadow a package the command imports.
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != SCRIPT.parent]
    from reconciler.clock import Clock, ManualClock
    from reconciler.ovh import client

    still = ManualClock(datetime.fromisoformat(argv[0]))

    def system_clock() -> Clock:
        return still

    # The client's default clock (``clock or SystemClock()``): every client the command
    # builds reads the still one.
    client.SystemClock = system_clock  # type: ignore[assignment,attr-defined]
    from reconciler.cli import main

    # argv as the real command sees it, so that main() runs exactly as the CLI process.
    sys.argv = ["reconciler", *argv[1:]]
    main()


if __name__ == "__main__":
    _main(sys.argv[1:])
