"""The quickstart promise: ``examples/quickstart.yaml`` against the demo account of the
embedded sandbox plans one change of each kind and the two refusals its comments name,
read through the real client (``endpoint: sandbox``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reconciler.core.plan import ActionKind, Plan, RuleCode
from reconciler.core.planner import make_plan
from reconciler.core.spec import load_spec
from reconciler.endpoints import resolve_endpoint
from reconciler.observe import read_for_specs
from reconciler.ovh.client import OvhClient

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.yaml"


def plan_quickstart(state_dir: Path) -> Plan:
    spec = load_spec(QUICKSTART)
    assert spec.endpoint == "sandbox"

    async def run() -> Plan:
        endpoint = resolve_endpoint(spec.endpoint)
        client = OvhClient.from_environment(endpoint, environ={}, state_dir=state_dir)
        async with client:
            account = await read_for_specs(client, [spec])
            return make_plan(spec, account, now=client.api_clock().now(), endpoint=spec.endpoint)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return plan_quickstart(tmp_path_factory.mktemp("state"))


def test_one_change_of_each_kind(plan: Plan) -> None:
    kinds = {action.service: action.action for action in plan.changes}
    assert kinds == {
        "example.net": ActionKind.TERMINATE_AT_EXPIRY,
        "old-brand.fr": ActionKind.CANCEL_TERMINATION,
        "old-shop.example.org": ActionKind.DELETE_NOW,
        "vps-1a2b3c4d.vps.ovh.net": ActionKind.SET_RENEW,
    }
    no_ops = {a.service for a in plan.actions if a.action is ActionKind.NO_OP}
    assert no_ops == {"example.com", "example.com hosting"}


def test_the_refusals_the_comments_announce(plan: Plan) -> None:
    refused = {(r.service, r.rule) for r in plan.refused}
    assert refused == {
        ("campaign-2025.example.com", RuleCode.CANCEL_WINDOW_CLOSED),
        ("xdsl-ab12345-1", RuleCode.UNMANAGEABLE_SERVICE),
    }


def test_the_rest_of_the_account_is_reported_not_touched(plan: Plan) -> None:
    unmanaged = {u.name for u in plan.unmanaged}
    assert {"ns3012345.ip-51-75-10.eu", "hosted-ab12345-1", "vps-9f8e7d6c.vps.ovh.net"} <= unmanaged
    named = {a.name for a in plan.actions} | {r.service for r in plan.refused}
    assert not unmanaged & named
