"""Golden planner cases, the pyinfra way: ``cases/<case>.yaml`` holds ``description``,
``now``, ``spec`` (a spec document), ``live`` (compact LiveService fields) and
``expected``; each file is one test.

``expected`` is complete for what it lists: ``actions`` and ``refused`` list every
action and refusal of the plan, in plan order (``actions`` by spec key; ``refused`` by
service then rule code). Per action, only the keys written are compared (``calls`` and
``linked`` exactly; ``reason_contains`` as substrings), so a case says what it is
about. ``unmanaged``, ``drift`` and ``summary`` are compared when present.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from planner_helpers import live_account, spec_of, when

from reconciler.core.plan import Action, Plan, Refusal
from reconciler.core.planner import make_plan

CASES_DIR = Path(__file__).parent / "cases"
CASES = sorted(CASES_DIR.glob("*.yaml"))

_CASE_KEYS = {"description", "now", "spec", "live", "expected", "nichandle", "tokens"}
_EXPECTED_KEYS = {"actions", "refused", "unmanaged", "drift", "summary"}
_ACTION_KEYS = {
    "service",
    "action",
    "service_id",
    "name",
    "type",
    "calls",
    "expires_at",
    "expiration",
    "irreversible",
    "before",
    "after",
    "linked",
    "reason_contains",
}
_REFUSAL_KEYS = {"service", "rule", "service_id", "message_contains", "fix_contains"}


def load_case(path: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(case, dict), f"{path.name}: a case is a mapping"
    assert set(case) <= _CASE_KEYS, f"{path.name}: unknown keys {set(case) - _CASE_KEYS}"
    assert case.get("description"), f"{path.name}: say what the case is about"
    expected = case.get("expected") or {}
    assert set(expected) <= _EXPECTED_KEYS, f"{path.name}: unknown expected keys"
    return case


def plan_for(case: dict[str, Any]) -> Plan:
    now = when(case["now"])
    assert now is not None
    spec = spec_of(case.get("spec"))
    account = live_account(case.get("live") or ())
    if case.get("nichandle") is not None:  # GET /me: whose key this is
        account = replace(account, nichandle=case["nichandle"])
    return make_plan(
        spec, account, now=now, endpoint=spec.endpoint, tokens=tuple(case.get("tokens") or ())
    )


def check_action(actual: Action, expected: dict[str, Any], where: str) -> None:
    assert set(expected) <= _ACTION_KEYS, f"{where}: unknown keys {set(expected) - _ACTION_KEYS}"
    dumped = actual.model_dump(mode="python")
    for key, value in expected.items():
        if key == "reason_contains":
            for fragment in [value] if isinstance(value, str) else value:
                assert fragment in actual.reason, f"{where}: {fragment!r} not in {actual.reason!r}"
        elif key == "calls":
            calls = [
                {"method": c["method"], "path": c["path"], "body": c.get("body")} for c in value
            ]
            assert [call.model_dump() for call in actual.calls] == calls, f"{where}: calls"
        elif key in ("expires_at", "expiration"):
            assert dumped[key] == when(value), f"{where}: {key}"
        elif key == "linked":
            assert list(actual.linked) == list(value), f"{where}: linked"
        else:
            assert dumped[key] == value, f"{where}: {key} is {dumped[key]!r}, not {value!r}"


def check_refusal(actual: Refusal, expected: dict[str, Any], where: str) -> None:
    assert set(expected) <= _REFUSAL_KEYS, f"{where}: unknown keys {set(expected) - _REFUSAL_KEYS}"
    assert actual.message and actual.fix, f"{where}: a refusal has a message and a fix"
    for key, value in expected.items():
        if key in ("message_contains", "fix_contains"):
            text = actual.message if key == "message_contains" else actual.fix
            for fragment in [value] if isinstance(value, str) else value:
                assert fragment in text, f"{where}: {fragment!r} not in {text!r}"
        elif key == "rule":
            assert actual.rule.value == value, f"{where}: rule is {actual.rule.value}"
        else:
            assert getattr(actual, key) == value, f"{where}: {key} is {getattr(actual, key)!r}"


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_golden_case(path: Path) -> None:
    case = load_case(path)
    plan = plan_for(case)
    expected = case.get("expected") or {}

    want_actions = expected.get("actions") or []
    got = [(a.service, a.action.value) for a in plan.actions]
    assert got == [(a["service"], a["action"]) for a in want_actions], "actions"
    for actual, wanted in zip(plan.actions, want_actions, strict=True):
        check_action(actual, wanted, f"action {actual.service}")

    want_refused = expected.get("refused") or []
    got = [(r.service, r.rule.value) for r in plan.refused]
    assert got == [(r["service"], r["rule"]) for r in want_refused], "refused"
    for refusal, wanted in zip(plan.refused, want_refused, strict=True):
        check_refusal(refusal, wanted, f"refusal {refusal.service} {refusal.rule.value}")

    if "unmanaged" in expected:
        got_unmanaged = [
            {"name": u.name, "type": u.type, "manageable": u.manageable} for u in plan.unmanaged
        ]
        assert got_unmanaged == (expected["unmanaged"] or []), "unmanaged"
    if "drift" in expected:
        got_drift = [d.model_dump() for d in plan.drift]
        assert got_drift == (expected["drift"] or []), "drift"
    if "summary" in expected:
        assert plan.summary == expected["summary"], "summary"

    # Every case also holds the invariants of any plan.
    assert plan.summary["refused"] == len(plan.refused)
    assert sum(v for k, v in plan.summary.items() if k != "refused") == len(plan.actions)
    refused_keys = {r.service for r in plan.refused if r.rule.value != "unmanaged-service"}
    assert not refused_keys & {a.service for a in plan.actions}, "a refused service has no action"


def test_every_rule_and_transition_has_a_case() -> None:
    """The cases cover every rule code and every spec × live lifecycle pair."""
    from reconciler.core.lifecycle import Lifecycle, LiveLifecycle
    from reconciler.core.plan import RuleCode

    rules_seen: set[str] = set()
    pairs_seen: set[tuple[str, str]] = set()
    for path in CASES:
        case = load_case(path)
        plan = plan_for(case)
        rules_seen.update(r.rule.value for r in plan.refused)
        live_by_name: dict[str, list[str]] = {}
        for fields in case.get("live") or ():
            live_by_name.setdefault(fields["name"], []).append(fields.get("lifecycle", "renew"))
        for entry in spec_of(case.get("spec")).services:
            wanted = entry.lifecycle.value + (" (manual)" if entry.manual else "")
            for lifecycle in live_by_name.get(entry.name, []):
                pairs_seen.add((wanted, lifecycle))
    assert {code.value for code in RuleCode} <= rules_seen, "rules without a case"
    wanted_kinds = [s.value for s in Lifecycle] + ["renew (manual)"]
    every_pair = {(s, lv.value) for s in wanted_kinds for lv in LiveLifecycle}
    assert every_pair <= pairs_seen, f"transitions without a case: {every_pair - pairs_seen}"
