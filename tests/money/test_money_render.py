"""The money lines in the text plan and the markdown comment (issue 15): a line per
change, a summary per currency, "OVH gives no price" when it gives none."""

from __future__ import annotations

from test_money import RENEW, STOP, plan_of, price

from reconciler.core.plan import Plan
from reconciler.render import markdown, text


def mixed_plan() -> Plan:
    return plan_of(
        {
            "stop.example.com": STOP,
            "keep.example.com": RENEW,
            "gone.example.com": {"lifecycle": "delete_now"},
            "free.example.com": STOP,
            "www.example.com": {"lifecycle": "renew", "period": "P1M"},
        },
        [
            {"id": 1, "name": "stop.example.com", "price": price(71.88)},
            {
                "id": 2,
                "name": "keep.example.com",
                "lifecycle": "terminate_at_expiry",
                "price": price(5.99, currency="CAD", duration="P1M"),
            },
            {
                "id": 3,
                "name": "gone.example.com",
                "price": price(35.88),
                "commitment": {"end": "2027-06-30"},
            },
            {"id": 4, "name": "free.example.com"},
            {"id": 5, "name": "www.example.com", "price": price(59.99), "offered": ["P1M", "P12M"]},
        ],
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
    plan = plan_of({"a.example.com": RENEW}, [{"id": 1, "name": "a.example.com"}])
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
        {f"s{i}.example.com": STOP for i in range(count)},
        [
            {
                "id": i + 1,
                "name": f"s{i}.example.com",
                "price": price(i + 0.99, currency=("EUR", "USD")[i % 2]),
            }
            for i in range(count)
        ],
    )
    assert len(plan.billing.changes) == count
    comment = markdown.render(plan)
    assert len(comment) <= markdown.LIMIT
    assert "Billing per year: EUR renewals stopped" in comment and "; USD renewals" in comment


def test_end_strategies_say_what_the_price_becomes() -> None:
    committed = {
        "end": "2027-08-01",
        "strategy": "REACTIVATE_ENGAGEMENT",
        "possible": [
            "REACTIVATE_ENGAGEMENT",
            "STOP_ENGAGEMENT_KEEP_PRICE",
            "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE",
        ],
    }
    plan = plan_of(
        {
            "keep.example.com": {"lifecycle": "renew", "commitment_end": "keep_price"},
            "list.example.com": {"lifecycle": "renew", "commitment_end": "default_price"},
        },
        [
            {"id": i, "name": name, "price": price(8, duration="P1M"), "commitment": committed}
            for i, name in enumerate(("keep.example.com", "list.example.com"), start=1)
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
