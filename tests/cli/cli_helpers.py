"""What the command tests of this folder share: a working directory cleared of the
user's OVH and reconciler settings (the embedded sandbox's state in it), and the CLI run
in process with its exit code and output."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def clean_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **files: str) -> Path:
    """``tmp_path`` as the current directory, with no ``OVH_*``/``RECONCILER_*`` setting
    of the user's, a home and a sandbox state of its own, and ``files`` written in it
    (``name_yaml="..."`` writes ``name.yaml``)."""
    for name in list(os.environ):
        if name.startswith(("OVH_", "RECONCILER_")) or name in ("GITHUB_STEP_SUMMARY", "NO_COLOR"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    for key, text in files.items():
        (tmp_path / key.replace("_yaml", ".yaml")).write_text(text, encoding="utf-8")
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """``reconciler ARGS`` in process: its exit code (1 for a non-integer one) and output."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    code = exited.value.code
    return Result(code if isinstance(code, int) else 1, captured.out, captured.err)


# Specs on the embedded sandbox's demo account, shared by the CLI tests.
TERMINATE_EXAMPLE_NET = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  example.net:
    type: domain
    lifecycle: terminate_at_expiry
"""
TERMINATE_AND_DELETE = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  example.net:
    type: domain
    lifecycle: terminate_at_expiry
  old-shop.example.org:
    type: hosting/web
    lifecycle: delete_now
"""
# campaign-2025.example.com ends within 24 hours on the demo account: renewing it is
# refused (cancel-window-closed), and nothing of the plan is applied.
TERMINATE_AND_REFUSED = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  example.net:
    lifecycle: terminate_at_expiry
  campaign-2025.example.com:
    type: hosting/web
    lifecycle: renew
"""
