"""Commands run as a user runs them: in a child process of their own, their output on a
pipe or on a pseudo-terminal. What a command does differently there (colour, prompts,
what it imports) is only seen in a real process; the tests of it shared these lines.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple


def user_env(**extra: str) -> dict[str, str]:
    """This process's environment as a user's terminal has it: no ``OVH_*`` keys (the
    embedded sandbox), no ``NO_COLOR``, ``TERM=xterm``; then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVH_")}
    env.pop("NO_COLOR", None)
    return {**env, "TERM": "xterm", **extra}


def python(
    *argv: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``python ARGV`` in a child process, its output captured as text; its exit code is
    the caller's to judge."""
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=timeout,
    )


class Shown(NamedTuple):
    """What a command run on a terminal gave: its exit code, what the terminal showed
    (its standard output) and its standard error."""

    code: int
    screen: str
    err: str


def on_terminal(*args: str, cwd: Path, env: dict[str, str], typed: bytes = b"") -> Shown:
    """``python -m reconciler ARGS`` with its standard input and output on a
    pseudo-terminal, ``typed`` typed ahead on it."""
    primary, secondary = pty.openpty()
    try:
        os.write(primary, typed)
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args],
            stdin=secondary,
            stdout=secondary,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
        os.close(secondary)
        secondary = -1
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal was closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=60)
        assert process.stderr is not None
        err = process.stderr.read().decode()
        process.stderr.close()
        return Shown(code, b"".join(chunks).decode("utf-8", "replace"), err)
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
