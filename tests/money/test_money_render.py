"""The money lines in the text plan and the markdown comment (issue 15): a line per
change, a summary per currency, "OVH gives no price" when it gives none."""

from __future__ import annotations

from datetime import date

from test_money import entry, plan_of, pricing, service

from reconciler.core.lifecycle import Lifecycle
from reconciler.core.live import Commitment, LiveLifecycle
from reconciler.core.plan import Plan
from reconciler.render import markdown, text


def mixed_plan() -> Plan:
    return plan_of(
        [
            entry("stop.example.com", Lifecycle.TERMINATE_AT_EXPIRY),
            entry("keep.example.com", Lifecycle.RENEW),
            entry("gone.example.com", Lifecycle.DELETE_NOW),
            entry("free.example.com", Lifecycle.TERMINATE_AT_EXPIRY),
            entry("www.example.com", Lifecycle.RENEW, period="P1M"),
        ],
        [
            service(1, "stop.example.com", price=pricing(71.88)),
            service(
                2,
                "keep.example.com",
                lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY,
                price=pricing(5.99, currency="CAD", duration="P1M"),
            ),
            service(
                3,
                "gone.example.com",
                price=pricing(35.88),
                commitment=Commitment(end_date=date(2027, 6, 30), strategy=None),
            ),
            service(4, "free.example.com"),
            service(5, "www.example.com", price=pricing(59.99)),
        ],
        offered={5: ("P1M", "P12M")},
    )


def block_of(rendered: str, name: str) -> str:
    """The lines of one action in the text plan, from its headline to the next one."""
    lines = rendered.splitlines()
    start = next(i for i, line in enumerate(lines) if f" {name} (" in line)
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].startswith("  ") and lines[i][2] != " "
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def test_text_plan_says_what_each_change_does_to_billing() -> None:
    rendered = text.render(mixed_plan())
    stop = block_of(rendered, "stop.example.com")
    assert "billing: renewal stops from 2027-03-01: 71.88 EUR every 12 months (P12M)" in stop
    keep = block_of(rendered, "keep.example.com")
    assert "renews again from 2027-03-01: 5.99 CAD every month (P1M), 71.88 CAD a year" in keep
    gone = block_of(rendered, "gone.example.com")
    assert "renewal stops now: 35.88 EUR" in gone
    assert "the time paid until 2027-03-01 is lost (no refund)" in gone
    assert "commitment until 2027-06-30" in gone
    assert "billing: renewal stops from 2027-03-01: OVH gives no price" in block_of(
        rendered, "free.example.com"
    )
    www = block_of(rendered, "www.example.com")
    assert "59.99 EUR every 12 months (P12M) now; OVH gives no price for P1M" in www


def test_text_plan_sums_per_currency_and_says_what_no_sum_holds() -> None:
    summary = next(
        line for line in text.render(mixed_plan()).splitlines() if line.startswith("Billing")
    )
    assert summary == (
        "Billing per year: CAD renewals started 71.88 (1 service); EUR renewals stopped "
        "107.76 (2 services); 1 renewal in no total (OVH gives no price or no yearly figure)."
    )


def test_no_money_line_when_the_plan_changes_no_renewal() -> None:
    plan = plan_of([entry("a.example.com", Lifecycle.RENEW)], [service(1, "a.example.com")])
    assert "Billing" not in text.render(plan) and "billing" not in text.render(plan)
    assert "Billing" not in markdown.render(plan)


def test_markdown_comment_has_the_money_lines() -> None:
    comment = markdown.render(mixed_plan())
    lines = comment.splitlines()
    assert lines[2].startswith("Billing per year: CAD renewals started 71.88 (1 service); EUR")
    row = next(line for line in lines if "`stop.example.com`" in line and line.startswith("|"))
    assert "Billing: renewal stops from 2027-03-01: 71.88 EUR every 12 months (P12M)" in row
    row = next(line for line in lines if "`gone.example.com`" in line and line.startswith("|"))
    assert "lost (no refund)" in row


def test_a_large_priced_plan_stays_under_the_comment_limit() -> None:
    count = 3_000
    plan = plan_of(
        [entry(f"s{i}.example.com", Lifecycle.TERMINATE_AT_EXPIRY) for i in range(count)],
        [
            service(
                i + 1, f"s{i}.example.com", price=pricing(i + 0.99, currency=("EUR", "USD")[i % 2])
            )
            for i in range(count)
        ],
    )
    assert len(plan.billing.changes) == count
    comment = markdown.render(plan)
    assert len(comment) <= markdown.LIMIT
    assert "Billing per year: EUR renewals stopped" in comment and "; USD renewals" in comment


def test_end_strategies_say_what_the_price_becomes() -> None:
    from reconciler.core.lifecycle import CommitmentEnd
    from reconciler.core.live import EndStrategy
    from reconciler.core.spec import ServiceSpec

    offered = (
        EndStrategy.REACTIVATE_ENGAGEMENT,
        EndStrategy.STOP_ENGAGEMENT_KEEP_PRICE,
        EndStrategy.STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE,
    )
    committed = Commitment(
        end_date=date(2027, 8, 1),
        strategy=EndStrategy.REACTIVATE_ENGAGEMENT,
        possible_strategies=offered,
    )
    plan = plan_of(
        [
            ServiceSpec(
                key=name,
                name=name,
                lifecycle=Lifecycle.RENEW,
                commitment_end=CommitmentEnd(word),
            )
            for name, word in (
                ("keep.example.com", "keep_price"),
                ("list.example.com", "default_price"),
            )
        ],
        [
            service(1, "keep.example.com", price=pricing(8, duration="P1M"), commitment=committed),
            service(2, "list.example.com", price=pricing(8, duration="P1M"), commitment=committed),
        ],
    )
    rendered = text.render(plan)
    assert (
        "billing: at the commitment's end on 2027-08-01: the commitment stops and the price "
        "stays 8.00 EUR" in block_of(rendered, "keep.example.com")
    )
    assert (
        "the commitment stops and the price moves from 8.00 EUR to the plan's default price, "
        "which OVH does not state for the service" in block_of(rendered, "list.example.com")
    )
    assert "Billing per year" not in rendered  # no renewal stopped or started
