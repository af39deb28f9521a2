"""The environment a test of the command line runs in, set up once for every test.

A test that runs ``reconciler`` in process must not see the user's settings (their
``OVH_*`` keys, a ``RECONCILER_*`` directory, a CI step summary), and must keep its
sandbox state and its home apart. Tests used to paste these lines into their own
fixtures; they call these two functions now.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import SandboxServer

# The variables of the user's that a test never inherits, besides the cleared prefixes.
NEVER_INHERITED = ("GITHUB_STEP_SUMMARY", "NO_COLOR")


def isolate(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    cleared: tuple[str, ...] = ("OVH_", "RECONCILER_"),
    kept: tuple[str, ...] = (),
) -> Path:
    """``tmp_path`` as the working directory, with a home and a sandbox state of its own
    and none of the variables starting with ``cleared`` (but those starting with ``kept``:
    a test campaign's own knobs) or named in ``NEVER_INHERITED``."""
    for name in list(os.environ):
        if (name.startswith(cleared) and not name.startswith(kept)) or name in NEVER_INHERITED:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def use_sandbox_keys(monkeypatch: pytest.MonkeyPatch, server: SandboxServer) -> None:
    """The served sandbox's demo keys in ``OVH_*``, as a user of that server sets them."""
    monkeypatch.setenv("OVH_APPLICATION_KEY", server.application_key)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", server.application_secret)
    monkeypatch.setenv("OVH_CONSUMER_KEY", server.consumer_key)
