"""``reconciler sandbox``: serve (a real process), reset, clock and emails."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sandbox_env import cli

from reconciler.cli import main
from reconciler.sandbox import open_state
from reconciler.sandbox.server import bind

SERVING = re.compile(r"^sandbox: serving (http://127\.0\.0\.1:(\d+)/1\.0)\n$")


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def first_line(process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            raise AssertionError("the sandbox printed nothing")
    return process.stdout.readline()


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return out, err


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "services:\n  - {name: www.example.com, route: /hosting/web, expires_in: 30d}\n"
    )
    process = start("--port", "0", "--seed", str(seed), "--latency-ms", "5", cwd=tmp_path)
    line = first_line(process)
    found = SERVING.match(line)
    assert found, line
    yield process, found.group(1)
    if process.poll() is None:
        stop(process)


def test_serve_prints_its_url_once_it_accepts_connections(
    served: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = served
    with httpx.Client(timeout=10) as client:
        assert client.get(url + "/auth/time").text.isdigit()  # accepted at once
        unsigned = client.get(url + "/services", headers={"X-Ovh-Application": "demo-ak"})
        assert unsigned.status_code == 401
    out, err = stop(process)
    assert out == "", "serve prints exactly one line on stdout"
    assert "1 services from" in err and "Traceback" not in err
    assert process.returncode == 0


def test_the_port_can_be_chosen(tmp_path: Path) -> None:
    probe = bind("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    process = start("--port", str(port), cwd=tmp_path)
    try:
        assert first_line(process) == f"sandbox: serving http://127.0.0.1:{port}/1.0\n"
        # A second server on the same port: one clear error.
        second = subprocess.run(
            [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
        )
        assert second.returncode == 1
        assert second.stderr.splitlines()[0].startswith(f"error: cannot listen on 127.0.0.1:{port}")
        assert "Traceback" not in second.stderr
    finally:
        stop(process)


def test_a_bad_seed_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "bad.yaml"
    seed.write_text("services:\n  - name: www.example.com\n    route: /hosting/wbe\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["sandbox", "serve", "--seed", str(seed), "--port", "0"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: {seed}:3:12: services[0].route: unknown route")
    assert err[1].startswith("hint: fix the seed file")
    assert len(err) == 2


def test_a_state_from_another_seed_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.db"
    open_state(state).close()  # the demo account
    seed = tmp_path / "mine.yaml"
    seed.write_text("services: []\n")
    with pytest.raises(SystemExit):
        main(["sandbox", "serve", "--seed", str(seed), "--state", str(state), "--port", "0"])
    err = capsys.readouterr().err
    assert "seeded from" in err and "--reset" in err


def test_clock_moves_the_embedded_sandbox(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "sandbox", "clock", "--set", "2027-01-01T00:00:00Z")
    assert (code, out) == (0, "sandbox clock: 2027-01-01T00:00:00Z (UTC, stopped)\n")
    assert (state_dir / "sandbox.db").exists()
    code, out, _ = cli(capsys, "sandbox", "clock", "--advance", "1d12h")
    assert out == "sandbox clock: 2027-01-02T12:00:00Z (UTC, stopped)\n"
    code, out, _ = cli(capsys, "sandbox", "clock")
    assert out == "sandbox clock: 2027-01-02T12:00:00Z (UTC, stopped)\n"
    code, out, _ = cli(capsys, "sandbox", "clock", "--advance", "-1h 30min")
    assert out == "sandbox clock: 2027-01-02T10:30:00Z (UTC, stopped)\n"
    code, out, _ = cli(capsys, "sandbox", "clock", "--tick")
    assert out.endswith("(UTC, ticking)\n")
    # The one duration type of every option: its grammar, its message, naming the option.
    code, _, err = cli(capsys, "sandbox", "clock", "--advance", "soon")
    assert code == 1 and err.startswith("error: --advance 'soon' is not a duration")
    code, _, err = cli(capsys, "sandbox", "clock", "--advance", "90m")
    assert code == 1 and "write 90min for minutes" in err


def test_reset_and_emails_of_the_embedded_sandbox(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "sandbox", "emails")
    assert (code, out) == (0, "sandbox: no e-mail sent yet\n")
    backend = open_state(state_dir / "sandbox.db")
    backend.request_termination(120000202)
    backend.close()
    _, out, _ = cli(capsys, "sandbox", "emails", "--last", "1")
    assert "confirmTerminate?id=120000202&token=" in out
    code, out, _ = cli(capsys, "sandbox", "reset")
    assert code == 0 and "reset to" in out and "18 services" in out
    _, out, _ = cli(capsys, "sandbox", "emails")
    assert out == "sandbox: no e-mail sent yet\n"
    seed = state_dir.parent / "two.yaml"
    seed.write_text(
        "services:\n"
        "  - {name: a.example.com, route: /domain, expires_in: 5d}\n"
        "  - {name: b.example.com, route: /domain, expires_in: 5d}\n"
    )
    code, out, _ = cli(capsys, "sandbox", "reset", "--seed", str(seed))
    assert code == 0 and "2 services" in out
