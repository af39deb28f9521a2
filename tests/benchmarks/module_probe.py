"""Which modules a ``reconciler`` process had loaded when its first request left, and by
its end (docs/performance.md): the CLI run as its console script runs it, with an audit
hook on ``socket.connect`` and an atexit handler that write ``sys.modules`` to a file.

Used by ``bench_paths.py`` (the imports paid before the first request) and by
``test_startup_imports.py`` (what must not be loaded then)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

# argv[1]: the file to write; the rest: reconciler's arguments. ``main()`` ends the
# process with os._exit after the atexit handlers, so the second snapshot is its last.
PROBE = """\
import atexit, json, sys

out, argv = sys.argv[1], sys.argv[2:]
seen = {}

def _loaded():
    # Modules loaded; a None entry marks one known absent (never imported).
    return sorted(name for name, module in sys.modules.items() if module is not None)

def first_connect(event, args):
    if event == "socket.connect" and "first_request" not in seen:
        seen["first_request"] = _loaded()

sys.addaudithook(first_connect)

def dump():
    seen["exit"] = _loaded()
    with open(out, "w") as handle:
        json.dump(seen, handle)

atexit.register(dump)
sys.argv = ["reconciler", *argv]
from reconciler.cli import main
main()
"""


def probe_argv(out: Path, argv: Sequence[str], *, importtime: bool = False) -> list[str]:
    """The command that runs ``reconciler ARGV`` and writes its snapshots to ``out``."""
    flags = ["-X", "importtime"] if importtime else []
    return [sys.executable, *flags, "-c", PROBE, str(out), *argv]


def snapshots(out: Path) -> dict[str, list[str]]:
    """``first_request`` (absent when no request was made) and ``exit``: module names."""
    found: dict[str, list[str]] = json.loads(out.read_text())
    return found
