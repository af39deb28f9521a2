"""A process killed between any two steps of an apply, then run again, converges: no
service the spec keeps is terminated, every change is made once, the journal keeps every
record written before the kill (and reads back, a torn last line included).

Each step is a journal record (apply writes one before and one after every mutating
call): ``reconciler apply`` runs as a subprocess against the sandbox server through
``tests/crash_after_records.py``, which ends it (``os._exit``) right after its N-th
record: the kill lives in the tests, not in the product. For every N of a full run:
reset the account, apply a saved plan and get killed at N, then run again — the saved
plan (odd N) or the spec (even N) — and check the account with the official ``ovh``
client. Some kills also tear the last record in half, as a crash in the middle of a
write would."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ovh
import ovh.exceptions
import pytest
from cli_runs import reconciler, run_process
from conftest import SandboxServer
from crash_after_records import KILLED_EXIT_CODE, command
from demo_spec import FOUR_SERVICES, demo_spec

from reconciler.cli import main
from reconciler.journal import read_journal
from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

SPEC = demo_spec(
    FOUR_SERVICES,
    more="""\
  example.com:
    type: hosting/web
    lifecycle: renew
  example.com-domain:
    name: example.com
    type: domain
    lifecycle: renew
  ab12345-001:
    lifecycle: renew
""",
)
KEPT = (120000101, 120000201, 120000204, 120000103, 120000301)
SHOP = 120000202


@pytest.fixture
def crash_env(
    tmp_path: Path, sandbox_server: SandboxServer, ovh_client: ovh.Client
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVH_", "RECONCILER_"))}
    env.update(
        HOME=str(tmp_path / "home"),
        OVH_APPLICATION_KEY=sandbox_server.application_key,
        OVH_APPLICATION_SECRET=sandbox_server.application_secret,
        OVH_CONSUMER_KEY=sandbox_server.consumer_key,
    )
    return env


def reset(server: SandboxServer, official: ovh.Client) -> None:
    server.reset(demo_seed().to_mapping(), now=SANDBOX_EPOCH)
    # Manual renewal as well as a pending termination: cancelling takes two calls.
    official.put("/services/120000103", renew={"mode": "manual"})


def apply(workdir: Path, env: dict[str, str], *args: str, crash: int | None = None) -> int:
    run_env = dict(env, RECONCILER_STATE_DIR=str(workdir / "state"))
    argv = ["apply", *args, "--auto-approve"]
    command_line = reconciler(*argv) if crash is None else command(crash, *argv)
    process = run_process(command_line, cwd=workdir, env=run_env)
    if crash is None:
        assert process.returncode == 0, process.stdout + process.stderr
    return process.returncode


def save_plan(workdir: Path, server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "spec.yaml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("OVH_APPLICATION_KEY", server.application_key)
    monkeypatch.setenv("OVH_APPLICATION_SECRET", server.application_secret)
    monkeypatch.setenv("OVH_CONSUMER_KEY", server.consumer_key)
    with pytest.raises(SystemExit) as exited:
        main(["plan", "spec.yaml", "--endpoint", server.url, "--out", "plan.json"])
    assert exited.value.code == 0


def check_converged(official: ovh.Client, server: SandboxServer) -> None:
    def service(service_id: int) -> dict[str, Any]:
        found: dict[str, Any] = official.get(f"/services/{service_id}")
        return found

    def terminating(service_id: int) -> bool:
        current = service(service_id)["billing"]["lifecycle"]["current"]
        return bool(current["terminationDate"]) or bool(current["pendingActions"])

    for kept in KEPT:
        assert service(kept)["resource"]["state"] == "active", kept
        assert not terminating(kept), kept
    assert terminating(120000102)
    assert service(120000103)["billing"]["renew"]["current"]["mode"] == "automatic"
    assert service(120000301)["billing"]["renew"]["current"]["period"] == "P12M"
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        official.get(f"/services/{SHOP}")
    requests = [e for e in server.emails() if "Termination request" in e["subject"]]
    assert len(requests) == 1  # one termination request in all, whatever the kill


@pytest.mark.slow
def test_killed_at_every_step_then_run_again_converges(
    tmp_path: Path,
    sandbox_server: SandboxServer,
    ovh_client: ovh.Client,
    crash_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A full run, to count its steps.
    reference = tmp_path / "reference"
    reference.mkdir()
    reset(sandbox_server, ovh_client)
    save_plan(reference, sandbox_server, monkeypatch)
    apply(reference, crash_env, "plan.json", "--endpoint", sandbox_server.url)
    check_converged(ovh_client, sandbox_server)
    steps = len(read_journal(reference / "state" / "journal.jsonl").records)
    assert steps >= 15

    killed_at: list[int] = []
    for step in range(1, steps + 1):
        workdir = tmp_path / f"kill-{step}"
        workdir.mkdir()
        reset(sandbox_server, ovh_client)
        save_plan(workdir, sandbox_server, monkeypatch)
        journal = workdir / "state" / "journal.jsonl"
        assert (
            apply(workdir, crash_env, "plan.json", "--endpoint", sandbox_server.url, crash=step)
            == KILLED_EXIT_CODE
        )
        written = journal.read_bytes()
        assert written.count(b"\n") == step  # every record before the kill is on disk
        torn = step % 4 == 0
        if torn:  # the kill came in the middle of the next write
            journal.write_bytes(written + written.splitlines(keepends=True)[-1][:40])

        if step % 2:
            apply(workdir, crash_env, "plan.json", "--endpoint", sandbox_server.url)
        else:
            apply(workdir, crash_env, "spec.yaml", "--endpoint", sandbox_server.url)
        check_converged(ovh_client, sandbox_server)
        contents = read_journal(journal)
        assert journal.read_bytes().startswith(written)  # nothing lost, nothing rewritten
        assert contents.torn == ((step + 1,) if torn else ())
        runs = {record.run for record in contents.records}
        assert 1 <= len(runs) <= 2  # the re-run records nothing when nothing is left
        killed_at.append(step)
    assert killed_at == list(range(1, steps + 1))
