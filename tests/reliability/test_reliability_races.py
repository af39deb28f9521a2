"""Races: two applies of one spec at once, and an apply racing a change made in the
control panel, end with the account in the spec's state and no action doubled; a saved
plan gone stale is refused and sends nothing.

- Two ``reconciler apply SPEC`` processes started together with the same journal: the
  journal's lock (``reconciler.journal.ApplyLock``) lets one run at a time. Without
  ``--lock-timeout`` the second fails at once naming the first (exit 1, one line); with
  it, the second waits, re-reads, and finds nothing left to do. Either way the request
  log shows no call sent again after one that took effect.
- Two applies with *separate* journals (two machines): no lock can reach across, so
  what they send can overlap; the account still ends as the spec says and each
  deletion is confirmed once. The overlap is measured (docs/reliability.md), and the CI
  recipes serialise applies (``concurrency`` / ``resource_group``) for this reason.
- An apply whose k-th request (k at random) is held while the official ``ovh`` client
  changes a service the spec manages — the same change, the opposite one, another
  period or mode, or the hosting deleted by hand — then runs again until ``plan`` says
  there is nothing to do: the account is as the spec says, and every redundant call of
  reconciler's is explained by the panel's change landing between its re-read and its
  call (the race no client can close without the API's help), never by reconciler
  sending again what it had done.
- A saved plan, then a change in the panel to a service it acts on (or one it leaves
  alone that now needs a change): ``apply plan.json`` is refused as stale (exit 1) and
  sends no mutating call; a change to a service the spec does not manage is not
  staleness, and the plan applies.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import ovh
import ovh.client
import ovh.exceptions
import pytest
from cli_runs import finish, reconciler, start_process
from reliability_helpers import (
    Scenario,
    campaign_size,
    cli_env,
    demo_credentials_env,
    doubled_calls,
    doubled_entries,
    end_state_problems,
    generate_scenario,
    ours,
    record_figures,
    termination_emails,
)
from reliability_server import TripwireServer, tripwire_server

from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

MAX_RUNS = 4


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TripwireServer]:
    with tripwire_server(tmp_path_factory.mktemp("races") / "sandbox.db") as wired:
        yield wired


@pytest.fixture
def new_panel(wired: TripwireServer, monkeypatch: pytest.MonkeyPatch) -> Callable[[], ovh.Client]:
    """The official client, as the control panel (its own User-Agent in the log). A new
    one for each case: it measures its /auth/time delta once, and the sandbox remembers
    only its last few deltas while hundreds of runs reset its clock."""
    monkeypatch.setitem(ovh.client.ENDPOINTS, "tripwire", wired.server.url)

    def make() -> ovh.Client:
        return ovh.Client(
            endpoint="tripwire",
            application_key=wired.server.application_key,
            application_secret=wired.server.application_secret,
            consumer_key=wired.server.consumer_key,
            config_file=os.devnull,
            timeout=10,
        )

    return make


def start(workdir: Path, env: Mapping[str, str], *args: str) -> subprocess.Popen[str]:
    return start_process(reconciler(*args), cwd=workdir, env=env)


def prepare(wired: TripwireServer, scenario: Scenario, workdir: Path) -> dict[str, str]:
    wired.server.reset(scenario.seed, now=SANDBOX_EPOCH)
    workdir.mkdir(parents=True)
    (workdir / "spec.yaml").write_text(scenario.spec, encoding="utf-8")
    env = cli_env(workdir / "home", demo_credentials_env(wired.server))
    env["RECONCILER_STATE_DIR"] = str(workdir / "state")
    return env


def converge(wired: TripwireServer, workdir: Path, env: Mapping[str, str]) -> int:
    """Apply the spec until ``plan --detailed-exitcode`` says 0; the runs it took."""
    url = wired.server.url
    for run in range(MAX_RUNS):
        code, _, err = finish(start(workdir, env, "plan", "spec.yaml", "--detailed-exitcode",
                                    "--endpoint", url))  # fmt: skip
        if code == 0:
            return run
        assert code == 2, err
        code, _, err = finish(start(workdir, env, "apply", "spec.yaml", "--auto-approve",
                                    "--endpoint", url))  # fmt: skip
        assert code in (0, 1), err
    raise AssertionError("no convergence")


def check_end(wired: TripwireServer, scenario: Scenario) -> list[dict[str, Any]]:
    assert end_state_problems(wired.server.services(), scenario.expected) == []
    return wired.server.admin.requests()


# --- two applies at once ---------------------------------------------------------------


def test_two_applies_sharing_a_journal_never_double_an_action(
    wired: TripwireServer, tmp_path: Path
) -> None:
    cases = campaign_size(4)
    refused = waited = 0
    for case in range(cases):
        rng = random.Random(9000 + case)
        scenario = generate_scenario(rng, 12, prefix=f"t{case}")
        workdir = tmp_path / f"case-{case}"
        env = prepare(wired, scenario, workdir)
        wait = case % 2 == 1  # half the cases wait for the lock, half fail at once
        args = ["apply", "spec.yaml", "--auto-approve", "--endpoint", wired.server.url]
        if wait:
            args += ["--lock-timeout", "2min"]
        both = [start(workdir, env, *args), start(workdir, env, *args)]
        results = [finish(process) for process in both]
        codes = sorted(code for code, _, _ in results)
        if wait:
            assert codes == [0, 0], results
            assert any("Nothing left to apply" in out or "already as wanted" in out
                       for _, out, _ in results), results  # fmt: skip
            waited += 1
        else:
            assert codes in ([0, 0], [0, 1]), results
            for code, _, err in results:
                if code == 1:
                    errors = [line for line in err.splitlines() if line.startswith("error:")]
                    assert len(errors) == 1 and "another reconciler apply is running" in err
                    refused += 1
            if codes == [0, 1]:
                assert converge(wired, workdir, env) == 0  # the first one did everything
        log = check_end(wired, scenario)
        assert doubled_calls(log) == []
        assert dict(termination_emails(wired.server.emails())) == dict.fromkeys(scenario.deleted, 1)
    record_figures(
        "races-same-journal",
        cases=cases,
        second_refused_at_once=refused,
        second_waited_then_found_nothing=waited,
        doubled_actions=0,
    )


def test_two_applies_on_two_machines_end_right(wired: TripwireServer, tmp_path: Path) -> None:
    """Separate journals: no lock reaches across machines. The account still ends as
    the spec says and each deletion is confirmed once; the overlap is measured."""
    cases = campaign_size(2)
    overlaps: Counter[str] = Counter()
    for case in range(cases):
        rng = random.Random(9500 + case)
        scenario = generate_scenario(rng, 12, prefix=f"m{case}")
        # OVH keeps a terminated service listed for a while: the machine that plans after
        # the other deleted it sees it deleted (already gone), not a name that matches
        # nothing, though its own journal says nothing of it.
        scenario = replace(scenario, seed={**scenario.seed, "retention": "7d"})
        workdir = tmp_path / f"case-{case}"
        env = prepare(wired, scenario, workdir)
        args = ["apply", "spec.yaml", "--auto-approve", "--endpoint", wired.server.url]
        both = [
            start(workdir, {**env, "RECONCILER_STATE_DIR": str(workdir / f"machine-{n}")}, *args)
            for n in (1, 2)
        ]
        for process in both:
            code, _, err = finish(process)
            assert code in (0, 1), err
        converge(wired, workdir, env)
        log = check_end(wired, scenario)
        for problem in doubled_calls(log):
            assert "second confirmation" not in problem  # a deletion is confirmed once
            overlaps["termination request" if "termination request" in problem else "put"] += 1
        emails = termination_emails(wired.server.emails())
        assert set(emails) == set(scenario.deleted)
    record_figures(
        "races-two-machines",
        cases=cases,
        redundant_puts=overlaps["put"],
        second_termination_requests=overlaps["termination request"],
        second_confirmations=0,
    )


# --- an apply racing the control panel ---------------------------------------------------


def _services(wired: TripwireServer) -> dict[str, dict[str, Any]]:
    return {service["name"]: service for service in wired.server.services()}


def panel_change(
    client: ovh.Client, wired: TripwireServer, scenario: Scenario, rng: random.Random
) -> str:
    """A change a user makes in the control panel to a service the spec manages."""
    services = _services(wired)
    managed = sorted(
        name
        for name in scenario.expected
        if name in scenario.spec and services[name]["lifecycle"] != "terminated"
    )
    name = rng.choice(managed)
    service = services[name]
    wanted = scenario.expected[name]
    service_id = service["serviceId"]
    path = f"/services/{service_id}"
    terminating = service["termination"] != "none"
    choices: list[tuple[str, Callable[[], Any]]] = [
        (
            "terminate" if not terminating else "cancel",
            lambda: client.put(
                path,
                terminationPolicy="empty" if terminating else "terminateAtExpirationDate",
            ),
        ),
        (
            "renew mode",
            lambda: client.put(
                path,
                renew={
                    "mode": "manual" if service["renew"]["mode"] == "automatic" else "automatic"
                },
            ),
        ),
    ]
    if wanted.states_period:
        other = next(p for p in ("P1M", "P12M", "P24M") if p != service["renew"]["period"])
        offered = client.get(f"{path}/renewPeriodCapacities")
        if other in offered:
            choices.append(("period", lambda: client.put(path, renew={"period": other})))
    if wanted.gone:

        def delete() -> None:
            # The apply's requests other than the held one go on meanwhile: it may delete
            # this very hosting first (with its token, or the panel's), and the panel
            # then finds it gone — as a person in the control panel would.
            try:
                client.post(f"/hosting/web/{name}/terminate")
                body = [e["body"] for e in wired.server.emails() if name in e["subject"]][-1]
                token = body.split("token=", 1)[1].split()[0]
                client.post(f"/hosting/web/{name}/confirmTermination", token=token)
            except ovh.exceptions.ResourceNotFoundError:
                pass

        choices.append(("deleted by hand", delete))
    what, change = rng.choice(choices)
    change()
    return f"{what} of {name}"


def unexplained_doubles(log: Sequence[Mapping[str, Any]]) -> list[str]:
    """Reconciler's redundant calls that no change of the panel's explains: a call is
    explained when the panel changed its service after reconciler last read it."""
    problems = []
    for entry, reason in doubled_entries(log):
        service = entry["service_id"]
        before = [
            e
            for e in log
            if e["seq"] < entry["seq"] and e["service_id"] == service and e["method"] == "GET"
            and e in ours(log)
        ]  # fmt: skip
        last_read = before[-1]["seq"] if before else 0
        raced = any(
            e["service_id"] == service
            and last_read < e["seq"] < entry["seq"]
            and e["applied"]
            and e not in ours(log)
            for e in log
        )
        if not raced:
            problems.append(reason)
    return problems


def test_an_apply_racing_the_control_panel_ends_as_the_spec_says(
    wired: TripwireServer, new_panel: Callable[[], ovh.Client], tmp_path: Path
) -> None:
    cases = campaign_size(3)
    tripwire = wired.tripwire
    changes: Counter[str] = Counter()
    raced = explained = runs = 0
    for case in range(cases):
        rng = random.Random(9900 + case)
        scenario = generate_scenario(rng, 12, prefix=f"p{case}")
        workdir = tmp_path / f"case-{case}"
        env = prepare(wired, scenario, workdir)
        panel = new_panel()
        panel.get("/me")  # its /auth/time read, before the race starts
        tripwire.hold(rng.randint(2, 30))
        process = start(workdir, env, "apply", "spec.yaml", "--auto-approve",
                        "--endpoint", wired.server.url)  # fmt: skip
        while not tripwire.reached.wait(0.01) and process.poll() is None:
            pass
        held = tripwire.reached.is_set()
        tripwire.disarm()  # no later request of the panel's is held
        what = panel_change(panel, wired, scenario, rng)
        tripwire.release()
        code, _, err = finish(process)
        assert code in (0, 1), err
        raced += held
        changes[what.split(" of ")[0]] += 1
        runs += converge(wired, workdir, env)
        log = check_end(wired, scenario)
        assert unexplained_doubles(log) == [], what
        explained += len(doubled_entries(log))
        assert not termination_emails(wired.server.emails()).keys() - scenario.deleted
    record_figures(
        "races-control-panel",
        cases=cases,
        changes_by_kind=dict(sorted(changes.items())),
        held_mid_apply=raced,
        rerun_applies=runs,
        redundant_calls_explained_by_the_panel=explained,
        unexplained_doubles=0,
    )


# --- a stale saved plan ----------------------------------------------------------------


@pytest.mark.parametrize("change", ["acted-on", "left-alone", "unmanaged"])
def test_a_saved_plan_gone_stale_is_refused_and_sends_nothing(
    change: str, wired: TripwireServer, new_panel: Callable[[], ovh.Client], tmp_path: Path
) -> None:
    server = wired.server
    server.reset(demo_seed().to_mapping(), now=SANDBOX_EPOCH)
    spec = """\
version: 1
unmanaged: ignore
services:
  example.net:
    lifecycle: terminate_at_expiry
  example.com:
    type: domain
    lifecycle: renew
"""
    workdir = tmp_path / change
    workdir.mkdir()
    (workdir / "spec.yaml").write_text(spec, encoding="utf-8")
    env = cli_env(workdir / "home", demo_credentials_env(server))
    env["RECONCILER_STATE_DIR"] = str(workdir / "state")
    code, _, err = finish(start(workdir, env, "plan", "spec.yaml", "--out", "plan.json",
                                "--endpoint", server.url))  # fmt: skip
    assert code == 0, err
    panel = new_panel()
    target = {"acted-on": 120000102, "left-alone": 120000101, "unmanaged": 120000104}[change]
    # The acted-on service is to terminate: a new period moves it (a manual renewal would
    # be refused outright, terminate-manual-service); the others are switched to manual.
    moved = {"period": "P24M"} if change == "acted-on" else {"mode": "manual"}
    panel.put(f"/services/{target}", renew=moved)
    mark = server.admin.requests()[-1]["seq"]

    code, out, err = finish(
        start(workdir, env, "apply", "plan.json", "--auto-approve", "--endpoint", server.url)
    )
    sent = [e for e in ours(server.admin.requests(since=mark)) if e["method"] != "GET"]
    if change == "unmanaged":
        assert code == 0, err
        assert [e["service_id"] for e in sent] == [120000102]
        return
    assert code == 1, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "the account changed since this plan was made" in errors[0]
    assert "hint:" in err
    assert sent == []  # nothing was sent
