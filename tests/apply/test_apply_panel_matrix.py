"""Every live state the control panel shows a server in, crossed with every lifecycle a
spec can ask for, applied end to end on the served sandbox and the account read back
with the official ``ovh`` client.

One account holds the whole matrix (one server per pair), so the checks are about the
account as a whole, as a user would check it after a real run:

- a plan with a refusal changes nothing at all;
- no server is switched from manual to automatic renewal unless its spec asks for it
  (``renew`` without ``mode: manual``);
- no termination is left pending that the spec does not want, and every termination the
  spec wants is pending;
- what apply reports done is exactly what changed on the account, and a second plan
  finds nothing to do.
"""

from __future__ import annotations

import json
from typing import Any

import ovh
import pytest
from conftest import SandboxServer
from sandbox_env import cli
from test_apply_e2e import server, write

from reconciler.sandbox.testing import SANDBOX_EPOCH

__all__ = ["server"]  # the fixture, shared with test_apply_e2e

_ENGAGED = {
    "engagement_ends_in": "200d",
    "engagement_strategies": [
        "CANCEL_SERVICE",
        "REACTIVATE_ENGAGEMENT",
        "STOP_ENGAGEMENT_KEEP_PRICE",
    ],
}

# What the panel can show, as seed entries (expiry far from the 24-hour window).
STATES: dict[str, dict[str, Any]] = {
    "auto": {"renew": {"mode": "automatic"}},
    "manual": {"renew": {"mode": "manual"}},
    # Manual renewal as the panel sets it: terminateAtExpirationDate rides along.
    "manual-marked": {"renew": {"mode": "manual"}, "termination": "at_expiry"},
    "auto-terminating": {"renew": {"mode": "automatic"}, "termination": "at_expiry"},
    "engaged-recommit": {
        "renew": {"mode": "automatic"},
        **_ENGAGED,
        "engagement_strategy": "REACTIVATE_ENGAGEMENT",
    },
    "engaged-cancel": {
        "renew": {"mode": "automatic"},
        **_ENGAGED,
        "engagement_strategy": "CANCEL_SERVICE",
    },
    "engaged-terminating": {
        "renew": {"mode": "automatic"},
        **_ENGAGED,
        "termination": "at_engagement",
    },
}

# What a spec can ask of a server, as spec entries.
WANTED: dict[str, str] = {
    "renew": "lifecycle: renew",
    "renew-manual": "lifecycle: renew, mode: manual",
    "terminate-at-expiry": "lifecycle: terminate_at_expiry",
    "terminate-at-commitment-end": "lifecycle: terminate_at_commitment_end",
}


# One server per pair, named as OVH names dedicated servers.
PAIRS = [(state, wanted) for state in STATES for wanted in WANTED]
NAMES = {pair: f"ns{3100000 + n}.ip-51-75-{n}.eu" for n, pair in enumerate(PAIRS)}
PAIR_OF = {name: pair for pair, name in NAMES.items()}


def name_of(state: str, wanted: str) -> str:
    return NAMES[state, wanted]


def matrix_seed() -> dict[str, Any]:
    services = []
    for number, (state, wanted) in enumerate(PAIRS):
        services.append(
            {
                "name": name_of(state, wanted),
                "route": "/dedicated/server",
                "id": 130000001 + number,
                "expires_in": "60d",
                **STATES[state],
            }
        )
    return {"services": services}


def spec_text(names: set[str]) -> str:
    lines = ["version: 1", "unmanaged: ignore", "services:"]
    for state in STATES:
        for wanted, entry in WANTED.items():
            if name_of(state, wanted) in names:
                lines.append(f"  {name_of(state, wanted)}: {{type: dedicated/server, {entry}}}")
    return "\n".join(lines) + "\n"


def account(official: ovh.Client) -> dict[str, dict[str, Any]]:
    """Every server of the matrix as OVH answers ``GET /services/{id}``, by name."""
    seen: dict[str, dict[str, Any]] = {}
    for service_id in official.get("/services"):
        service = official.get(f"/services/{service_id}")
        seen[service["resource"]["name"]] = service
    return seen


def mode(service: dict[str, Any]) -> str:
    renew_mode: str = service["billing"]["renew"]["current"]["mode"]
    return renew_mode


def pending(service: dict[str, Any]) -> set[str]:
    return set(service["billing"]["lifecycle"]["current"]["pendingActions"])


def end_rule(service: dict[str, Any]) -> str | None:
    engagement = service["billing"]["engagement"]
    return engagement["endRule"]["strategy"] if engagement else None


def terminates_at_expiry(service: dict[str, Any]) -> bool:
    """A termination at expiry, told apart from manual renewal's marking as the panel
    tells it: the same pending action on a service renewed automatically."""
    return mode(service) != "manual" and "terminateAtExpirationDate" in pending(service)


def terminates_at_commitment_end(service: dict[str, Any]) -> bool:
    return "terminateAtEngagementDate" in pending(service) or end_rule(service) == "CANCEL_SERVICE"


@pytest.fixture
def matrix(server: SandboxServer) -> SandboxServer:
    server.reset(matrix_seed(), now=SANDBOX_EPOCH)
    return server


def test_every_state_crossed_with_every_lifecycle(
    matrix: SandboxServer, ovh_client: ovh.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    everything = {name_of(s, w) for s in STATES for w in WANTED}
    before = account(ovh_client)
    assert everything <= set(before), "the seed holds the whole matrix"

    # The whole matrix at once: some pairs are refused, so apply changes nothing.
    write("all.yaml", spec_text(everything))
    planned = cli(capsys, "plan", "all.yaml", "--endpoint", matrix.url, "--format", "json")
    plan = json.loads(planned.out)
    refused = {refusal["service"] for refusal in plan["refused"]}
    assert refused, "the matrix holds pairs OVH does not allow"
    assert refused < everything, "and pairs it allows"
    blocked = cli(capsys, "apply", "all.yaml", "--endpoint", matrix.url, "--auto-approve")
    assert blocked.code != 0, blocked.out + blocked.err
    assert account(ovh_client) == before, "a refused plan changed the account"

    # The allowed pairs alone.
    allowed = everything - refused
    write("spec.yaml", spec_text(allowed))
    planned = cli(capsys, "plan", "spec.yaml", "--endpoint", matrix.url, "--format", "json")
    plan = json.loads(planned.out)
    assert plan["refused"] == []
    changing = {a["service"] for a in plan["actions"] if a["action"] != "no_op"}
    assert changing, "the matrix holds pairs that need a change"
    applied = cli(capsys, "apply", "spec.yaml", "--endpoint", matrix.url, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    done = {line.split()[1] for line in applied.out.splitlines() if line.startswith("done ")}
    after = account(ovh_client)

    changed = {name for name in everything if after[name] != before[name]}
    assert changed == done == changing, "apply reported done exactly what changed"

    for name in allowed:
        state, wanted = PAIR_OF[name]
        old, new = before[name], after[name]
        where = f"{name} ({state}, spec {wanted})"
        if mode(old) == "manual" and wanted != "renew":  # only `renew` asks for automatic
            assert mode(new) == "manual", f"{where}: switched to automatic renewal unasked"
        if wanted.startswith("renew"):
            assert not terminates_at_expiry(new), f"{where}: a termination left pending"
            assert not terminates_at_commitment_end(new), f"{where}: a termination left pending"
            wanted_mode = "manual" if wanted == "renew-manual" else "automatic"
            assert mode(new) == wanted_mode, f"{where}: renewed {mode(new)}"
        if wanted == "terminate-at-expiry":
            assert terminates_at_expiry(new), f"{where}: not terminating at expiry"
        if wanted == "terminate-at-commitment-end":
            assert terminates_at_commitment_end(new), f"{where}: not terminating"

    again = cli(capsys, "plan", "spec.yaml", "--endpoint", matrix.url, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
