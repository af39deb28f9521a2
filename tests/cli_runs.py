"""How tests run the command line as a real process (``run_process``,
``start_process``), for what only a process shows: a kill, a signal, a full disk,
``python -m reconciler`` itself. In process, ``sandbox_env.cli`` runs it.

Both hold the promise the command line makes: no traceback, ever (unless the test
passes ``--debug`` and says so). The tests of apply, GitOps and reliability used to
write these runners each for itself.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sandbox_env import Result


def error_lines(result: Result) -> list[str]:
    """The ``error:`` lines of a run's standard error."""
    return [line for line in result.err.splitlines() if line.startswith("error:")]


def reconciler(*args: str) -> list[str]:
    """The command line of ``reconciler ARGS`` as a process of this interpreter."""
    return [sys.executable, "-m", "reconciler", *args]


def run_process(
    command: Sequence[str],
    *,
    cwd: Path | str | None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    traceback: bool = False,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (``reconciler(...)`` or a wrapper of it) to its end, its output
    captured as text; no traceback in it unless ``traceback`` (a ``--debug`` run)."""
    done = subprocess.run(
        list(command),
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec_fn,
    )
    if not traceback:
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
    return done


def start_process(
    command: Sequence[str], *, cwd: Path | str, env: Mapping[str, str]
) -> subprocess.Popen[str]:
    """Start ``command`` with its output piped, for a test that acts while it runs."""
    return subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    """Wait for a started process: its exit code, stdout and stderr (no traceback)."""
    out, err = process.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    return process.returncode, out, err
