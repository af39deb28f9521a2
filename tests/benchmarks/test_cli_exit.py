"""The CLI process ends without tearing its heap down (``reconciler.cli._leave``), yet
everything that must happen at exit still does: atexit handlers, flushed output, the
exit code. In-process callers get ``SystemExit`` as before."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler.cli import main

# An object whose finaliser says so when the interpreter frees the main module's
# globals one by one at exit: the teardown `_leave` skips.
PROGRAM = """
import atexit, os, sys
class Witness:
    def __del__(self):
        os.write(1, b"torn down\\n")
witness = Witness()
atexit.register(lambda: print("atexit ran"))
from reconciler.cli import main
sys.argv = ["reconciler", *{args!r}]
print("buffered line", end="")  # stays in the buffer until the exit flushes it
main()
"""


def run_program(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM.format(args=list(args))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_process_skips_the_teardown_but_runs_atexit_and_flushes() -> None:
    done = run_program("--version")
    assert done.returncode == 0, done.stderr
    assert "buffered line" in done.stdout and "version" in done.stdout
    assert "atexit ran" in done.stdout
    assert "torn down" not in done.stdout


@pytest.mark.parametrize(("args", "code"), [(["no-such-command"], 1), (["plan"], 1)])
def test_the_exit_code_is_kept(args: list[str], code: int) -> None:
    done = run_program(*args)
    assert done.returncode == code
    assert done.stderr.startswith("error: ")
    assert "torn down" not in done.stdout


def test_in_process_callers_get_system_exit() -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--version"])
    assert raised.value.code == 0
