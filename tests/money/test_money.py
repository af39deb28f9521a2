"""Money in the plan (issue 15): what each change does to billing, and the totals per
currency, computed by the planner from the live prices (``reconciler.core.money``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from reconciler.core.lifecycle import Lifecycle
from reconciler.core.live import (
    Commitment,
    LiveAccount,
    LiveLifecycle,
    LiveService,
    family_of,
)
from reconciler.core.money import decimal_text, yearly
from reconciler.core.plan import BillingEffect, Plan
from reconciler.core.planfile import dump_plan, parse_plan
from reconciler.core.planner import make_plan
from reconciler.core.pricing import parse_pricing
from reconciler.core.spec import ServiceSpec, Spec

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
EXPIRY = datetime(2027, 3, 1, tzinfo=UTC)


def pricing(value: Any, currency: str = "EUR", duration: str = "P12M", interval: int = 1) -> Any:
    return parse_pricing(
        {
            "price": {"value": value, "currencyCode": currency, "text": f"{value} {currency}"},
            "duration": duration,
            "interval": interval,
        }
    )


def service(
    service_id: int,
    name: str,
    *,
    lifecycle: LiveLifecycle = LiveLifecycle.RENEW,
    price: Any = None,
    period: str = "P12M",
    **kw: Any,
) -> LiveService:
    return LiveService(
        service_id=service_id,
        name=name,
        display_name=name,
        type="hosting/web",
        family=family_of("hosting/web"),
        lifecycle=lifecycle,
        expiration=EXPIRY,
        renew_mode="automatic",
        renew_period=period,
        termination_date=EXPIRY if lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY else None,
        pricing=price,
        **kw,
    )


def entry(name: str, lifecycle: Lifecycle, period: str | None = None) -> ServiceSpec:
    return ServiceSpec(key=name, name=name, lifecycle=lifecycle, period=period)


def plan_of(
    entries: list[ServiceSpec],
    services: list[LiveService],
    offered: dict[int, tuple[str, ...]] | None = None,
) -> Plan:
    """The plan of ``entries`` on an account of ``services``; ``offered``: the renewal
    periods some of them offer (the account's fact)."""
    spec = Spec(services=tuple(entries), source="prod.yaml", digest="sha256:" + "0" * 64)
    account = LiveAccount.from_services(services).with_offered_periods(offered or {})
    return make_plan(spec, account, now=NOW, endpoint="ovh-eu")


def test_each_change_says_what_it_does_to_billing() -> None:
    plan = plan_of(
        [
            entry("stop.example.com", Lifecycle.TERMINATE_AT_EXPIRY),
            entry("keep.example.com", Lifecycle.RENEW),
            entry("gone.example.com", Lifecycle.DELETE_NOW),
            entry("same.example.com", Lifecycle.RENEW),
        ],
        [
            service(1, "stop.example.com", price=pricing(71.88)),
            service(
                2,
                "keep.example.com",
                lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY,
                price=pricing(5.99, duration="P1M"),
            ),
            service(
                3,
                "gone.example.com",
                price=pricing(35.88),
                commitment=Commitment(end_date=date(2027, 6, 30), strategy=None),
            ),
            service(4, "same.example.com", price=pricing(1)),
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
        [
            entry("free.example.com", Lifecycle.TERMINATE_AT_EXPIRY),
            entry("points.example.com", Lifecycle.TERMINATE_AT_EXPIRY),
            entry("weeks.example.com", Lifecycle.TERMINATE_AT_EXPIRY),
        ],
        [
            service(1, "free.example.com"),
            service(2, "points.example.com", price=pricing(100, currency="points")),
            service(3, "weeks.example.com", price=pricing(4, duration="P1W")),
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
        [entry("eu.example.com", Lifecycle.TERMINATE_AT_EXPIRY)]
        + [entry("ca.example.com", Lifecycle.TERMINATE_AT_EXPIRY)],
        [
            service(1, "eu.example.com", price=pricing(10, currency="EUR")),
            service(2, "ca.example.com", price=pricing(15, currency="CAD")),
        ],
    )
    totals = {t.currency: t.stopped_per_year for t in plan.billing.totals}
    assert totals == {"CAD": "15.00", "EUR": "10.00"}


def test_a_period_change_shows_the_current_price_and_no_price_for_the_new_period() -> None:
    plan = plan_of(
        [entry("www.example.com", Lifecycle.RENEW, period="P1M")],
        [service(1, "www.example.com", price=pricing(59.99))],
        offered={1: ("P1M", "P12M")},
    )
    (change,) = plan.billing.changes
    assert change.effect is BillingEffect.PERIOD_CHANGE
    assert (change.period, change.new_period) == ("P12M", "P1M")
    assert change.price is not None and change.price.amount == "59.99"
    assert plan.billing.totals == () and plan.billing.not_in_totals == 0


def test_yearly_figures_only_with_an_interval_of_one() -> None:
    assert yearly(pricing(5, duration="P1M")) == Decimal("60.00")
    assert yearly(pricing(5, duration="P1M", interval=3)) is None
    assert yearly(pricing(100, duration="P1Y")) == Decimal("100.00")
    assert yearly(None) is None


def test_amounts_are_exact_decimal_strings() -> None:
    assert decimal_text(Decimal("6")) == "6.00"
    assert decimal_text(Decimal("12.99")) == "12.99"
    assert decimal_text(Decimal("0.005")) == "0.005"
    plan = plan_of(
        [entry("a.example.com", Lifecycle.TERMINATE_AT_EXPIRY)],
        [service(1, "a.example.com", price=pricing(0.1 + 0.2))],  # a float OVH's JSON gave
    )
    document = json.loads(dump_plan(plan))
    (change,) = document["billing"]["changes"]
    assert change["price"]["amount"] == repr(0.1 + 0.2)
    assert isinstance(change["per_year"], str)
    assert parse_plan(dump_plan(plan)) == plan  # read back unchanged


def test_a_plan_file_without_billing_reads_as_changing_no_billing() -> None:
    plan = plan_of(
        [entry("a.example.com", Lifecycle.TERMINATE_AT_EXPIRY)],
        [service(1, "a.example.com", price=pricing(1))],
    )
    document = json.loads(dump_plan(plan))
    del document["billing"]
    old = parse_plan(json.dumps(document))
    assert old.billing.changes == () and old.billing.totals == ()
