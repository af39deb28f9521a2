"""The embedded sandbox (``endpoint: sandbox``): cheap, seeded once, state kept."""

from __future__ import annotations

from pathlib import Path

from child_process import python

from reconciler.sandbox import DEMO_CREDENTIALS, embedded_app, open_state


def test_demo_credentials() -> None:
    assert dict(DEMO_CREDENTIALS) == {
        "application_key": "demo-ak",
        "application_secret": "demo-as",
        "consumer_key": "demo-ck",
    }


def test_embedded_app_does_not_import_uvicorn(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib\n"
        "from reconciler.sandbox import embedded_app\n"
        f"embedded_app(pathlib.Path({str(tmp_path / 's.db')!r}))\n"
        "print('uvicorn' in sys.modules)\n"
    )
    result = python("-c", code)
    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stderr


def test_seeded_on_first_use_and_reused_after(tmp_path: Path) -> None:
    path = tmp_path / "state" / "sandbox.db"
    first = embedded_app(path)
    first.backend.update_service(120000101, {"displayName": "changed"})
    first.backend.close()
    second = embedded_app(path)
    assert second.backend.service(120000101)["resource"]["displayName"] == "changed"
    second.backend.close()
    fresh = open_state(path, reseed=True)
    assert fresh.service(120000101)["resource"]["displayName"] == "example.com"
    fresh.close()
