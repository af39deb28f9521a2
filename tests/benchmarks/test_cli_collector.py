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


def test_plan_pauses_the_collector_and_leaves_it_as_found() -> None:
    from reconciler.cli.plan import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        built = [[index] for index in range(10_000)]
        cycle: list[object] = []
        cycle.append(cycle)
    assert gc.isenabled()
    # What was built is in the oldest generation, not left for one young collection
    # to walk all of; a full collection still frees the cycles among it.
    assert gc.get_count()[0] < len(built)
    alive = gc.get_objects(generation=2)
    assert any(item is cycle for item in alive)
    del cycle, alive
    assert gc.collect() >= 1


# In a process of its own: in the suite's, other tests' threads free frozen objects at
# any moment, and the freeze count falls by a few without anything being unfrozen.
FROZEN_PROGRAM = """
import gc
from reconciler.cli.plan import collector_paused
gc.disable()
gc.freeze()
frozen = gc.get_freeze_count()
with collector_paused():
    pass
print(gc.isenabled(), frozen > 0 and gc.get_freeze_count() == frozen)
"""


def test_plan_leaves_a_disabled_collector_disabled_and_frozen_objects_frozen() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", FROZEN_PROGRAM],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.split() == ["False", "True"]
