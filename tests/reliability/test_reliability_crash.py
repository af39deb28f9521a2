"""Crashes: ``reconciler apply`` killed with SIGKILL at randomised points, over and over,
then run again, always converges — no service the spec keeps is ever terminated, no call
that took effect is sent again, and the journal is never corrupt (a torn last line is
tolerated and reported).

Each case generates an account and a spec, saves a plan, then kills one to three applies
in a row before a last, clean one. Each kill point is drawn at random:

- at the k-th API request of the run, *before* the sandbox processes it (the request is
  lost) or *after* (the change is made, the answer lost) — through the server's
  ``Tripwire``: SIGKILL, then the server goes on; k is drawn over the whole run;
- or right after the n-th journal record (the command run through
  ``tests/crash_after_records.py``, an abrupt ``os._exit``);

and a quarter of the kills also tear the journal's last line in half, as a kill in the
middle of a write would. Each run applies the saved plan or the spec, at random.

At the end: ``plan --detailed-exitcode`` says 0; every service is where the spec puts
it; the request log shows no applied call that the account already showed
(``doubled_calls``), one termination e-mail per deleted hosting and none for any other
service, and not one call that set a kept service to terminate or deleted it — at any
moment, not only at the end; the journal reads back, every byte written before a kill
still there, torn lines reported where they were torn.

``tests/apply/test_apply_crash.py`` kills one fixed run after each of its journal
records; this campaign adds kills inside HTTP exchanges, chains of kills, generated
accounts, and the server-side proof.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apply_runs import apply_in_process
from cli_runs import finish, reconciler, start_process
from crash_after_records import KILLED_EXIT_CODE
from crash_after_records import command as killed_after
from fakes import FakeSleep
from reliability_helpers import (
    Scenario,
    campaign_size,
    cli_env,
    converged_account,
    demo_credentials_env,
    generate_scenario,
    ours,
    record_figures,
    server_credentials,
)
from reliability_server import TripwireServer, kill, tripwire_server

from reconciler.core.planner import make_plan
from reconciler.core.spec import parse_spec
from reconciler.endpoints import resolve_endpoint
from reconciler.journal import read_journal
from reconciler.observe import read_for_specs
from reconciler.ovh.client import OvhClient
from reconciler.sandbox.testing import SANDBOX_EPOCH

KILLED = -9  # what Popen reports for a process ended by SIGKILL


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TripwireServer]:
    with tripwire_server(tmp_path_factory.mktemp("crash") / "sandbox.db") as wired:
        yield wired


@dataclass(frozen=True)
class Reference:
    requests: int  # API requests of a clean apply of the saved plan
    records: int  # journal records it writes


def reference(wired: TripwireServer, scenario: Scenario, journal: Path) -> Reference:
    """Apply once, in-process, to measure a clean run; the account is reset after."""
    server = wired.server
    server.reset(scenario.seed, now=SANDBOX_EPOCH)
    spec = parse_spec(scenario.spec.encode(), "spec.yaml")
    credentials = server_credentials(server)

    sleep = FakeSleep()

    async def run() -> int:
        endpoint = resolve_endpoint(server.url)
        async with OvhClient(endpoint, credentials, sleep=sleep) as client:
            account = await read_for_specs(client, [spec])
            plan = make_plan(spec, account, now=client.api_clock().now(), endpoint=server.url)
        before = server.admin.requests()[-1]["seq"]
        async with OvhClient(endpoint, credentials, sleep=sleep) as client:
            await apply_in_process(
                plan,
                client,
                journal,
                sleep=sleep,
                source="plan.json",
            )
        return len(server.admin.requests(since=before))

    requests = asyncio.run(run())
    records = len(read_journal(journal).records)
    server.reset(scenario.seed, now=SANDBOX_EPOCH)
    return Reference(requests, records)


def cli(
    workdir: Path, env: dict[str, str], *args: str, kill_after: int | None = None
) -> subprocess.Popen[str]:
    """``reconciler *args`` as a process; with ``kill_after``, ended abruptly right after
    that many journal records."""
    command = reconciler(*args) if kill_after is None else killed_after(kill_after, *args)
    return start_process(command, cwd=workdir, env=env)


def tear(journal: Path, rng: random.Random) -> bool:
    """Append half of the last record again, without its newline: a write cut short."""
    data = journal.read_bytes() if journal.exists() else b""
    lines = data.splitlines(keepends=True)
    if not lines or not data.endswith(b"\n"):
        return False
    last = lines[-1]
    journal.write_bytes(data + last[: rng.randint(1, len(last) - 2)])
    return True


def kept_touched(log: list[dict[str, Any]], kept_ids: set[int]) -> list[str]:
    """Calls that set a kept service to terminate at expiry or deleted it."""
    problems = []
    for entry in log:
        if entry["service_id"] not in kept_ids or not entry["changes"]:
            continue
        changes = entry["changes"]
        termination = changes.get("service.billing.lifecycle.current.terminationDate")
        state = changes.get("service.resource.state")
        if (termination and termination[1]) or (state and state[1] in (None, "deleted")):
            problems.append(f"#{entry['seq']} {entry['method']} {entry['path']}")
    return problems


def test_applies_killed_at_random_points_then_run_again_converge(
    wired: TripwireServer, tmp_path: Path
) -> None:
    server, tripwire = wired.server, wired.tripwire
    cases = campaign_size(3)
    kills: Counter[str] = Counter()
    torn_lines = runs = completed_without_kill = changes = 0
    for case in range(cases):
        rng = random.Random(7000 + case)
        scenario = generate_scenario(rng, 10, prefix=f"k{case}")
        workdir = tmp_path / f"case-{case}"
        (workdir / "state").mkdir(parents=True)
        (workdir / "spec.yaml").write_text(scenario.spec, encoding="utf-8")
        measured = reference(wired, scenario, workdir / "reference.jsonl")
        env = cli_env(workdir / "home", demo_credentials_env(server))
        env["RECONCILER_STATE_DIR"] = str(workdir / "state")
        journal = workdir / "state" / "journal.jsonl"
        ids = {s["name"]: s["serviceId"] for s in server.services()}
        kept_ids = {ids[name] for name in scenario.kept}

        code, _, err = finish(cli(workdir, env, "plan", "spec.yaml", "--out", "plan.json",
                               "--endpoint", server.url))  # fmt: skip
        assert code == 0, err
        written = b""
        torn: list[int] = []
        for _ in range(rng.randint(1, 3)):
            target = rng.choice(["plan.json", "spec.yaml"])
            # A saved plan is applied on the endpoint it was made for, named again.
            args = ["apply", target, "--auto-approve", "--endpoint", server.url]
            how = rng.choice(["before", "after", "before", "after", "journal"])
            if how == "journal":
                process = cli(workdir, env, *args, kill_after=rng.randint(1, measured.records))
            else:
                # The plan read of `apply spec.yaml` comes first: count it in.
                span = measured.requests + (3 if target == "spec.yaml" else 0)
                process = cli(workdir, env, *args)
                tripwire.arm(rng.randint(1, span), how, kill(process))
            code, _, err = finish(process)
            tripwire.disarm()
            runs += 1
            if code == 0:
                completed_without_kill += 1  # the point drawn lay beyond this run's end
            else:
                assert code in (KILLED, KILLED_EXIT_CODE), (code, err)
                kills[how] += 1
            current = journal.read_bytes() if journal.exists() else b""
            assert current.startswith(written)  # nothing written before was lost
            written = current
            if code != 0 and rng.random() < 0.25 and tear(journal, rng):
                torn.append(written.count(b"\n") + 1)
                written = journal.read_bytes()

        code, _, err = finish(cli(workdir, env, "apply", "spec.yaml", "--auto-approve",
                               "--endpoint", server.url))  # fmt: skip
        assert code == 0, err
        runs += 1
        code, _, err = finish(cli(workdir, env, "plan", "spec.yaml", "--detailed-exitcode",
                               "--endpoint", server.url))  # fmt: skip
        assert code == 0, err  # converged: nothing left to do

        log = converged_account(server, scenario)
        assert kept_touched(ours(log), kept_ids) == []
        contents = read_journal(journal)  # never corrupt: reads back whole
        assert journal.read_bytes().startswith(written)
        assert set(torn) <= set(contents.torn)
        torn_lines += len(contents.torn)
        changes += scenario.changes

    assert sum(kills.values()) >= cases  # kills did happen
    record_figures(
        "crashes",
        cases=cases,
        services_changed=changes,
        apply_runs=runs,
        kills=sum(kills.values()),
        kills_by_point=dict(sorted(kills.items())),
        runs_that_ended_before_their_kill_point=completed_without_kill,
        torn_lines_tolerated=torn_lines,
    )
