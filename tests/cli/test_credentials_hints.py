"""What a user without keys, or with a key for one role, is told: the served sandbox's
demo keys, the ovh.conf section looked for, and commands that keep their --endpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import SandboxServer

from reconciler.cli import main
from reconciler.endpoints import resolve_endpoint
from reconciler.errors import ConfigError
from reconciler.ovh.credentials import resolve_credentials

SPEC = """\
version: 1
endpoint: {endpoint}
unmanaged: ignore
services:
  example.com:
    type: domain
    lifecycle: renew
"""
DEMO_KEYS = (
    "OVH_APPLICATION_KEY=demo-ak",
    "OVH_APPLICATION_SECRET=demo-as",
    "OVH_CONSUMER_KEY=demo-ck",
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No OVH_* variables, no ovh.conf from the real home."""
    for name in list(os.environ):
        if name.startswith("OVH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_plan_against_a_served_sandbox_without_keys_names_the_demo_keys(
    workdir: Path,
    sandbox_server: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (workdir / "spec.yaml").write_text(SPEC.format(endpoint=sandbox_server.url))
    code, out, err = run(capsys, "plan", "spec.yaml")
    assert (code, out) == (1, "")
    assert f"no OVH credentials configured for {sandbox_server.url}" in err
    assert all(key in err for key in DEMO_KEYS), err
    # and the keys it names are the ones that work
    for key in DEMO_KEYS:
        name, _, value = key.partition("=")
        monkeypatch.setenv(name, value)
    code, _, err = run(capsys, "plan", "spec.yaml")
    assert code == 0, err


def test_a_missing_consumer_key_for_a_served_sandbox_names_the_demo_keys(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = resolve_endpoint("http://127.0.0.1:41211/1.0")
    environ = {"OVH_APPLICATION_KEY": "demo-ak", "OVH_APPLICATION_SECRET": "demo-as"}
    with pytest.raises(ConfigError) as error:
        resolve_credentials(endpoint, environ=environ, search_paths=())
    assert "no consumer key" in error.value.message
    assert "OVH_CONSUMER_KEY=demo-ck" in (error.value.hint or "")


@pytest.mark.parametrize("value", ["ovh-eu", "https://eu.api.ovh.com/1.0", "sandbox"])
def test_no_demo_keys_are_offered_for_a_real_account(value: str) -> None:
    endpoint = resolve_endpoint(value)
    try:
        resolve_credentials(endpoint, environ={}, search_paths=())
    except ConfigError as error:
        assert "demo-ak" not in (error.hint or "")
    else:
        assert endpoint.embedded  # the embedded sandbox needs none
