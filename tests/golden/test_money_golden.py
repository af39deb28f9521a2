"""Golden planner cases for money (issue 15): ``money/<case>.yaml`` holds
``description``, ``now``, ``spec`` (services by key: ``lifecycle``, optional ``period``
and ``mode``), ``live`` (compact fields, ``price`` as ``billing.pricing`` states it:
``{value, currency, duration, interval}``, absent when OVH gives none) and
``expected``: ``changes`` (every billing line in plan order, only the keys written
compared; ``amount`` and ``currency`` are the price's, ``after_commitment`` the amount
of ``price_after_commitment``), ``totals`` (exactly) and
``not_in_totals``. Each file is one test of ``make_plan``'s ``billing``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.core.lifecycle import CommitmentEnd, Lifecycle, RenewMode
from reconciler.core.live import (
    Commitment,
    EndStrategy,
    LiveAccount,
    LiveLifecycle,
    LiveService,
    family_of,
)
from reconciler.core.plan import BillingChange, Plan
from reconciler.core.planner import make_plan
from reconciler.core.pricing import parse_pricing
from reconciler.core.spec import ServiceSpec, Spec

CASES = sorted((Path(__file__).parent / "money").glob("*.yaml"))
EXPIRY = datetime(2027, 3, 1, tzinfo=UTC)
_LIVE_KEYS = {
    "id",
    "name",
    "lifecycle",
    "price",
    "period",
    "offered",
    "modes",
    "commitment_end",  # billing.engagement.endDate
    "strategy",  # billing.engagement.endRule.strategy
    "possible",  # billing.engagement.endRule.possibleStrategies
    "termination",  # lifecycle.current.terminationDate
}


def moment(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    assert parsed.tzinfo is not None, f"{value!r} has no timezone"
    return parsed


def live_service(fields: dict[str, Any]) -> LiveService:
    assert set(fields) <= _LIVE_KEYS, f"unknown live keys {set(fields) - _LIVE_KEYS}"
    lifecycle = LiveLifecycle(fields.get("lifecycle", "renew"))
    price = fields.get("price")
    pricing = None
    if price is not None:
        pricing = parse_pricing(
            {
                "price": {"value": price["value"], "currencyCode": price["currency"]},
                "duration": price.get("duration"),
                "interval": price.get("interval", 1),
            }
        )
    end = fields.get("commitment_end")
    return LiveService(
        service_id=int(fields["id"]),
        name=str(fields["name"]),
        display_name=str(fields["name"]),
        type="hosting/web",
        family=family_of("hosting/web"),
        lifecycle=lifecycle,
        expiration=EXPIRY,
        renew_mode="automatic",
        renew_period=fields.get("period", "P12M"),
        termination_date=moment(fields["termination"])
        if "termination" in fields
        else EXPIRY
        if lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY
        else None,
        renew_modes=tuple(fields["modes"]) if "modes" in fields else None,
        commitment=Commitment(
            end_date=end if isinstance(end, date) else date.fromisoformat(str(end)),
            strategy=EndStrategy(fields["strategy"]) if fields.get("strategy") else None,
            possible_strategies=tuple(EndStrategy(s) for s in fields.get("possible", ())),
        )
        if end is not None
        else None,
        pricing=pricing,
    )


def plan_for(case: dict[str, Any]) -> Plan:
    entries = tuple(
        ServiceSpec(
            key=key,
            name=key,
            lifecycle=Lifecycle(body["lifecycle"]),
            period=body.get("period"),
            mode=RenewMode(body["mode"]) if body.get("mode") else None,
            commitment_end=CommitmentEnd(body["commitment_end"])
            if body.get("commitment_end")
            else None,
        )
        for key, body in case["spec"].items()
    )
    spec = Spec(services=entries, source="money.yaml", digest="sha256:" + "0" * 64)
    account = LiveAccount.from_services(
        live_service(fields) for fields in case["live"]
    ).with_offered_periods({f["id"]: tuple(f["offered"]) for f in case["live"] if "offered" in f})
    now = moment(case["now"])
    assert now is not None
    return make_plan(spec, account, now=now, endpoint="ovh-eu")


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
            got, value = getattr(actual, key), moment(value)
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
