"""A process killed between any two steps of an apply, then run again, converges: no
service the spec keeps is terminated, every change is made once, the journal keeps every
record written before the kill (and reads back, a torn last line included).

Each step is a journal record (apply writes one before and one after every mutating
call). For every N of a full run: reset the account, apply a saved plan killed right
after its N-th record, then run again — the saved plan (odd N) or the spec (even N) —
and check the account with the official ``ovh`` client. Some kills also tear the last
record in half, as a crash in the middle of a write would.

Both applies run in this process (``reconciler.cli.main``); the kill is
``tests/kill_points.py``'s double of one, which stops the run's writes and requests as a
kill would. A few steps (the first, one inside the deletion flow, the last) are also
killed for real: ``reconciler apply`` as a subprocess through
``tests/crash_after_records.py``, which ends it (``os._exit``) at the same record; such a
kill must leave the journal and the account exactly as the double does, then recover the
same way. The kill lives in the tests, not in the product (docs/journal.md, "Testing
crash safety")."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import ovh
import ovh.exceptions
import pytest
from cli_runs import run_process
from conftest import SandboxServer
from crash_after_records import KILLED_EXIT_CODE, command
from demo_spec import FOUR_SERVICES, demo_spec
from kill_points import Killed, kill_point
from sandbox_env import cli, isolate, use_sandbox_keys

from reconciler.cli import main
from reconciler.clock import SystemClock
from reconciler.core.plan import ActionKind
from reconciler.journal import JournalWriter, Outcome, Phase, Record, RunContext, read_journal
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


def reset(server: SandboxServer, official: ovh.Client) -> None:
    server.reset(demo_seed().to_mapping(), now=SANDBOX_EPOCH)
    # Manual renewal as well as a pending termination: cancelling takes two calls.
    official.put("/services/120000103", renew={"mode": "manual"})


def prepare(
    workdir: Path, server: SandboxServer, official: ovh.Client, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The demo account as it was, and ``workdir`` (made now, the working directory)
    with the spec, its saved plan and a state directory of its own: the journal's path."""
    workdir.mkdir()
    isolate(workdir, monkeypatch)
    use_sandbox_keys(monkeypatch, server)
    reset(server, official)
    (workdir / "spec.yaml").write_text(SPEC, encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["plan", "spec.yaml", "--endpoint", server.url, "--out", "plan.json"])
    assert exited.value.code == 0
    return workdir / "state" / "journal.jsonl"


def apply_argv(target: str, server: SandboxServer) -> list[str]:
    return ["apply", target, "--endpoint", server.url, "--auto-approve"]


def apply(capsys: pytest.CaptureFixture[str], target: str, server: SandboxServer) -> None:
    code, out, err = cli(capsys, *apply_argv(target, server))
    assert code == 0, out + err


def killed_in_process(step: int, server: SandboxServer) -> None:
    with kill_point(step) as point:
        point.run(main, apply_argv("plan.json", server))


def killed_for_real(step: int, server: SandboxServer) -> None:
    argv = command(step, *apply_argv("plan.json", server))
    process = run_process(argv, cwd=Path.cwd(), env=os.environ)
    assert process.returncode == KILLED_EXIT_CODE, process.stdout + process.stderr


# What differs between two runs of one plan even killed at the same record: the run's id
# and instants (its reads' ``read_at`` too), the saved plan's digest (the file holds the
# instant it was computed, to the microsecond), the sandbox's query ids and confirmation
# tokens (random).
VARYING = ("time", "run", "plan", "query_id")
VARYING_DETAIL = ("read_at", "token_sha256")
TOKEN = re.compile(r"token=\w+")


class Left(NamedTuple):
    """What a kill left, but for ``VARYING``: the journal's records, the account as the
    sandbox holds it, the e-mails it sent. The records are kept in their order for each
    service (the run's own under ``None``): the concurrent actions' records interleave
    as their answers come back, which varies from one run to the next."""

    records: dict[str | None, list[dict[str, Any]]]
    services: list[dict[str, Any]]
    emails: list[dict[str, Any]]


def left(journal: Path, server: SandboxServer) -> Left:
    def same_in_every_run(record: Record) -> dict[str, Any]:
        line = {key: value for key, value in record.to_json().items() if key not in VARYING}
        detail = line["detail"]
        line["detail"] = {key: detail[key] for key in detail if key not in VARYING_DETAIL}
        return line

    records: dict[str | None, list[dict[str, Any]]] = {}
    for record in read_journal(journal).records:
        records.setdefault(record.service, []).append(same_in_every_run(record))
    return Left(
        records,
        server.services(),
        [dict(email, body=TOKEN.sub("token=…", email["body"])) for email in server.emails()],
    )


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


def real_kill_steps(records: tuple[Record, ...]) -> tuple[int, ...]:
    """The steps also killed for real: the first, the middle one of the deletion's call
    records (today the confirmation's ``sending``: the shop's termination requested, its
    e-mailed token read, the confirmation not sent), the last."""
    deleting = [
        step
        for step, record in enumerate(records, start=1)
        if record.action == ActionKind.DELETE_NOW and record.call is not None
    ]
    assert len(deleting) >= 3, "the deletion flow makes more than one call"
    return (1, deleting[len(deleting) // 2], len(records))


@dataclass(frozen=True)
class Campaign:
    """One test's sandbox, official client and fixtures, to kill runs and recover them."""

    tmp_path: Path
    server: SandboxServer
    official: ovh.Client
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def prepare(self, name: str) -> Path:
        return prepare(self.tmp_path / name, self.server, self.official, self.monkeypatch)

    def kill_then_recover(self, step: int, kill: Callable[[int, SandboxServer], None]) -> Killing:
        """Apply the saved plan, killed by ``kill`` after record ``step``; tear the last
        line every fourth step; run again, the saved plan (odd step) or the spec (even
        step); check the account and the journal. What the kill left, then the run."""
        journal = self.prepare(f"{kill.__name__}-{step}")
        kill(step, self.server)
        written = journal.read_bytes()
        assert written.count(b"\n") == step  # every record before the kill is on disk
        at_kill = left(journal, self.server)
        torn = step % 4 == 0
        if torn:  # the kill came in the middle of the next write
            journal.write_bytes(written + written.splitlines(keepends=True)[-1][:40])

        apply(self.capsys, "plan.json" if step % 2 else "spec.yaml", self.server)
        check_converged(self.official, self.server)
        contents = read_journal(journal)
        assert journal.read_bytes().startswith(written)  # nothing lost, nothing rewritten
        assert contents.torn == ((step + 1,) if torn else ())
        runs = {record.run for record in contents.records}
        assert 1 <= len(runs) <= 2  # the re-run records nothing when nothing is left
        return Killing(at_kill, left(journal, self.server))


class Killing(NamedTuple):
    """What a kill left, and what the run after it left."""

    at_kill: Left
    recovered: Left


@pytest.mark.slow
def test_killed_at_every_step_then_run_again_converges(
    tmp_path: Path,
    sandbox_server: SandboxServer,
    ovh_client: ovh.Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    campaign = Campaign(tmp_path, sandbox_server, ovh_client, monkeypatch, capsys)
    # A full run, to count its steps.
    journal = campaign.prepare("reference")
    apply(capsys, "plan.json", sandbox_server)
    check_converged(ovh_client, sandbox_server)
    reference = read_journal(journal).records
    steps = len(reference)
    assert steps >= 15

    # A few real kills first: what each left, and its recovery, the double must match.
    for_real = {
        step: campaign.kill_then_recover(step, killed_for_real)
        for step in real_kill_steps(reference)
    }
    killed_at: list[int] = []
    for step in range(1, steps + 1):
        killing = campaign.kill_then_recover(step, killed_in_process)
        if step in for_real:
            assert killing == for_real[step]
        killed_at.append(step)
    assert killed_at == list(range(1, steps + 1))


def test_the_double_writes_and_sends_nothing_once_dead(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    journal = tmp_path / "journal.jsonl"
    context = RunContext(run="run-1", plan="sha256:0", endpoint=sandbox_server.url)

    async def get_time(transport: httpx.AsyncBaseTransport) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.get(f"{sandbox_server.url}/auth/time")

    with kill_point(2) as point:
        transport = httpx.AsyncHTTPTransport()
        assert asyncio.run(get_time(transport)).status_code == 200  # alive: it sends
        with JournalWriter(journal, context, clock=SystemClock()) as writer:
            writer.write(phase=Phase.RUN, outcome=Outcome.STARTED)
            with pytest.raises(Killed):  # the second record is written, then the kill
                writer.write(phase=Phase.RUN, outcome=Outcome.STARTED)
            with pytest.raises(Killed):  # dead: a last record on the way out is not
                writer.write(phase=Phase.RUN, outcome=Outcome.FINISHED)
        with pytest.raises(Killed):  # nor the repair of a torn line by a new writer
            JournalWriter(journal, context, clock=SystemClock()).open()
        with pytest.raises(Killed):  # nor a request
            asyncio.run(get_time(transport))
    assert journal.read_bytes().count(b"\n") == 2
    assert (len(point.sent), len(point.refused), point.blocked_writes) == (1, 1, 2)

    with kill_point(2) as unreached, pytest.raises(AssertionError, match="before its kill"):
        unreached.run(main, ["--version"])  # a run that ends first is no kill
