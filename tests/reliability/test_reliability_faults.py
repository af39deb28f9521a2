"""Faults: ``plan`` and ``apply`` against the sandbox server with 20 % of the requests
answered by an injected 500/502/503/429 and 5 % of the connections dropped after the
request was processed (``PUT /sandbox/faults``, seeded) converge, on repeated seeded runs.

Each case generates an account and a spec (``generate_scenario``), plans it without
faults (the reference), then with faults on plans and applies until a plan has nothing
left — each run planning from the spec again, as ``reconciler apply SPEC`` does. Then,
faults off:

- the first plan made under faults is the reference plan (faults change what is read
  never, only how long it takes);
- every service is where the spec puts it, and every service the spec leaves alone is
  untouched (``end_state_problems``);
- no mutating call was sent again after a send that took effect, as the sandbox's
  request log shows (``doubled_calls``), and each deleted hosting got one termination
  e-mail;
- retries are bounded, and counted: no request was attempted more than the client's
  ``RetryPolicy.max_attempts`` times, no mutating call sent more than
  ``ApplyOptions.call_attempts`` times in a run.

This builds on ``tests/apply/test_apply_faults.py`` (one fixed 50-service account,
three seeds): here the accounts are generated per seed, the plan is held to the
reference, and what was sent is counted on the server's side.

The in-process runs wait on a fake sleep; ``test_the_cli_converges_under_faults`` runs
the real commands (``plan --detailed-exitcode``, ``apply --auto-approve``) as
subprocesses, with their real backoff.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from apply_runs import apply_in_process
from cli_runs import reconciler, run_process
from conftest import SandboxServer
from fakes import FakeSleep
from reliability_helpers import (
    CallCounts,
    Scenario,
    campaign_size,
    cli_env,
    converged_account,
    count_calls,
    demo_credentials_env,
    generate_scenario,
    ours,
    record_figures,
    server_credentials,
)

from reconciler.apply import ActionStatus, ApplyOptions
from reconciler.core.plan import Plan
from reconciler.core.planner import make_plan
from reconciler.core.spec import Spec, parse_spec
from reconciler.endpoints import resolve_endpoint
from reconciler.errors import ApiError
from reconciler.journal import Phase, done_before_in, read_journal
from reconciler.observe import read_for_specs
from reconciler.ovh.client import OvhClient, RetryPolicy
from reconciler.sandbox.testing import SANDBOX_EPOCH

FAULTS = {"error_rate": 0.2, "drop_rate": 0.05, "error_statuses": [500, 502, 503, 429]}
MAX_RUNS = 10  # runs of plan + apply before a case counts as not converging
_ATTEMPT = re.compile(r"\(attempt (\d+)\)")


class Attempts(logging.Handler):
    """The attempt number of every request the client logs (``(attempt N)``)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.numbers: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = _ATTEMPT.search(record.getMessage())
        if found:
            self.numbers.append(int(found[1]))


@pytest.fixture
def attempts() -> Iterator[Attempts]:
    handler = Attempts()
    logger = logging.getLogger("reconciler.ovh")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@dataclass
class Outcome:
    runs: int = 0  # plan + apply runs until nothing was left
    lost_runs: int = 0  # runs whose account read failed (6 attempts of one read)
    failed_actions: int = 0  # actions that failed on the way (a later run made them)
    sleeps: int = 0
    counts: CallCounts = field(default_factory=CallCounts)


def _key(plan: Plan) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    return [
        (a.service, a.action.value, tuple((c.method, c.path) for c in a.calls))
        for a in plan.changes
    ]


async def _plan(client: OvhClient, spec: Spec, endpoint: str, journal: Path | None = None) -> Plan:
    """As `reconciler plan` plans: with the journal's evidence of deletions made."""
    account = await read_for_specs(client, [spec])
    done = done_before_in(journal, endpoint=endpoint) if journal is not None else None
    return make_plan(
        spec, account, now=client.api_clock().now(), endpoint=endpoint, done_before=done
    )


def converge(
    server: SandboxServer, scenario: Scenario, seed: int, journal: Path
) -> tuple[Outcome, Plan]:
    spec = parse_spec(scenario.spec.encode(), "spec.yaml")
    endpoint = resolve_endpoint(server.url)
    credentials = server_credentials(server)
    sleep = FakeSleep()
    jitter = random.Random(seed)

    def client() -> OvhClient:
        return OvhClient(endpoint, credentials, sleep=sleep, random=jitter.random)

    async def reference() -> Plan:
        async with client() as api:
            return await _plan(api, spec, server.url)

    expected = asyncio.run(reference())
    assert len(expected.changes) == scenario.changes
    server.set_faults(**FAULTS, seed=seed)
    outcome = Outcome()
    first: Plan | None = None
    for run in range(1, MAX_RUNS + 1):

        async def once() -> tuple[Plan, int] | None:
            async with client() as api:
                planned = await _plan(api, spec, server.url, journal)
                if not planned.has_changes:
                    return planned, -1
                report = await apply_in_process(
                    planned,
                    api,
                    journal,
                    sleep=sleep,
                )
                assert report.count(ActionStatus.DONE) + report.count(ActionStatus.SKIPPED) + len(
                    report.failed
                ) == len(report.results)
                return planned, len(report.failed)

        try:
            result = asyncio.run(once())
        except ApiError:  # a read that failed 6 times: this run is lost, not the account
            outcome.lost_runs += 1
            continue
        assert result is not None
        planned, failed = result
        if first is None:
            first = planned
        if failed < 0:
            outcome.runs = run - 1
            break
        outcome.failed_actions += failed
    else:
        raise AssertionError(f"seed {seed}: not converged after {MAX_RUNS} runs")
    server.clear_faults()
    outcome.sleeps = len(sleep.delays)
    assert first is not None
    assert _key(first) == _key(expected), "faults changed what was planned"
    return outcome, expected


def test_plan_and_apply_converge_under_errors_and_dropped_connections(
    sandbox_server: SandboxServer, attempts: Attempts, tmp_path: Path
) -> None:
    cases = campaign_size(4)
    totals = CallCounts()
    runs: Counter[int] = Counter()
    lost = failed_actions = changes = sleeps = 0
    for case in range(cases):
        seed = 1000 + case
        scenario = generate_scenario(random.Random(seed), 24, prefix=f"f{case}")
        sandbox_server.reset(scenario.seed, now=SANDBOX_EPOCH)
        journal = tmp_path / f"journal-{seed}.jsonl"
        outcome, _ = converge(sandbox_server, scenario, seed, journal)
        log = converged_account(sandbox_server, scenario)

        # Every send of a mutating call is in the journal, numbered; at most
        # call_attempts sends of one call in one run.
        sends = [
            record.attempt
            for record in read_journal(journal).records
            if record.phase == Phase.CALL and record.outcome == "sending"
        ]
        assert sends and max(a or 0 for a in sends) <= ApplyOptions().call_attempts
        # The sandbox saw each of them, plus the client's own re-sends after a 429 (a
        # rate-limited call provably did nothing: the client retries it in place).
        mutating = [e for e in ours(log) if e["method"] in ("PUT", "POST")]
        rate_limited = sum(1 for e in mutating if e["fault"] == "error" and e["status"] == 429)
        assert len(sends) <= len(mutating) <= len(sends) + rate_limited

        runs[outcome.runs] += 1
        lost += outcome.lost_runs
        failed_actions += outcome.failed_actions
        changes += scenario.changes
        sleeps += outcome.sleeps
        totals.add(count_calls(log))

    # Retries are bounded: no request attempted more often than the policy allows.
    assert attempts.numbers and max(attempts.numbers) <= RetryPolicy().max_attempts
    retries = sum(1 for n in attempts.numbers if n > 1)
    assert totals.injected_errors > 0 and totals.dropped > 0  # the faults did happen
    assert totals.redundant == 0
    record_figures(
        "faults",
        cases=cases,
        services_changed=changes,
        runs_to_converge=dict(sorted(runs.items())),
        runs_lost_to_reads=lost,
        actions_failed_then_resumed=failed_actions,
        requests=totals.requests,
        injected_errors=totals.injected_errors,
        dropped_connections=totals.dropped,
        faults_by_kind=dict(sorted(totals.faults_by_kind.items())),
        mutating_sent=totals.mutating,
        mutating_applied=totals.applied,
        redundant_mutating=totals.redundant,
        client_retries=retries,
        max_attempts_of_one_request=max(attempts.numbers),
        fake_sleeps=sleeps,
    )


def cli(
    workdir: Path, env: dict[str, str], url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; no traceback ever, and a failure is one error line and its hint."""
    done = run_process(reconciler(*args, "--endpoint", url), cwd=workdir, env=env)
    if done.returncode == 1:
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, done.stderr
        assert "hint:" in done.stderr, done.stderr
    return done


def test_the_cli_converges_under_faults(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    """The real commands, as subprocesses, with their real backoff (``Retry-After: 0``
    so that 429s do not wait a whole second each): ``plan --detailed-exitcode`` says 2
    (changes) or fails with one clear line, ``apply --auto-approve`` is run again until
    ``plan`` says 0; no traceback, ever."""
    cases = max(1, campaign_size(1) // 10)
    totals = CallCounts()
    invocations = 0
    for case in range(cases):
        seed = 5000 + case
        scenario = generate_scenario(random.Random(seed), 10, prefix=f"c{case}")
        sandbox_server.reset(scenario.seed, now=SANDBOX_EPOCH)
        workdir = tmp_path / f"case-{seed}"
        workdir.mkdir()
        (workdir / "spec.yaml").write_text(scenario.spec, encoding="utf-8")
        env = cli_env(workdir / "home", demo_credentials_env(sandbox_server))
        env["RECONCILER_STATE_DIR"] = str(workdir / "state")
        sandbox_server.set_faults(**FAULTS, seed=seed, retry_after=0)

        for _ in range(MAX_RUNS):
            invocations += 1
            planned = cli(
                workdir, env, sandbox_server.url, "plan", "spec.yaml", "--detailed-exitcode"
            )
            assert planned.returncode in (0, 1, 2), planned.stderr
            if planned.returncode == 0:
                break
            invocations += 1
            applied = cli(workdir, env, sandbox_server.url, "apply", "spec.yaml", "--auto-approve")
            assert applied.returncode in (0, 1), applied.stderr
        else:
            raise AssertionError(f"seed {seed}: the CLI did not converge")
        sandbox_server.clear_faults()
        log = converged_account(sandbox_server, scenario)
        totals.add(count_calls(log))
    assert totals.injected_errors > 0
    record_figures(
        "faults-cli",
        cases=cases,
        invocations=invocations,
        requests=totals.requests,
        injected_errors=totals.injected_errors,
        dropped_connections=totals.dropped,
        mutating_sent=totals.mutating,
        redundant_mutating=totals.redundant,
    )
