"""``commitment_end`` on a ``ServiceLifecycle``: the spec key's own values and checks
(``recommit``, ``keep_price``, ``default_price``; ``renew`` only), planned and applied
as ``reconciler apply`` does, on the real sandbox server; the account read back with the
official ``ovh`` client."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import SandboxServer
from pulumi_helpers import Stack, clean_environment, stack

from reconciler.core.spec import parse_spec
from reconciler.errors import SpecError
from reconciler.pulumi.inputs import check_properties
from reconciler.sandbox import demo_seed
from reconciler.sandbox.testing import SANDBOX_EPOCH

__all__ = ["clean_environment", "stack"]  # fixtures, imported to be found

SERVER = 120000401
SERVER_NAME = "ns3012345.ip-51-75-10.eu"
ENTRY = {"type": "dedicated/server", "lifecycle": "renew"}


@pytest.fixture
def committed(sandbox_server: SandboxServer) -> SandboxServer:
    """The demo server renewed automatically, committed with REACTIVATE_ENGAGEMENT, its
    commitment offering that and STOP_ENGAGEMENT_KEEP_PRICE only."""
    seed = copy.deepcopy(demo_seed().to_mapping())
    for service in seed["services"]:
        if service["name"] == SERVER_NAME:
            service["renew"] = {"mode": "automatic", "period": "P1M"}
            service["engagement_strategy"] = "REACTIVATE_ENGAGEMENT"
            service["engagement_strategies"] = [
                "REACTIVATE_ENGAGEMENT",
                "STOP_ENGAGEMENT_KEEP_PRICE",
            ]
    sandbox_server.reset(seed, now=SANDBOX_EPOCH)
    return sandbox_server


def end_rule(ovh_client: Any) -> str:
    engagement: dict[str, Any] = ovh_client.get(f"/services/{SERVER}/billing/engagement")
    return str(engagement["endRule"]["strategy"])


@pytest.mark.parametrize(
    ("value", "fields"),
    [
        ("STOP_ENGAGEMENT_KEEP_PRICE", {}),  # OVH's name: one spelling per meaning
        ("cancel_service", {}),  # a termination is a lifecycle
        ("keep_price", {"lifecycle": "terminate_at_expiry"}),  # renew only
        ("later", {}),
    ],
)
def test_commitment_end_gets_reconciler_validates_messages(
    value: str, fields: dict[str, str]
) -> None:
    entry = ENTRY | fields | {"commitment_end": value}
    checked = check_properties({"service": SERVER_NAME, **entry})
    assert checked.entry is None
    yaml_entry = ", ".join(f"{key}: {text}" for key, text in entry.items())
    with pytest.raises(SpecError) as expected:
        parse_spec(f"version: 1\nservices:\n  {SERVER_NAME}: {{{yaml_entry}}}\n".encode(), "s")
    (problem,) = expected.value.problems
    assert [(f.property, f.reason) for f in checked.failures] == [
        ("commitment_end", problem.message + (f" — {problem.fix}" if problem.fix else ""))
    ]


def test_check_normalises_and_the_entry_keeps_it() -> None:
    checked = check_properties({"service": SERVER_NAME, **ENTRY, "commitment_end": "recommit"})
    assert checked.failures == () and checked.entry is not None
    assert checked.inputs["commitment_end"] == "recommit"
    assert checked.entry.spec().services[0].commitment_end is not None
    without = check_properties({"service": SERVER_NAME, **ENTRY})
    assert without.inputs["commitment_end"] is None  # the end rule is left as it is


def test_create_sets_the_end_rule_and_then_the_entry_is_in_sync(
    committed: SandboxServer, stack: Stack, ovh_client: Any
) -> None:
    props = stack.checked(SERVER_NAME, **ENTRY, commitment_end="keep_price")
    judged = stack.provider.diff(str(SERVER), {}, props)
    assert judged.changes is True
    created = stack.provider.create(props)
    assert created.id == str(SERVER) and created.outs is not None
    assert end_rule(ovh_client) == "STOP_ENGAGEMENT_KEEP_PRICE"
    assert created.outs["commitment_end"] == "keep_price"
    assert created.outs["live_commitment_end"] == "keep_price"
    assert created.outs["commitment_ends"] is not None
    live = ovh_client.get(f"/services/{SERVER}")
    assert live["billing"]["renew"]["current"]["mode"] == "automatic"  # left as it was
    assert created.outs["commitment_ends"] == live["billing"]["engagement"]["endDate"][:10]
    stack.provider.reads.clear()
    assert stack.provider.diff(str(SERVER), created.outs, props).changes is False
    again = stack.provider.update(str(SERVER), created.outs, props)
    assert again.outs is not None and again.outs["live_commitment_end"] == "keep_price"


def test_an_end_rule_the_commitment_does_not_offer_is_refused_on_its_property(
    committed: SandboxServer, stack: Stack, ovh_client: Any
) -> None:
    result = stack.provider.check(
        {}, stack.props(SERVER_NAME, **ENTRY, commitment_end="default_price")
    )
    assert [f.property for f in result.failures] == ["commitment_end"]
    assert result.failures[0].reason.startswith("[strategy-not-offered] ")
    assert "keep_price" in result.failures[0].reason  # what it offers, in the spec's words
    assert end_rule(ovh_client) == "REACTIVATE_ENGAGEMENT"
    # A service under no commitment has no end rule to set.
    bare = stack.provider.check(
        {}, stack.props("example.net", type="domain", lifecycle="renew", commitment_end="recommit")
    )
    assert [f.property for f in bare.failures] == ["commitment_end"]
    assert "under no commitment" in bare.failures[0].reason
