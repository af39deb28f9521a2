"""The command line's frame: help, version, and errors as one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler import __version__
from reconciler.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, check=False
    )


def test_version_through_python_m() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_unknown_command_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    # 1, not click's usual 2: 2 means "changes present" under --detailed-exitcode.
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "No such command" in err
    assert "Traceback" not in err


def test_a_usage_error_never_reads_as_changes_present(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", "--detailed-exitcode", "--no-such-option", "x.yaml"])
    assert exit_info.value.code == 1
    assert "Traceback" not in capsys.readouterr().err
