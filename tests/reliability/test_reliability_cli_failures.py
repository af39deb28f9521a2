"""Every failure path of every command ends in one clear line and a hint — never a
traceback, never "internal error" — and exits 1 (130 when interrupted).

A table of commands × failures, run through ``reconciler.cli.main`` in-process (the same
code path as the console script, minus the process): files that are missing, that are
directories, that cannot be read (``/proc/self/mem`` answers every read with EIO — the
tests run as root, where permissions stop nothing), that hold garbage; output paths that
cannot be written; an endpoint answering garbage of every kind or nothing at all; bad
environment variables; a corrupt embedded sandbox. What only a real process shows — a
full disk, Ctrl-C, a sandbox killed mid-run — is in the subprocess tests below the table.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from cli_runs import reconciler, run_process
from conftest import SandboxServer
from demo_spec import demo_spec
from reliability_helpers import cli_env, demo_credentials_env, doubled_calls
from reliability_server import GARBAGE, garbage_server, interrupt, tripwire_server

import reconciler.ovh.client as ovh_client_module
from reconciler.cli import main
from reconciler.ovh.client import RetryPolicy
from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

UNREADABLE = "/proc/self/mem"  # every read fails with EIO, even for root
SPEC = demo_spec(("example.net",))
SANDBOX_SPEC = demo_spec(("example.net",), endpoint="sandbox")


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    says: str  # words the error line must hold
    setup: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    code: int = 1


def _write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def setup(workdir: Path) -> None:
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")

    return setup


def _dir(name: str) -> Callable[[Path], None]:
    return lambda workdir: (workdir / name).mkdir(parents=True)


def _link(name: str, to: str) -> Callable[[Path], None]:
    return lambda workdir: (workdir / name).symlink_to(to)


def _all(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(workdir: Path) -> None:
        for step in steps:
            step(workdir)

    return setup


spec = _write("spec.yaml", SPEC)
corrupt_db = _write("state/sandbox.db", b"\x00garbage, not SQLite" * 200)

FILE_CASES = [
    # validate
    Case("validate-missing", ("validate", "nope.yaml"), "cannot read the spec"),
    Case("validate-directory", ("validate", "adir"), "Is a directory", _dir("adir")),
    Case("validate-unreadable", ("validate", UNREADABLE), "Input/output error"),
    Case("validate-binary", ("validate", "x.yaml"), "x.yaml:", _write("x.yaml", bytes(range(256)))),
    # plan
    Case("plan-missing", ("plan", "nope.yaml"), "cannot read the spec"),
    Case("plan-directory", ("plan", "adir"), "is a directory", _dir("adir")),
    Case("plan-unreadable", ("plan", UNREADABLE), "Input/output error"),
    Case(
        "plan-out-directory",
        ("plan", "spec.yaml", "--out", "adir"),
        "is a directory",
        _all(spec, _dir("adir")),
    ),  # fmt: skip
    Case(
        "plan-out-no-parent",
        ("plan", "spec.yaml", "--out", "no/such/plan.json"),
        "cannot save the plan",
        spec,
    ),  # fmt: skip
    Case(
        "plan-out-parent-is-a-file",
        ("plan", "spec.yaml", "--out", "spec.yaml/plan.json"),
        "cannot save the plan",
        spec,
    ),  # fmt: skip
    # apply
    Case("apply-missing", ("apply", "nope.yaml", "--auto-approve"), "cannot read the spec"),
    Case("apply-directory", ("apply", "adir", "--auto-approve"), "is a directory", _dir("adir")),
    Case("apply-unreadable", ("apply", UNREADABLE, "--auto-approve"), "Input/output error"),
    Case("apply-plan-missing", ("apply", "plan.json", "--auto-approve"), "cannot read plan"),
    Case(
        "apply-plan-empty",
        ("apply", "plan.json", "--auto-approve"),
        "empty",
        _write("plan.json", ""),
    ),  # fmt: skip
    Case(
        "apply-plan-truncated",
        ("apply", "plan.json", "--auto-approve"),
        "truncated JSON",
        _write("plan.json", '{"format_version": "1", "actions": ['),
    ),  # fmt: skip
    Case(
        "apply-plan-binary",
        ("apply", "plan.json", "--auto-approve"),
        "not UTF-8",
        _write("plan.json", b"\xff\xfe\x00garbage"),
    ),  # fmt: skip
    Case(
        "apply-plan-unreadable",
        ("apply", "plan.json", "--auto-approve"),
        "Input/output",
        _link("plan.json", UNREADABLE),
    ),  # fmt: skip
    Case(
        "apply-journal-under-a-file",
        ("apply", "spec.yaml", "--auto-approve", "--journal", "spec.yaml/journal.jsonl"),
        "cannot write the journal",
        _write("spec.yaml", SANDBOX_SPEC),
    ),  # fmt: skip
    # journal
    Case("journal-missing", ("journal", "--journal", "none.jsonl"), "no journal"),
    Case("journal-unreadable", ("journal", "--journal", UNREADABLE), "Input/output error"),
    Case("journal-directory", ("journal", "--journal", "adir"), "is a directory", _dir("adir")),
    Case(
        "journal-corrupt",
        ("journal", "--journal", "j.jsonl"),
        "not a journal record",
        _write("j.jsonl", "garbage\n{}\n"),
    ),  # fmt: skip
    # import
    Case(
        "import-output-directory", ("import", "--output", "adir"), "is a directory", _dir("adir")
    ),  # fmt: skip
    Case(
        "import-output-no-parent", ("import", "--output", "no/such/spec.yaml"), "cannot write"
    ),  # fmt: skip
    Case("import-output-exists", ("import", "--output", "spec.yaml"), "exists", spec),
    # the embedded sandbox's state
    Case("embedded-corrupt-services", ("services",), "sandbox", corrupt_db),
    Case(
        "embedded-corrupt-plan",
        ("plan", "sandbox.yaml"),
        "sandbox",
        _all(corrupt_db, _write("sandbox.yaml", SANDBOX_SPEC)),
    ),  # fmt: skip
    Case("embedded-corrupt-import", ("import", "--output", "out.yaml"), "sandbox", corrupt_db),
    Case("sandbox-reset-corrupt", ("sandbox", "reset"), "not a sandbox state", corrupt_db),
    Case(
        "sandbox-serve-junk-state",
        ("sandbox", "serve", "--state", "junk.db", "--port", "0"),
        "not a sandbox state",
        _write("junk.db", b"junk" * 300),
    ),  # fmt: skip
    Case(
        "sandbox-serve-junk-seed",
        ("sandbox", "serve", "--seed", "seed.yaml", "--port", "0"),
        "seed.yaml",
        _write("seed.yaml", "services: [1, 2]\n"),
    ),  # fmt: skip
    Case("sandbox-clock-garbage", ("sandbox", "clock", "--set", "yesterday-ish"), "yesterday"),
    # the environment
    Case(
        "bad-read-strategy",
        ("services",),
        "RECONCILER_READ_STRATEGY",
        env={"RECONCILER_READ_STRATEGY": "bogus"},
    ),  # fmt: skip
    Case("bad-endpoint-env", ("services",), "OVH_ENDPOINT", env={"OVH_ENDPOINT": "ftp://x"}),
    Case(
        "state-dir-not-a-dir",
        ("services",),
        "state directory",
        env={"RECONCILER_STATE_DIR": "spec.yaml/state"},
        setup=spec,
    ),  # fmt: skip
    Case(
        "ovh-conf-directory", ("services", "--endpoint", "ovh-eu"), "ovh.conf", _dir("ovh.conf")
    ),  # fmt: skip
    Case(
        "ovh-conf-unreadable",
        ("services", "--endpoint", "ovh-eu"),
        "ovh.conf",
        _link("ovh.conf", UNREADABLE),
    ),  # fmt: skip
    Case(
        "ovh-conf-garbage",
        ("services", "--endpoint", "ovh-eu"),
        "ovh.conf",
        _write("ovh.conf", b"\xff\xfe[garbage"),
    ),  # fmt: skip
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("OVH_", "RECONCILER_", "GITHUB_", "CI_")) and not name.startswith(
            "RECONCILER_RELI"
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().err


def assert_one_clear_line(err: str, says: str) -> None:
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    assert "\x1b" not in err, err  # nothing from outside reaches the terminal as a sequence
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert says.lower() in err.lower(), err
    assert len(errors[0]) < 400, errors[0]


@pytest.mark.parametrize("case", FILE_CASES, ids=[case.name for case in FILE_CASES])
def test_files_and_environment(
    case: Case, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if case.setup is not None:
        case.setup(workdir)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    code, err = run_cli(case.argv, capsys)
    assert code == case.code, err
    assert_one_clear_line(err, case.says)


ENDPOINT_COMMANDS = [
    ("services",),
    ("plan", "spec.yaml"),
    ("apply", "spec.yaml", "--auto-approve"),
    ("import", "--output", "imported.yaml"),
    ("credentials", "check"),
    ("credentials", "request", "--role", "plan"),
]
MODES = [*GARBAGE, "close"]


@pytest.fixture(params=MODES)
def garbage(request: pytest.FixtureRequest) -> Iterator[str]:
    with garbage_server(request.param) as url:
        yield url


@pytest.mark.parametrize("argv", ENDPOINT_COMMANDS, ids=" ".join)
def test_an_endpoint_answering_garbage(
    argv: tuple[str, ...],
    garbage: str,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec(workdir)
    monkeypatch.setenv("OVH_APPLICATION_KEY", "ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "as")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "ck")
    # 5xx answers and dropped connections are retried with backoff (six attempts, up to
    # 8 s apart): what is tested here is the last word, not the waiting before it.
    monkeypatch.setattr(
        ovh_client_module, "RetryPolicy", partial(RetryPolicy, base_delay=0.001, max_delay=0.002)
    )
    code, err = run_cli((*argv, "--endpoint", garbage), capsys)
    assert code == 1, err
    assert_one_clear_line(err, "")
    assert not (workdir / "imported.yaml").exists()


def test_an_endpoint_nobody_listens_on(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec(workdir)
    monkeypatch.setenv("OVH_APPLICATION_KEY", "ak")
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "as")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "ck")
    for argv in ENDPOINT_COMMANDS:
        code, err = run_cli((*argv, "--endpoint", f"http://127.0.0.1:{port}"), capsys)
        assert code == 1, err
        assert_one_clear_line(err, "cannot reach the OVH API")


# --- what only a real process shows ------------------------------------------------------


def _subprocess(
    workdir: Path, env: dict[str, str], *argv: str, limit_file_size: int | None = None
) -> subprocess.CompletedProcess[str]:
    def limit() -> None:  # "the disk is full" for this process only
        if limit_file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    return run_process(reconciler(*argv), cwd=workdir, env=env, preexec_fn=limit)


def test_a_full_disk(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    """Writes beyond RLIMIT_FSIZE fail with EFBIG, as on a full disk (Python ignores
    SIGXFSZ): the plan file, the journal and an imported spec are refused in one line,
    and nothing is applied without its journal record."""
    env = cli_env(tmp_path / "home", demo_credentials_env(sandbox_server))
    env["RECONCILER_STATE_DIR"] = str(tmp_path / "state")
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    url = sandbox_server.url
    for argv, says in (
        (("plan", "spec.yaml", "--out", "plan.json", "--endpoint", url), "cannot save the plan"),
        (("apply", "spec.yaml", "--auto-approve", "--endpoint", url), "cannot write the journal"),
        (("import", "--output", "imported.yaml", "--endpoint", url), "cannot write"),
    ):
        done = _subprocess(tmp_path, env, *argv, limit_file_size=120)
        assert done.returncode == 1, done.stderr
        assert_one_clear_line(done.stderr, says)
    assert not (tmp_path / "plan.json").exists()
    assert [e for e in sandbox_server.admin.requests() if e["method"] != "GET"] == []
    # The embedded sandbox cannot even create its state: said so, with where it is.
    done = _subprocess(tmp_path, env, "services", limit_file_size=120)
    assert done.returncode == 1, done.stderr
    assert_one_clear_line(done.stderr, "the embedded sandbox cannot start")
    assert "sandbox.db" in done.stderr


def _device(path: Path, minor: int) -> bool:
    """A character device of the kernel's "mem" driver (3: null, 7: full) at ``path``."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except (PermissionError, OSError):
        return False
    return True


def test_outputs_to_devices_and_links_are_written_in_place(
    sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    """``--out``/``--output`` onto a device or a symbolic link write *through* it: the
    device stays a device (``/dev/null`` works, a full device fails in one line), the
    link stays a link and its target gets the file. (They used to be renamed over, which
    as root replaced the device node itself.)"""
    env = cli_env(tmp_path / "home", demo_credentials_env(sandbox_server))
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    url = sandbox_server.url
    (tmp_path / "real").mkdir()
    (tmp_path / "plan-link.json").symlink_to(tmp_path / "real" / "plan.json")
    (tmp_path / "spec-link.yaml").symlink_to(tmp_path / "real" / "imported.yaml")
    done = _subprocess(tmp_path, env, "plan", "spec.yaml", "--out", "plan-link.json",
                       "--endpoint", url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = _subprocess(tmp_path, env, "import", "--output", "spec-link.yaml", "--endpoint", url)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "plan-link.json").is_symlink()
    assert (tmp_path / "spec-link.yaml").is_symlink()
    assert '"format_version"' in (tmp_path / "real" / "plan.json").read_text()
    assert "services:" in (tmp_path / "real" / "imported.yaml").read_text()

    if not (_device(tmp_path / "null", 3) and _device(tmp_path / "full", 7)):
        pytest.skip("cannot make device nodes here (not root)")
    done = _subprocess(tmp_path, env, "plan", "spec.yaml", "--out", "null", "--endpoint", url)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR((tmp_path / "null").lstat().st_mode)
    done = _subprocess(tmp_path, env, "plan", "spec.yaml", "--out", "full", "--endpoint", url)
    assert done.returncode == 1
    assert_one_clear_line(done.stderr, "No space left on device")
    assert stat.S_ISCHR((tmp_path / "full").lstat().st_mode)
    done = _subprocess(tmp_path, env, "apply", "spec.yaml", "--auto-approve", "--journal",
                       "full", "--endpoint", url)  # fmt: skip
    assert done.returncode == 1
    assert_one_clear_line(done.stderr, "cannot write the journal")
    assert [e for e in sandbox_server.admin.requests() if e["method"] != "GET"] == []


@pytest.mark.parametrize(
    "argv",
    [("services",), ("plan", "spec.yaml"), ("import", "--output", "imported.yaml"),
     ("apply", "spec.yaml", "--auto-approve")],
    ids=" ".join,
)  # fmt: skip
def test_ctrl_c(argv: tuple[str, ...], tmp_path: Path) -> None:
    """SIGINT when the command's 2nd API request arrives (or, for apply, its 6th: in the
    middle of applying): exit 130, one line; an interrupted apply says that a call sent
    may have taken effect — and running it again finishes with nothing doubled."""
    with tripwire_server(tmp_path / "sandbox.db") as wired:
        server = wired.server
        server.reset(demo_seed().to_mapping(), now=SANDBOX_EPOCH)
        (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
        env = cli_env(tmp_path / "home", demo_credentials_env(server))
        env["RECONCILER_STATE_DIR"] = str(tmp_path / "state")
        full = reconciler(*argv, "--endpoint", server.url)
        process = subprocess.Popen(full, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
        wired.tripwire.arm(6 if argv[0] == "apply" else 2, "after", interrupt(process))
        _, err = process.communicate(timeout=60)
        assert wired.tripwire.fired.is_set()
        assert process.returncode == 130, err
        assert "Traceback" not in err and "internal error" not in err, err
        if argv[0] == "apply":
            assert_one_clear_line(err, "apply interrupted")
            done = _subprocess(tmp_path, env, *argv, "--endpoint", server.url)
            assert done.returncode == 0, done.stderr
            assert doubled_calls(server.admin.requests()) == []
        else:
            assert err.strip().splitlines()[-1] == "Interrupted."
        assert not (tmp_path / "imported.yaml").exists()


def test_a_sandbox_killed_mid_run(tmp_path: Path) -> None:
    """``reconciler sandbox serve`` in its own process, killed (SIGKILL) while an apply
    is running against it: the apply ends in one line; the sandbox started again on
    its state file, the apply run again converges."""
    state = tmp_path / "sandbox.db"
    env = cli_env(tmp_path / "home", {
        "OVH_APPLICATION_KEY": "demo-ak",
        "OVH_APPLICATION_SECRET": "demo-as",
        "OVH_CONSUMER_KEY": "demo-ck",
    })  # fmt: skip
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")

    def serve(port: int) -> tuple[subprocess.Popen[str], str]:
        server = subprocess.Popen(
            reconciler("sandbox", "serve", "--state", str(state), "--port", str(port),
                       "--latency-ms", "100"),
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert server.stdout is not None
        for line in server.stdout:
            if "serving " in line:
                return server, line.split("serving ", 1)[1].strip()
        raise AssertionError("the sandbox did not start")

    server, url = serve(0)
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    apply = subprocess.Popen(
        reconciler("apply", "spec.yaml", "--auto-approve", "--endpoint", url),
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert apply.stderr is not None
        note = apply.stderr.readline()  # "note: --auto-approve: applying ..." : mid-run
        assert "--auto-approve" in note
        server.send_signal(signal.SIGKILL)
        server.communicate(timeout=10)
        _, err = apply.communicate(timeout=120)
    finally:
        for process in (server, apply):
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert apply.returncode == 1, err
    assert_one_clear_line(err, "")
    server, url = serve(port)
    try:
        done = _subprocess(tmp_path, env, "apply", "spec.yaml", "--auto-approve",
                           "--endpoint", url)  # fmt: skip
        assert done.returncode == 0, done.stderr
        done = _subprocess(tmp_path, env, "plan", "spec.yaml", "--detailed-exitcode",
                           "--endpoint", url)  # fmt: skip
        assert done.returncode == 0, done.stderr
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=10)
