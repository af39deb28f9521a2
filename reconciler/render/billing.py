"""The money lines of a plan, shared by the text and markdown renderers.

Words only: the figures are the plan's (``Plan.billing``, computed by
``reconciler.core.money`` from the prices OVH states). A price OVH does not give is
said to be missing, never replaced by a guess; totals are per currency and say how many
changes they leave out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo

from reconciler.core.plan import Action, BillingChange, BillingEffect, Plan, Price
from reconciler.render.wording import clean, day_text, period_text

NO_PRICE = "OVH gives no price"


def lines_by_action(plan: Plan, zone: tzinfo | None = None) -> Mapping[tuple[str, int | None], str]:
    """Each change's money sentence, by the action it belongs to (spec key and service
    id), built once per rendering: a 10,000-service plan is read in one pass. Dates in
    UTC, or in the display ``zone``."""
    return {
        (change.service, change.service_id): line(change, zone) for change in plan.billing.changes
    }


def line_for(lines: Mapping[tuple[str, int | None], str], action: Action) -> str | None:
    return lines.get((action.service, action.service_id))


def price_text(price: Price) -> str:
    """``71.88 EUR``: the exact amount and its code (OVH's own text may use a symbol
    that does not say which dollar)."""
    return f"{clean(price.amount)} {clean(price.currency)}"


def _priced(change: BillingChange) -> str:
    """``71.88 EUR every 12 months (P12M), 71.88 EUR a year``, or the missing price."""
    if change.price is None:
        return NO_PRICE
    text = price_text(change.price)
    if change.period is not None:
        text += f" {clean(period_text(change.period))}"
    if change.per_year is not None and change.period not in ("P12M", "P1Y"):
        text += f", {clean(change.per_year)} {clean(change.price.currency)} a year"
    return text


def line(change: BillingChange, zone: tzinfo | None = None) -> str:
    """What one change does to billing, in one sentence (without a leading label):
    what happens and when, then the price it concerns, as OVH states it."""
    priced = _priced(change)
    since = (
        f" from {day_text(change.takes_effect, zone)}" if change.takes_effect is not None else ""
    )
    effect = change.effect
    if effect is BillingEffect.RENEWAL_STOPS:
        now = change.paid_until is not None or change.takes_effect is None
        when = " now" if now else since
        head = f"renewal stops{when}: {priced}"
    elif effect is BillingEffect.RENEWAL_STARTS:
        head = f"renews again{since}: {priced}"
    elif effect is BillingEffect.PERIOD_CHANGE:
        wanted = clean(change.new_period or "the new period")
        head = f"renewal period changes{since}: {priced} now; {NO_PRICE} for {wanted}"
    elif effect is BillingEffect.END_STRATEGY_CHANGE:
        on = f" on {day_text(change.takes_effect, zone)}" if change.takes_effect is not None else ""
        head = f"at the commitment's end{on}: {_end_words(change)}"
    elif effect is BillingEffect.MODE_CHANGE:
        head = f"price unchanged: {priced}"
    else:
        head = "no renewal to stop"
    tail = []
    if change.paid_until is not None:
        tail.append(f"the time paid until {day_text(change.paid_until, zone)} is lost (no refund)")
    if change.end_strategy is not None and effect is not BillingEffect.END_STRATEGY_CHANGE:
        end = f" on {day_text(change.commitment_end, zone)}" if change.commitment_end else ""
        tail.append(f"at the commitment's end{end}: {_end_words(change)}")
    elif change.commitment_end is not None and change.paid_until is not None:
        tail.append(
            f"under a commitment until {day_text(change.commitment_end, zone)}, which may still "
            "be billed until then"
        )
    return "; ".join([head, *tail])


def _end_words(change: BillingChange) -> str:
    """What the end strategy the change sets does to the price (docs/control-panel.md
    §4.2): kept, the plan's default (a figure the service's answer does not give), or a
    new commitment."""
    strategy = change.end_strategy
    if strategy == "STOP_ENGAGEMENT_KEEP_PRICE":
        kept = change.price_after_commitment
        stays = price_text(kept) if kept is not None else f"the current one ({NO_PRICE})"
        return f"the commitment stops and the price stays {stays}"
    if strategy == "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE":
        current = f"from {price_text(change.price)} " if change.price is not None else ""
        return (
            f"the commitment stops and the price moves {current}to the plan's default "
            "price, which OVH does not state for the service"
        )
    if strategy == "REACTIVATE_ENGAGEMENT":
        return "a new commitment of the same length begins"
    return f"end strategy {clean(strategy)}"


def summary_line(plan: Plan) -> str | None:
    """``Billing per year: EUR renewals stopped 107.76 (2 services), started 71.88 (1
    service); CAD renewals ...``:
    one part per currency, never added together; None when no change touches renewals."""
    billing = plan.billing
    parts = []
    for total in billing.totals:
        words = []
        if total.stopped:
            words.append(f"stopped {clean(total.stopped_per_year)} ({_services(total.stopped)})")
        if total.started:
            words.append(f"started {clean(total.started_per_year)} ({_services(total.started)})")
        parts.append(f"{clean(total.currency)} renewals " + ", ".join(words))
    if billing.not_in_totals:
        count = billing.not_in_totals
        noun = "renewal" if count == 1 else "renewals"
        parts.append(f"{count:,} {noun} in no total ({NO_PRICE} or no yearly figure)")
    if not parts:
        return None
    return "Billing per year: " + "; ".join(parts) + "."


def _services(count: int) -> str:
    return f"{count:,} service" if count == 1 else f"{count:,} services"
