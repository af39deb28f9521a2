"""``reconciler sandbox clock|emails|reset``: UTC dates, and the served sandbox."""

from __future__ import annotations

import os
import selectors
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SandboxServer
from sandbox_env import cli

from reconciler.cli import sandbox as cli_sandbox
from reconciler.sandbox import open_state
from reconciler.sandbox.clock import ManualWallClock


def embedded_now(state_dir: Path) -> datetime:
    backend = open_state(state_dir / "sandbox.db")
    try:
        return backend.now()
    finally:
        backend.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # a bare date is midnight UTC, not Paris midnight (2026-12-31T23:00:00Z)
        ("2027-01-01", datetime(2027, 1, 1, tzinfo=UTC)),
        # a date-time without an offset is UTC, not refused and not local
        ("2027-01-01T09:30:00", datetime(2027, 1, 1, 9, 30, tzinfo=UTC)),
        ("2027-01-01T09:30", datetime(2027, 1, 1, 9, 30, tzinfo=UTC)),
        # an explicit offset is honoured
        ("2027-01-01T10:00:00+01:00", datetime(2027, 1, 1, 9, 0, tzinfo=UTC)),
        ("2027-07-01T00:00:00Z", datetime(2027, 7, 1, tzinfo=UTC)),
    ],
)
def test_clock_set_reads_utc(
    state_dir: Path, capsys: pytest.CaptureFixture[str], given: str, expected: datetime
) -> None:
    code, out, err = cli(capsys, "sandbox", "clock", "--set", given)
    assert code == 0, err
    assert embedded_now(state_dir) == expected
    shown = expected.isoformat().replace("+00:00", "Z")
    assert out == f"sandbox clock: {shown} (UTC, stopped)\n"


def test_clock_set_refuses_what_is_not_a_date(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "sandbox", "clock", "--set", "next monday")
    assert (code, out) == (1, "")
    assert "'next monday' is not an ISO 8601 date" in err and "UTC" in err


def test_clock_without_options_says_utc(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "sandbox", "clock", "--set", "2027-03-01")
    code, out, _ = cli(capsys, "sandbox", "clock")
    assert (code, out) == (0, "sandbox clock: 2027-03-01T00:00:00Z (UTC, stopped)\n")


# --- the served sandbox: --endpoint URL --------------------------------------------


@pytest.fixture
def served(sandbox_server: SandboxServer, state_dir: Path) -> SandboxServer:
    """The real sandbox server; the embedded one has its own state, which these tests
    check is left alone."""
    return sandbox_server


@pytest.mark.parametrize("form", ["url", "url/", "root", "root/"])
def test_clock_moves_a_served_sandbox(
    served: SandboxServer, state_dir: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    given = {"url": served.url, "root": served.root}[form.rstrip("/")]
    given += "/" if form.endswith("/") else ""
    code, out, err = cli(capsys, "sandbox", "clock", "--endpoint", given, "--set", "2027-01-01")
    assert code == 0, err
    assert out == "sandbox clock: 2027-01-01T00:00:00Z (UTC, stopped)\n"
    assert served.now() == datetime(2027, 1, 1, tzinfo=UTC)
    code, out, _ = cli(capsys, "sandbox", "clock", "--endpoint", given, "--advance", "1d12h")
    assert out == "sandbox clock: 2027-01-02T12:00:00Z (UTC, stopped)\n"
    assert served.now() == datetime(2027, 1, 2, 12, tzinfo=UTC)
    code, out, _ = cli(capsys, "sandbox", "clock", "--endpoint", given)
    assert out == "sandbox clock: 2027-01-02T12:00:00Z (UTC, stopped)\n"
    code, out, _ = cli(capsys, "sandbox", "clock", "--endpoint", given, "--tick")
    assert out.endswith("(UTC, ticking)\n") and served.admin.clock()["ticking"] is True
    # the embedded sandbox was never opened
    assert not (state_dir / "sandbox.db").exists()


def test_the_global_endpoint_option_reaches_the_sandbox_commands(
    served: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(
        capsys, "--endpoint", served.url, "sandbox", "clock", "--set", "2028-02-29"
    )
    assert (code, out) == (0, "sandbox clock: 2028-02-29T00:00:00Z (UTC, stopped)\n"), err
    assert served.now() == datetime(2028, 2, 29, tzinfo=UTC)


def test_emails_and_reset_of_a_served_sandbox(
    served: SandboxServer, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "sandbox", "emails", "--endpoint", served.url)
    assert (code, out) == (0, "sandbox: no e-mail sent yet\n")
    served.app.backend.request_termination(120000202)
    code, out, _ = cli(capsys, "sandbox", "emails", "--endpoint", served.url, "--last", "1")
    assert code == 0 and "confirmTerminate?id=120000202&token=" in out
    code, out, err = cli(capsys, "sandbox", "reset", "--endpoint", served.url)
    assert code == 0, err
    assert out.startswith(f"sandbox: {served.root} reset to ") and "18 services" in out
    assert served.emails() == []
    seed = state_dir.parent / "two.yaml"
    seed.write_text(
        "services:\n"
        "  - {name: a.example.com, route: /domain, expires_in: 5d}\n"
        "  - {name: b.example.com, route: /domain, expires_in: 5d}\n"
    )
    code, out, err = cli(capsys, "sandbox", "reset", "--endpoint", served.url, "--seed", str(seed))
    assert code == 0, err
    assert "2 services" in out and str(seed) in out
    assert sorted(s["name"] for s in served.services()) == ["a.example.com", "b.example.com"]
    assert not (state_dir / "sandbox.db").exists()


def test_a_bad_seed_for_a_served_sandbox_is_one_clear_error(
    served: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "bad.yaml"
    seed.write_text("services: [{route: /domain}]\n")
    code, out, err = cli(capsys, "sandbox", "reset", "--endpoint", served.url, "--seed", str(seed))
    assert (code, out) == (1, "")
    assert err.startswith(f"error: sandbox at {served.root}: ") and "seed" in err
    missing = tmp_path / "missing.yaml"
    code, _, err = cli(capsys, "sandbox", "reset", "--endpoint", served.url, "--seed", str(missing))
    assert code == 1 and f"cannot read the seed {missing}" in err


def test_an_unreachable_or_foreign_endpoint_is_one_clear_error(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.sandbox.server import bind

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    code, out, err = cli(capsys, "sandbox", "emails", "--endpoint", f"http://127.0.0.1:{port}/1.0")
    assert (code, out) == (1, "")
    assert err.startswith(f"error: cannot reach a sandbox at http://127.0.0.1:{port}: ")
    assert "reconciler sandbox serve" in err
    code, _, err = cli(capsys, "sandbox", "clock", "--endpoint", "ovh-eu", "--set", "2027-01-01")
    assert code == 1 and "ovh-eu is OVH's API, not a sandbox" in err
    assert not (state_dir / "sandbox.db").exists()


def test_a_server_that_is_not_a_sandbox_is_named(
    sandbox_server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The sandbox's API root answers, but has no admin routes below it.
    code, _, err = cli(capsys, "sandbox", "clock", "--endpoint", sandbox_server.url + "/1.0")
    assert code == 1 and "not as a reconciler sandbox" in err


# --- reset puts the clock back to real time ---------------------------------------------

# Real time as the tests inject it: a wall clock that stands still, so the clock a reset
# leaves ticking reads the same instant every time it is asked.
REAL_NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
FIVE_DAYS_SEED = "services:\n  - {name: a.example.com, route: /domain, expires_in: 5d}\n"


@pytest.fixture
def real_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(cli_sandbox, "wall_clock", lambda: ManualWallClock(REAL_NOW))
    return REAL_NOW


def embedded_clock(state_dir: Path) -> tuple[datetime, bool]:
    backend = open_state(state_dir / "sandbox.db", wall=ManualWallClock(REAL_NOW))
    try:
        state = backend.clock()
        return state.now, state.ticking
    finally:
        backend.close()


def test_reset_puts_the_embedded_clock_back_to_real_time(
    state_dir: Path, real_now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "sandbox", "clock", "--set", "2030-01-01")
    code, out, err = cli(capsys, "sandbox", "reset")
    assert code == 0, err
    assert out.startswith(f"sandbox: {state_dir / 'sandbox.db'} reset to ")
    expected = "(18 services); clock 2026-12-03T14:00:00Z (UTC, real time, ticking)\n"
    assert out.endswith(expected), out
    assert embedded_clock(state_dir) == (real_now, True)


def test_reset_counts_a_new_seeds_relative_dates_from_real_time(
    state_dir: Path, real_now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "sandbox", "clock", "--set", "2030-01-01")
    seed = state_dir.parent / "five.yaml"
    seed.write_text(FIVE_DAYS_SEED)
    code, out, err = cli(capsys, "sandbox", "reset", "--seed", str(seed))
    assert code == 0, err
    assert f"reset to {seed} (1 services); clock 2026-12-03T14:00:00Z (UTC, real" in out
    backend = open_state(state_dir / "sandbox.db", wall=ManualWallClock(real_now))
    try:
        (service,) = backend.internal_services()
    finally:
        backend.close()
    assert service["expiration"] == "2026-12-08T14:00:00Z"  # 5 days from today, not 2030


def test_reset_keep_clock_leaves_a_moved_clock_where_it_is(
    state_dir: Path, real_now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "sandbox", "clock", "--set", "2030-01-01")
    code, out, err = cli(capsys, "sandbox", "reset", "--keep-clock")
    assert code == 0, err
    assert out.endswith("clock 2030-01-01T00:00:00Z (UTC, kept, stopped)\n"), out
    assert embedded_clock(state_dir) == (datetime(2030, 1, 1, tzinfo=UTC), False)


def test_reset_to_a_seed_with_a_clock_uses_the_seeds_clock(
    state_dir: Path, real_now: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = state_dir.parent / "pinned.yaml"
    seed.write_text("clock: 2027-01-01T09:00:00Z\n" + FIVE_DAYS_SEED)
    code, out, err = cli(capsys, "sandbox", "reset", "--seed", str(seed))
    assert code == 0, err
    assert out.endswith("clock 2027-01-01T09:00:00Z (UTC, the seed's clock, stopped)\n"), out
    assert embedded_clock(state_dir) == (datetime(2027, 1, 1, 9, tzinfo=UTC), False)


def test_reset_puts_a_served_clock_back_to_real_time(
    served: SandboxServer,
    state_dir: Path,
    real_now: datetime,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served.set_clock(datetime(2030, 1, 1, tzinfo=UTC))
    seed = state_dir.parent / "five.yaml"
    seed.write_text(FIVE_DAYS_SEED)
    code, out, err = cli(capsys, "sandbox", "reset", "--endpoint", served.url, "--seed", str(seed))
    assert code == 0, err
    assert "(UTC, real time, ticking)" in out and "clock 2026-12-03T14:00:" in out, out
    # The served sandbox ticks along its own (real) wall clock from the instant sent.
    assert served.admin.clock()["ticking"] is True
    assert real_now <= served.now() < real_now + timedelta(days=1)
    (service,) = served.services()
    assert service["expiration"].startswith("2026-12-08T14:00:")
    code, out, err = cli(capsys, "sandbox", "reset", "--endpoint", served.url, "--keep-clock")
    assert code == 0, err
    assert "(UTC, kept, ticking)" in out, out


# --- serve prints the account's keys ---------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def read_until(fd: int, ends: tuple[str, ...], timeout: float = 30.0) -> list[str]:
    """Lines of a child's pipe, read unbuffered, until one starts with one of ``ends``
    (or a failure if the child stops printing: it is hung)."""
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            lines = data.decode().splitlines()
            if any(line.startswith(ends) for line in lines):
                return lines
            if not selector.select(timeout):
                raise AssertionError(f"the sandbox printed nothing more after {lines}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"the sandbox stopped after {lines}")
            data += chunk


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> tuple[str, list[str]]:
        """Start ``sandbox serve``; its URL and its stderr up to the keys' last line."""
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        started.append(process)
        assert process.stdout is not None and process.stderr is not None
        out = read_until(process.stdout.fileno(), ("sandbox: serving ",))
        err = read_until(process.stderr.fileno(), ("sandbox: a spec", "sandbox: its keys"))
        return out[0].removeprefix("sandbox: serving ").strip(), err

    yield start
    for process in started:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def exported(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        if line.lstrip().startswith("export "):
            words = shlex.split(line)
            name, _, value = words[1].partition("=")
            found[name] = value
    return found


def test_serve_prints_the_demo_keys_as_an_export_block_that_works(
    serve: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, err = serve()  # type: ignore[operator]
    keys = exported(err)
    assert keys == {
        "OVH_ENDPOINT": url,
        "OVH_APPLICATION_KEY": "demo-ak",
        "OVH_APPLICATION_SECRET": "demo-as",
        "OVH_CONSUMER_KEY": "demo-ck",
    }
    assert f"`endpoint: {url}`" in err[-1]
    # Pasted into a shell, the block is all a command needs: no ovh.conf, no other key.
    for name in list(os.environ):
        if name.startswith("OVH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    code, out, stderr = cli(capsys, "services", "--format", "json")
    assert code == 0, stderr
    assert "old-shop.example.org" in out


def test_serve_prints_the_keys_of_its_seed(serve: object, tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "credentials:\n"
        "  - {application_key: team-ak, application_secret: 'te am$as', consumer_key: team-ck}\n"
        "services:\n  - {name: www.example.com, route: /hosting/web, expires_in: 30d}\n"
    )
    url, err = serve("--seed", str(seed))  # type: ignore[operator]
    assert exported(err) == {
        "OVH_ENDPOINT": url,
        "OVH_APPLICATION_KEY": "team-ak",
        "OVH_APPLICATION_SECRET": "te am$as",  # quoted for the shell
        "OVH_CONSUMER_KEY": "team-ck",
    }
    assert "demo-ak" not in "\n".join(err)


def test_a_reused_state_of_another_seed_says_whose_keys_it_holds() -> None:
    from reconciler.cli.sandbox import account_keys, keys_block
    from reconciler.sandbox import demo_seed

    demo = {"seed_digest": demo_seed().digest}
    assert account_keys(None, demo) == {
        "OVH_APPLICATION_KEY": "demo-ak",
        "OVH_APPLICATION_SECRET": "demo-as",
        "OVH_CONSUMER_KEY": "demo-ck",
    }
    # made from a seed this process has not read: its keys are unknown here, not the demo's
    assert account_keys(None, {"seed_digest": "sha256:another"}) is None
    said = keys_block("http://127.0.0.1:1/1.0", None)
    assert "export" not in said and "--seed" in said
