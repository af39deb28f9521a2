"""The CLI process collects cycles less often (reconciler.cli.GC_THRESHOLDS), and only the
CLI process: code that calls ``main([...])`` in-process keeps its own collector."""

from __future__ import annotations

import gc
import subprocess
import sys

from reconciler.cli import GC_THRESHOLDS

# Runs the entry point as the console script does (no argv), then reports the thresholds.
PROGRAM = """
import atexit, gc, sys
atexit.register(lambda: print(gc.get_threshold()))
from reconciler.cli import main
sys.argv = ["reconciler", "--version"]
main({argv})
"""


def thresholds_after(argv: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return completed.stdout.strip().splitlines()[-1]


def test_the_program_raises_the_thresholds() -> None:
    assert GC_THRESHOLDS[0] > gc.get_threshold()[0]
    assert thresholds_after("") == str(GC_THRESHOLDS)


def test_in_process_callers_keep_theirs() -> None:
    assert thresholds_after("['--version']") == str(gc.get_threshold())
