"""The environment a test of the command line runs in, set up once for every test.

A test that runs ``reconciler`` in process must not see the user's settings (their
``OVH_*`` keys, a ``RECONCILER_*`` directory, a CI step summary), and must keep its
sandbox state and its home apart. Tests used to paste these lines into their own
fixtures, and a runner of the command next to them; they call these functions now.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from conftest import SandboxServer

from reconciler.cli import main
from reconciler.sandbox.testing import SANDBOX_EPOCH

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
    use_keys(monkeypatch, server.application_key, server.application_secret, server.consumer_key)


def use_keys(
    monkeypatch: pytest.MonkeyPatch,
    application_key: str,
    application_secret: str,
    consumer_key: str,
    *,
    endpoint: str | None = None,
) -> None:
    """These keys in ``OVH_*`` (and ``OVH_ENDPOINT`` when given), as a user sets them."""
    if endpoint is not None:
        monkeypatch.setenv("OVH_ENDPOINT", endpoint)
    monkeypatch.setenv("OVH_APPLICATION_KEY", application_key)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", application_secret)
    monkeypatch.setenv("OVH_CONSUMER_KEY", consumer_key)


def serve_seed(
    server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    seed: dict[str, Any],
    keys: tuple[str, str, str],
) -> SandboxServer:
    """``server`` holding the account ``seed`` describes, at ``SANDBOX_EPOCH``, with
    ``OVH_ENDPOINT`` at its URL and ``keys`` (one of the seed's credentials) in ``OVH_*``:
    a user of that account's, with nothing else to pass on the command line."""
    server.load_seed(seed, now=SANDBOX_EPOCH)
    use_keys(monkeypatch, *keys, endpoint=server.url)
    return server


class Result(NamedTuple):
    """What one run of the command gave: it unpacks as ``code, out, err``."""

    code: int
    out: str
    err: str


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """``reconciler ARGS`` in process: its exit code and output. A traceback is never
    what a user is shown, whatever the outcome; a code given as text exits 1, as Python
    itself exits with it."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    code = exited.value.code
    return Result(1 if isinstance(code, str) else int(code or 0), captured.out, captured.err)
