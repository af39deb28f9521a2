"""Golden planner cases for money (issue 15): ``money/<case>.yaml`` holds
``description``, ``now``, ``spec`` (services by key: ``lifecycle``, optional ``period``
and ``mode``), ``live`` (compact fields, ``price`` as ``billing.pricing`` states it:
``{value, currency, duration, interval}``, absent when OVH gives none) and
``expected``: ``changes`` (every billing line in plan order, only the keys written
compared; ``amount`` and ``currency`` are the price's, ``after_commitment`` the amount
of ``price_after_commitment``), ``totals`` (exactly) and
``not_in_totals``. Each file is one test of ``make_plan``'s ``billing``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from planner.planner_helpers import live_account, spec_of, when

from reconciler.core.plan import BillingChange, Plan
from reconciler.core.planner import make_plan

CASES = sorted((Path(__file__).parent / "money").glob("*.yaml"))


def plan_for(case: dict[str, Any]) -> Plan:
    """The plan of a case, built as the planner tests build theirs: ``live`` holds the
    compact fields of ``planner_helpers.live_service`` (``price`` among them)."""
    now = when(case["now"])
    assert now is not None
    return make_plan(
        spec_of({"services": case["spec"]}), live_account(case["live"]), now=now, endpoint="ovh-eu"
    )


def check_change(actual: BillingChange, expected: dict[str, Any]) -> None:
    where = actual.service
    for key, value in expected.items():
        if key == "after_commitment":
            kept = actual.price_after_commitment
            got: Any = kept.amount if kept is not None else None
        elif key == "amount":
            got = actual.price.amount if actual.price is not None else None
        elif key == "currency":
            got = actual.price.currency if actual.price is not None else None
        elif key in ("takes_effect", "paid_until", "commitment_end"):
            got, value = getattr(actual, key), when(value)
        else:
            got = actual.model_dump(mode="json")[key]
        assert got == value, f"{where}: {key} is {got!r}, not {value!r}"


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_money_golden_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert case.get("description"), f"{path.name}: say what the case is about"
    plan = plan_for(case)
    assert not plan.refused, [r.message for r in plan.refused]
    expected = case["expected"]
    billing = plan.billing
    if "changes" in expected:
        assert [c.service for c in billing.changes] == [c["service"] for c in expected["changes"]]
        for actual, wanted in zip(billing.changes, expected["changes"], strict=True):
            check_change(actual, wanted)
    assert [t.model_dump() for t in billing.totals] == expected["totals"]
    assert billing.not_in_totals == expected["not_in_totals"]
    # Every change of the plan has its billing line, in the plan's order.
    assert [c.service for c in billing.changes] == [a.service for a in plan.changes]


def test_the_cases_cover_prices_present_absent_and_two_currencies() -> None:
    names = {path.stem for path in CASES}
    assert {"prices-present", "prices-absent", "prices-two-currencies"} <= names
