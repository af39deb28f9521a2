"""The access rules of each role (``reconciler.core.access``): derived from one table, least
privilege, and exactly what the code calls.

Checked three ways: against the planner's own calls (``calls_for``) for every action
kind; against every call recorded while the product reads and applies on the in-process
sandbox (each call granted, each rule used); and end to end on the sandbox server with
keys holding exactly those rules (in ``test_gitops_credentials.py``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from apply_runs import apply_in_process
from demo_spec import demo_spec
from fakes import FakeSleep
from gitops_helpers import Recorder
from live_services import live_service

from reconciler.core.access import (
    GRANTS,
    AccessRule,
    Role,
    coverage,
    credential_request,
    granted,
    parse_rules,
    roles_granting,
    rule_for_call,
    rules_for,
)
from reconciler.core.diff import Essence
from reconciler.core.lifecycle import EssenceLifecycle, LiveLifecycle
from reconciler.core.live import LiveService
from reconciler.core.plan import ActionKind, Plan
from reconciler.core.planner import calls_for, make_plan
from reconciler.core.spec import parse_spec
from reconciler.core.steps import ConfirmTermination, RequestTermination, fallbacks_of
from reconciler.errors import route_pattern
from reconciler.observe import read_for_specs
from reconciler.ovh.client import ReadStrategy
from reconciler.sandbox.testing import InProcessSandbox

# A spec with every kind of action on the demo account (no refusal), a period to read,
# and a manual renewal.
EVERY_ACTION = demo_spec(extra={"old-brand.fr": ("mode: manual",)}).encode()


def service(
    lifecycle: LiveLifecycle, *, name: str = "www.example.com", mode: str = "automatic"
) -> LiveService:
    return live_service(
        4242, name, type="hosting/web", lifecycle=lifecycle, mode=mode,
        route_url=f"/hosting/web/{name}",
    )  # fmt: skip


def every_planned_call() -> set[tuple[str, str]]:
    """Every (method, path) ``calls_for`` makes, for every action kind and variant."""
    found: set[tuple[str, str]] = set()
    variants = [
        (ActionKind.TERMINATE_AT_EXPIRY, LiveLifecycle.RENEW, EssenceLifecycle.TERMINATE_AT_EXPIRY),
        (ActionKind.CANCEL_TERMINATION, LiveLifecycle.TERMINATE_AT_EXPIRY, EssenceLifecycle.RENEW),
        (
            ActionKind.CANCEL_TERMINATION,
            LiveLifecycle.TERMINATE_AT_EXPIRY,
            EssenceLifecycle.MANUAL_RENEW,
        ),
        (ActionKind.SET_RENEW, LiveLifecycle.MANUAL_RENEW, EssenceLifecycle.RENEW),
        (ActionKind.SET_RENEW, LiveLifecycle.RENEW, EssenceLifecycle.MANUAL_RENEW),
        (ActionKind.DELETE_NOW, LiveLifecycle.RENEW, EssenceLifecycle.DELETED),
        (
            ActionKind.TERMINATE_AT_COMMITMENT_END,
            LiveLifecycle.RENEW,
            EssenceLifecycle.TERMINATE_AT_COMMITMENT_END,
        ),
    ]
    for kind, live_lifecycle, wanted in variants:
        for changed in (False, True):
            for endpoint in ("ovh-eu", "ovh-us"):
                live = service(live_lifecycle, name="shop.example.com")
                essence = Essence(wanted, "P1M")
                calls = calls_for(kind, live, essence, period_changed=changed, endpoint=endpoint)
                for call in calls:
                    found.add((call.method, call.path))
                if kind is ActionKind.DELETE_NOW:  # and apply's recorded fallbacks
                    request, confirm = calls
                    assert isinstance(request, RequestTermination)
                    assert isinstance(confirm, ConfirmTermination)
                    for fallback in fallbacks_of(request, confirm):
                        if fallback is not None:
                            found.add((fallback.method, fallback.path))
    assert {method for method, _ in found} == {"PUT", "POST"}
    return found


# --- the table -------------------------------------------------------------------------

# What the apply role may write, beyond the plan role's reads: the table's words.
APPLY_WRITES = [
    "PUT /services/*",
    "PUT /*/serviceInfos",
    "POST /hosting/web/*/terminate",
    "POST /services/*/terminate/confirm",
    "POST /services/*/terminate",
    "POST /hosting/web/*/confirmTermination",
]


def test_the_plan_role_is_read_only_and_apply_holds_it_plus_the_writes() -> None:
    plan, apply = rules_for(Role.PLAN), rules_for(Role.APPLY)
    assert plan == (
        AccessRule("GET", "/services"),
        AccessRule("GET", "/services/*"),
        AccessRule("GET", "/me"),  # a spec that deletes: whose key it is (not-admin-contact)
    )
    assert {rule.method for rule in plan} == {"GET"}
    assert set(plan) < set(apply)
    assert [str(rule) for rule in apply if rule.method != "GET"] == APPLY_WRITES
    assert len({grant.rule for grant in GRANTS}) == len(GRANTS), "one line per rule"
    assert all(grant.why and grant.calls and grant.roles for grant in GRANTS)


def test_the_request_body_is_what_post_auth_credential_takes() -> None:
    body = credential_request(Role.APPLY, redirection="https://example.com/done")
    assert body == {
        "accessRules": [rule.as_json() for rule in rules_for(Role.APPLY)],
        "redirection": "https://example.com/done",
    }
    assert credential_request(Role.PLAN)["redirection"] is None
    assert all(set(rule) == {"method", "path"} for rule in body["accessRules"])


@pytest.mark.parametrize(
    ("rule", "method", "path", "grants"),
    [
        (AccessRule("GET", "/services"), "GET", "/services", True),
        (AccessRule("GET", "/services"), "GET", "/services/1", False),
        (AccessRule("GET", "/services/*"), "GET", "/services/1", True),
        (AccessRule("GET", "/services/*"), "GET", "/services/1/renewPeriodCapacities", True),
        (AccessRule("GET", "/services/*"), "GET", "/services", False),
        (AccessRule("GET", "/services/*"), "PUT", "/services/1", False),
        (
            AccessRule("POST", "/hosting/web/*/terminate"),
            "POST",
            "/hosting/web/a.b/terminate",
            True,
        ),
        (AccessRule("POST", "/hosting/web/*/terminate"), "POST", "/hosting/web/a.b", False),
        (AccessRule("POST", "/hosting/web/*/terminate"), "POST", "/services/1/terminate", False),
        (AccessRule("GET", "/*"), "GET", "/me/notification/email/history/3", True),
    ],
)
def test_rules_match_paths_as_ovh_does(
    rule: AccessRule, method: str, path: str, grants: bool
) -> None:
    assert rule.grants(method, path) is grants


def test_every_call_the_planner_makes_is_granted_to_apply_and_not_to_plan() -> None:
    apply, plan = rules_for(Role.APPLY), rules_for(Role.PLAN)
    for method, path in every_planned_call():
        assert granted(apply, method, path), f"{method} {path} is not granted to apply"
        assert not granted(plan, method, path), f"{method} {path} is granted to plan"
        assert roles_granting(method, path) == {Role.APPLY}


def test_every_write_rule_of_apply_is_used_by_a_planned_call() -> None:
    calls = every_planned_call()
    for rule in rules_for(Role.APPLY):
        if rule.method != "GET":
            assert any(rule.grants(m, p) for m, p in calls), f"{rule} is never needed"


def test_the_hint_of_a_refused_call_names_a_rule_of_the_table() -> None:
    """A NOT_GRANTED_CALL names ``route_pattern(path)``: the same words as the table."""
    for method, path in every_planned_call():
        rule = rule_for_call(method, path)
        assert rule is not None
        assert f"{method} {route_pattern(path)}" == str(rule)


def test_coverage_says_what_is_missing_and_what_is_beyond() -> None:
    everything = parse_rules([{"method": m, "path": "/*"} for m in ("GET", "PUT", "POST")])
    read_all = (AccessRule("GET", "/*"),)
    assert coverage(everything, Role.APPLY).sufficient
    assert not coverage(everything, Role.APPLY).least
    assert coverage(read_all, Role.PLAN).sufficient
    assert coverage(read_all, Role.PLAN).beyond == read_all
    assert [str(r) for r in coverage(read_all, Role.APPLY).missing] == APPLY_WRITES
    exact = coverage(rules_for(Role.APPLY), Role.APPLY)
    assert exact.sufficient and exact.least
    narrower = (AccessRule("GET", "/services"), AccessRule("GET", "/services/42"))
    assert coverage(narrower, Role.PLAN).missing == (
        AccessRule("GET", "/services/*"),
        AccessRule("GET", "/me"),
    )
    assert coverage(narrower, Role.PLAN).beyond == ()
    assert parse_rules([{"method": "PATCH", "path": "/x"}, "junk", {"method": "GET"}]) == ()


# --- what the code really calls, recorded on the in-process sandbox ------------------


def test_plan_reads_only_what_the_plan_role_grants_and_uses_each_rule(
    sandbox_app: InProcessSandbox,
) -> None:
    recorder = Recorder(sandbox_app)
    spec = parse_spec(EVERY_ACTION, "spec.yaml")

    async def read(strategy: ReadStrategy) -> None:
        async with recorder.client(strategy) as client:
            account = await read_for_specs(client, [spec])
            assert any(account.offered_periods(s.service_id) for s in account.services)

    for strategy in (ReadStrategy.AUTO, ReadStrategy.PER_ID):
        asyncio.run(read(strategy))
    signed = [call for call in recorder.calls if call != ("GET", "/auth/time")]
    rules = rules_for(Role.PLAN)
    for method, path in signed:
        assert granted(rules, method, path), f"plan called {method} {path}"
    for rule in rules:
        assert any(rule.grants(m, p) for m, p in signed), f"plan never needs {rule}"
    assert ("GET", "/services/120000301/renewPeriodCapacities") in signed


def test_apply_calls_only_what_the_apply_role_grants_and_uses_each_rule(
    sandbox_app: InProcessSandbox, tmp_path: Path
) -> None:
    recorder = Recorder(sandbox_app)
    spec = parse_spec(EVERY_ACTION, "spec.yaml")

    async def plan_then_apply() -> None:
        async with recorder.client() as client:
            account = await read_for_specs(client, [spec])
            plan: Plan = make_plan(spec, account, now=client.api_clock().now(), endpoint="sandbox")
            assert not plan.refused
            assert {a.action for a in plan.changes} == {
                ActionKind.TERMINATE_AT_EXPIRY,
                ActionKind.CANCEL_TERMINATION,
                ActionKind.DELETE_NOW,
                ActionKind.SET_RENEW,
            }

            report = await apply_in_process(
                plan,
                client,
                tmp_path / "journal.jsonl",
                sleep=FakeSleep(recorder.clock),
            )
            assert not report.failed, [r.error for r in report.failed]

    asyncio.run(plan_then_apply())
    signed = [call for call in recorder.calls if call != ("GET", "/auth/time")]
    rules = rules_for(Role.APPLY)
    for method, path in signed:
        assert granted(rules, method, path), f"apply called {method} {path}"
    # The deletion's recorded fallbacks and the ovh-us legacy confirmation are not sent
    # on a sandbox that accepts the first calls; every_planned_call covers them.
    unsent = {
        AccessRule("POST", "/services/*/terminate"),
        AccessRule("POST", "/hosting/web/*/confirmTermination"),
    }
    for rule in rules:
        if rule in unsent:
            assert not any(rule.grants(m, p) for m, p in signed), f"{rule} was sent"
            continue
        assert any(rule.grants(m, p) for m, p in signed), f"apply never needs {rule}"
