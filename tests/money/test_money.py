"""Money in the plan (issue 15): what each change does to billing, and the totals per
currency, computed by the planner from the live prices (``reconciler.core.money``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from planner.planner_helpers import live_account, pricing_of, spec_of

from reconciler.core.money import decimal_text, yearly
from reconciler.core.plan import BillingEffect, Plan
from reconciler.core.planfile import dump_plan, parse_plan
from reconciler.core.planner import make_plan

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
EXPIRY = datetime(2027, 3, 1, tzinfo=UTC)


def price(value: Any, currency: str = "EUR", duration: str = "P12M", interval: int = 1) -> Any:
    """A live service's ``price`` field, as ``billing.pricing`` states it."""
    return {"value": value, "currency": currency, "duration": duration, "interval": interval}


def plan_of(wanted: dict[str, Any], services: list[dict[str, Any]]) -> Plan:
    """The plan of spec entries by name on an account of compact live fields (both as
    the planner tests write them: ``planner_helpers``)."""
    spec = spec_of({"services": wanted})
    return make_plan(spec, live_account(services), now=NOW, endpoint="ovh-eu")


STOP = {"lifecycle": "terminate_at_expiry"}
RENEW = {"lifecycle": "renew"}


def test_each_change_says_what_it_does_to_billing() -> None:
    plan = plan_of(
        {
            "stop.example.com": STOP,
            "keep.example.com": RENEW,
            "gone.example.com": {"lifecycle": "delete_now"},
            "same.example.com": RENEW,
        },
        [
            {"id": 1, "name": "stop.example.com", "price": price(71.88)},
            {
                "id": 2,
                "name": "keep.example.com",
                "lifecycle": "terminate_at_expiry",
                "price": price(5.99, duration="P1M"),
            },
            {
                "id": 3,
                "name": "gone.example.com",
                "price": price(35.88),
                "commitment": {"end": "2027-06-30"},
            },
            {"id": 4, "name": "same.example.com", "price": price(1)},
        ],
    )
    by_service = {change.service: change for change in plan.billing.changes}
    assert set(by_service) == {"stop.example.com", "keep.example.com", "gone.example.com"}

    stop = by_service["stop.example.com"]
    assert stop.effect is BillingEffect.RENEWAL_STOPS
    assert stop.price is not None and (stop.price.amount, stop.price.currency) == ("71.88", "EUR")
    assert (stop.period, stop.per_year, stop.takes_effect) == ("P12M", "71.88", EXPIRY)

    keep = by_service["keep.example.com"]
    assert keep.effect is BillingEffect.RENEWAL_STARTS
    assert keep.per_year == "71.88"  # 5.99 a month, twelve times

    gone = by_service["gone.example.com"]
    assert gone.effect is BillingEffect.RENEWAL_STOPS
    assert gone.paid_until == EXPIRY  # paid time lost, no refund
    assert gone.commitment_end == datetime(2027, 6, 30, tzinfo=UTC)
    assert gone.takes_effect is None  # at apply

    (eur,) = plan.billing.totals
    assert (eur.currency, eur.stopped_per_year, eur.started_per_year) == ("EUR", "107.76", "71.88")
    assert (eur.stopped, eur.started, plan.billing.not_in_totals) == (2, 1, 0)


def test_no_price_from_ovh_is_never_guessed_nor_totalled() -> None:
    plan = plan_of(
        {"free.example.com": STOP, "points.example.com": STOP, "weeks.example.com": STOP},
        [
            {"id": 1, "name": "free.example.com"},
            {"id": 2, "name": "points.example.com", "price": price(100, currency="points")},
            {"id": 3, "name": "weeks.example.com", "price": price(4, duration="P1W")},
        ],
    )
    changes = {change.service: change for change in plan.billing.changes}
    assert changes["free.example.com"].price is None
    assert changes["points.example.com"].price is None
    assert changes["weeks.example.com"].price is not None  # shown as OVH states it ...
    assert changes["weeks.example.com"].per_year is None  # ... but no yearly figure
    assert plan.billing.totals == ()
    assert plan.billing.not_in_totals == 3


def test_currencies_are_never_added() -> None:
    plan = plan_of(
        {"eu.example.com": STOP, "ca.example.com": STOP},
        [
            {"id": 1, "name": "eu.example.com", "price": price(10, currency="EUR")},
            {"id": 2, "name": "ca.example.com", "price": price(15, currency="CAD")},
        ],
    )
    totals = {t.currency: t.stopped_per_year for t in plan.billing.totals}
    assert totals == {"CAD": "15.00", "EUR": "10.00"}


def test_a_period_change_shows_the_current_price_and_no_price_for_the_new_period() -> None:
    plan = plan_of(
        {"www.example.com": {"lifecycle": "renew", "period": "P1M"}},
        [{"id": 1, "name": "www.example.com", "price": price(59.99), "offered": ["P1M", "P12M"]}],
    )
    (change,) = plan.billing.changes
    assert change.effect is BillingEffect.PERIOD_CHANGE
    assert (change.period, change.new_period) == ("P12M", "P1M")
    assert change.price is not None and change.price.amount == "59.99"
    assert plan.billing.totals == () and plan.billing.not_in_totals == 0


def test_yearly_figures_only_with_an_interval_of_one() -> None:
    assert yearly(pricing_of(price(5, duration="P1M"))) == Decimal("60.00")
    assert yearly(pricing_of(price(5, duration="P1M", interval=3))) is None
    assert yearly(pricing_of(price(100, duration="P1Y"))) == Decimal("100.00")
    assert yearly(None) is None


def test_amounts_are_exact_decimal_strings() -> None:
    assert decimal_text(Decimal("6")) == "6.00"
    assert decimal_text(Decimal("12.99")) == "12.99"
    assert decimal_text(Decimal("0.005")) == "0.005"
    plan = plan_of(
        {"a.example.com": STOP},
        [{"id": 1, "name": "a.example.com", "price": price(0.1 + 0.2)}],  # a float OVH's JSON gave
    )
    document = json.loads(dump_plan(plan))
    (change,) = document["billing"]["changes"]
    assert change["price"]["amount"] == repr(0.1 + 0.2)
    assert isinstance(change["per_year"], str)
    assert parse_plan(dump_plan(plan)) == plan  # read back unchanged


def test_a_plan_file_without_billing_reads_as_changing_no_billing() -> None:
    plan = plan_of(
        {"a.example.com": STOP},
        [{"id": 1, "name": "a.example.com", "price": price(1)}],
    )
    document = json.loads(dump_plan(plan))
    del document["billing"]
    old = parse_plan(json.dumps(document))
    assert old.billing.changes == () and old.billing.totals == ()
