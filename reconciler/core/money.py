"""What a plan does to billing: a pure function of the plan's actions and the live account.

For each change, the price OVH states for one renewal of the service
(``billing.pricing``, read into ``LiveService.pricing``) and what the change does to it:

- a renewing service that stops renewing (``terminate_at_expiry``,
  ``terminate_at_commitment_end``, ``delete_now``) stops paying that price, from its
  expiry, the end of its commitment, or now;
- a service whose termination is cancelled renews again at that price, from its expiry;
- a period change renews for another period: OVH states the price of the current period
  only, so the new one is "no price from OVH" — never scaled from the old one (a yearly
  price is rarely twelve monthly ones);
- ``delete_now`` loses the time already paid until the expiry (no refund), and a service
  under a commitment may still be billed until the commitment's end;
- a commitment end strategy set by the spec (``commitment_end``) says what the price
  becomes at the commitment's end: ``STOP_ENGAGEMENT_KEEP_PRICE`` keeps the current one;
  ``STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE`` moves to the plan's default price, which
  the service's answer does not state (the control panel reads it from the public
  catalogue), so no figure is given (docs/control-panel.md, Q13 and Q14).

Then totals per currency: the yearly price of the renewals stopped and of those started,
each ``price × 12 / months(duration)``. Currencies are never added together or
converted. A price OVH does not give, in ``points``, for a duration not in months or
years, or with a billing ``interval`` other than 1 (what it multiplies is not documented;
the control panel ignores it) is in no total, and the totals count what they leave out
(docs/control-panel.md, §8.30 and Q15).

Computed when the plan is made and carried in the plan (``Plan.billing``), never on the
actions: apply does not read it, and a reviewer sees the figures the plan was made with.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time
from decimal import Decimal

from reconciler.core.lifecycle import CommitmentEnd
from reconciler.core.live import EndStrategy, LiveAccount, LiveService
from reconciler.core.periods import months_of
from reconciler.core.plan import (
    Action,
    ActionKind,
    Billing,
    BillingChange,
    BillingEffect,
    CurrencyTotal,
    Price,
)
from reconciler.core.pricing import Pricing

# OVH's loyalty points are a currency code of order.Price, but no money: never totalled.
POINTS = "points"

# Lifecycles (of an action's before/after essence) in which the service is renewed, by
# OVH's automatic renewal or by hand: the team pays for each period either way.
_RENEWING = frozenset(("renew", "manual_renew"))

_CENT = Decimal("0.01")
_KEEP_PRICE = EndStrategy.STOP_ENGAGEMENT_KEEP_PRICE.value


def billing_of(actions: Iterable[Action], account: LiveAccount) -> Billing:
    """What ``actions`` do to billing, priced from ``account`` (no_op actions cost nothing
    and have no line)."""
    changes = tuple(
        change_of(action, account.by_id(action.service_id))
        for action in actions
        if action.action is not ActionKind.NO_OP and action.service_id is not None
    )
    totals, left_out = _totals(changes)
    return Billing(changes=changes, totals=totals, not_in_totals=left_out)


def change_of(action: Action, live: LiveService | None) -> BillingChange:
    """The billing line of one action; ``live`` is its service as read (None: not read,
    which prices nothing)."""
    pricing = live.pricing if live is not None else None
    before = action.before.lifecycle
    after = action.after.lifecycle
    end_strategy = _end_strategy(action)
    effect = _effect(action, before, after, end_strategy)
    deleting = action.action is ActionKind.DELETE_NOW
    expiry = action.expiration or (live.expiration if live is not None else None)
    commitment_end = _commitment_end(live)
    per_year = yearly(pricing)
    return BillingChange(
        service=action.service,
        service_id=action.service_id,
        action=action.action,
        effect=effect,
        price=_price(pricing),
        period=pricing.duration if pricing is not None else None,
        per_year=decimal_text(per_year) if per_year is not None else None,
        takes_effect=_takes_effect(action, effect, expiry, commitment_end, live),
        new_period=_new_period(action) if effect is BillingEffect.PERIOD_CHANGE else None,
        paid_until=expiry if deleting else None,
        commitment_end=commitment_end if deleting or end_strategy else None,
        end_strategy=end_strategy,
        price_after_commitment=_price(pricing) if end_strategy == _KEEP_PRICE else None,
    )


def yearly(pricing: Pricing | None) -> Decimal | None:
    """A year of renewals at ``pricing``, to the cent, or None when OVH's figures do not
    say it: no price, points, a duration not in months, an interval other than 1."""
    if pricing is None or pricing.price.currency == POINTS or pricing.interval != 1:
        return None
    months = months_of(pricing.duration)
    if months is None:
        return None
    return (pricing.price.amount * 12 / months).quantize(_CENT)


def decimal_text(amount: Decimal) -> str:
    """An amount as the plan file writes it: plain digits, at least the cents
    (``Decimal("6")`` → ``"6.00"``), more places only when OVH gave them."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(_CENT)
    return f"{amount:f}"


def _effect(
    action: Action, before: object, after: object, end_strategy: str | None
) -> BillingEffect:
    if action.action is ActionKind.SET_RENEW:
        if action.before.period != action.after.period:
            return BillingEffect.PERIOD_CHANGE
        if before == after and end_strategy is not None:  # the end rule alone
            return BillingEffect.END_STRATEGY_CHANGE
        return BillingEffect.MODE_CHANGE
    renewing_before, renewing_after = before in _RENEWING, after in _RENEWING
    if renewing_before and not renewing_after:
        return BillingEffect.RENEWAL_STOPS
    if renewing_after and not renewing_before:
        return BillingEffect.RENEWAL_STARTS
    return BillingEffect.NO_RENEWAL_CHANGE


def _end_strategy(action: Action) -> str | None:
    """The end strategy the action sets (OVH's name): the spec's ``commitment_end`` where
    it differs from the live one (the plan's before/after carry it only then)."""
    wanted = action.after.commitment_end
    if wanted is None or wanted == action.before.commitment_end:
        return None
    try:
        return CommitmentEnd(wanted).strategy
    except ValueError:  # a word this release does not know: say nothing of it
        return None


def _price(pricing: Pricing | None) -> Price | None:
    if pricing is None or pricing.price.currency == POINTS:
        return None
    return Price(
        amount=decimal_text(pricing.price.amount),
        currency=pricing.price.currency,
        text=pricing.text,
    )


def _takes_effect(
    action: Action,
    effect: BillingEffect,
    expiry: datetime | None,
    commitment_end: datetime | None,
    live: LiveService | None,
) -> datetime | None:
    """When the billing change happens: a deletion now (when the plan is applied: no
    date), a termination at the commitment's end or a new end strategy on that end,
    every other change at the next renewal, the expiry."""
    if action.action is ActionKind.DELETE_NOW:
        return None
    if effect is BillingEffect.END_STRATEGY_CHANGE:
        return commitment_end
    if action.action is ActionKind.TERMINATE_AT_COMMITMENT_END:
        pending = live.termination_date if live is not None else None
        return pending or commitment_end
    return expiry


def _commitment_end(live: LiveService | None) -> datetime | None:
    """The commitment's end date (a day, as OVH types it) as the start of that day, UTC."""
    if live is None or live.commitment is None or live.commitment.end_date is None:
        return None
    return datetime.combine(live.commitment.end_date, time.min, tzinfo=UTC)


def _new_period(action: Action) -> str | None:
    period = action.after.period
    return period if isinstance(period, str) else None


def _totals(changes: tuple[BillingChange, ...]) -> tuple[tuple[CurrencyTotal, ...], int]:
    """Yearly sums per currency of the renewals stopped and started, and how many such
    changes no sum holds (no price, or no yearly figure)."""
    stopped: dict[str, list[Decimal]] = {}
    started: dict[str, list[Decimal]] = {}
    left_out = 0
    for change in changes:
        if change.effect is BillingEffect.RENEWAL_STOPS:
            into = stopped
        elif change.effect is BillingEffect.RENEWAL_STARTS:
            into = started
        else:
            continue
        if change.price is None or change.per_year is None:
            left_out += 1
            continue
        into.setdefault(change.price.currency, []).append(Decimal(change.per_year))
    totals = tuple(
        CurrencyTotal(
            currency=currency,
            stopped_per_year=decimal_text(sum(stopped.get(currency, ()), Decimal(0))),
            started_per_year=decimal_text(sum(started.get(currency, ()), Decimal(0))),
            stopped=len(stopped.get(currency, ())),
            started=len(started.get(currency, ())),
        )
        for currency in sorted({*stopped, *started})
    )
    return totals, left_out
