"""The text rendering: every kind of change in words, the exact summary line, colour
only when asked, and names that cannot forge lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import plan_factory as f
import pytest

from reconciler.core.plan import Action, ActionKind
from reconciler.render import text


def action_block(rendered: str, service: str) -> str:
    """The lines of one change: its headline and the indented lines under it."""
    lines = rendered.splitlines()
    start = next(i for i, line in enumerate(lines) if f" {service} (" in line)
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("      "):
            break
        block.append(line)
    return "\n".join(block)


# Each kind of change: its maker, the block's headline and words the block holds.
ACTION_BLOCKS = {
    "terminate-at-expiry": (
        f.terminate,
        "  - old-shop.example.com (hosting/web, #1001): terminate at expiry",
        [
            "terminated and its data deleted irreversibly at expiry on 2027-03-01; "
            "can be cancelled until 2027-02-28 00:00 UTC",
            'PUT /services/1001 {"terminationPolicy":"terminateAtExpirationDate"}',
        ],
    ),
    "delete-now": (
        f.delete,
        "  ! legacy.example.net (hosting/web, #1003): DELETE NOW",
        [
            "irreversible, no refund",
            "its data is deleted irreversibly",
            "before its expiry on 2027-03-01",
            "POST /hosting/web/legacy.example.net/terminate",
            '{"token":"<token from e-mail>"}',
        ],
    ),
    "cancel-termination": (
        f.cancel,
        "  + keep.example.com (domain, #1002): cancel termination",
        [
            "renews automatically again, every 12 months (P12M), billed at each renewal; "
            "nothing is deleted",
            "must be applied before 2027-02-28 00:00 UTC (24 hours before expiry",
        ],
    ),
    "set-renew": (
        f.set_renew,
        "  ~ www.example.com (hosting/web, #1004): change renewal",
        ["manual renewal → automatic renewal", "every month (P1M) → every 12 months (P12M)"],
    ),
}


@pytest.mark.parametrize(("make", "headline", "says"), ACTION_BLOCKS.values(), ids=ACTION_BLOCKS)
def test_each_kind_of_change_says_what_it_does_and_until_when(
    make: Callable[[], Action], headline: str, says: list[str]
) -> None:
    action = make()
    block = action_block(text.render(f.plan((action,))), action.service)
    assert block.startswith(headline)
    for words in says:
        assert words in block


def test_terminate_past_the_cancel_deadline_says_it_cannot_be_undone() -> None:
    late = f.NOW.replace(year=2027, month=2, day=28, hour=6)
    block = action_block(
        text.render(f.plan((f.terminate(),), created_at=late)), "old-shop.example.com"
    )
    assert "cannot be cancelled any more (the deadline was 2027-02-28 00:00 UTC)" in block
    assert "can be cancelled until" not in block


def test_refusals_show_rule_message_and_fix() -> None:
    refusal = f.refusal()
    rendered = text.render(f.plan(refused=(refusal,)))
    assert "Refused: nothing will be applied until the spec is fixed." in rendered
    assert "  x mail.example.com (#2001) [unmanageable-service]" in rendered
    assert f"      {refusal.message}" in rendered
    assert f"      fix: {refusal.fix}" in rendered


def test_changes_beside_refusals_are_shown_as_conditional() -> None:
    rendered = text.render(f.plan((f.terminate(),), (f.refusal(),)))
    assert "reconciler would, once the refusals below are fixed:" in rendered
    assert "reconciler will:" not in rendered


def test_linked_services_are_named() -> None:
    action = f.delete(linked=("legacy.example.net-db", "mail.legacy.example.net"))
    block = action_block(text.render(f.plan((action,))), "legacy.example.net")
    assert "linked services deleted with it: legacy.example.net-db, mail.legacy.example.net" in (
        block
    )


@pytest.mark.parametrize(
    ("actions", "refused", "expected"),
    [
        (
            (f.terminate(), f.terminate("b", 2), f.cancel(), f.delete(), f.set_renew()),
            (),
            "Plan: 2 to terminate at expiry, 1 to cancel, 1 to delete now, "
            "1 to change renewal, 0 refused.",
        ),
        (
            (f.no_op(), f.cancel()),
            (f.refusal(), f.refusal("x.example.com")),
            "Plan: 0 to terminate at expiry, 1 to cancel, 0 to delete now, "
            "0 to change renewal, 2 refused.",
        ),
        (
            (),
            (f.refusal(),),
            "Plan: 0 to terminate at expiry, 0 to cancel, 0 to delete now, "
            "0 to change renewal, 1 refused.",
        ),
        ((f.no_op(),), (), "No changes. The account matches the spec."),
        ((), (), "No changes. The account matches the spec."),
    ],
)
def test_summary_line_is_exact_and_last(
    actions: tuple[f.Action, ...], refused: tuple[f.Refusal, ...], expected: str
) -> None:
    rendered = text.render(f.plan(actions, refused))
    assert rendered.endswith("\n")
    assert rendered.splitlines()[-1] == expected


def test_summary_counts_thousands_with_separators() -> None:
    actions = tuple(f.terminate(f"s{i}.example.com", i) for i in range(1234))
    assert (
        text.render(f.plan(actions))
        .splitlines()[-1]
        .startswith("Plan: 1,234 to terminate at expiry, 0 to cancel")
    )


def test_header_names_spec_and_endpoint() -> None:
    first, second = text.render(f.plan()).splitlines()[:2]
    assert first == "Plan for prod.yaml on endpoint ovh-eu"
    assert "spec sha256:121212121212," in second
    assert "computed at 2027-01-15 12:00 UTC" in second


def test_legend_lists_only_the_symbols_used() -> None:
    rendered = text.render(f.plan((f.terminate(), f.delete())))
    legend = next(line for line in rendered.splitlines() if line.startswith("Symbols:"))
    assert legend == "Symbols: - terminate at expiry, ! delete now (irreversible)"
    assert "Symbols:" not in text.render(f.plan((f.no_op(),)))


def test_no_colour_unless_asked() -> None:
    plan = f.full_plan()
    assert "\033" not in text.render(plan)
    assert "\033" not in text.render(plan, color=False)
    coloured = text.render(plan, color=True)
    assert "\033[1;31m!\033[0m" in coloured  # the deletion symbol in bold red
    # Colour only decorates: without the escape codes it is the same text.
    import re

    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == text.render(plan)


@pytest.mark.parametrize(
    "hostile",
    [
        "evil.example.com\n  ! www.example.com (hosting/web, #1): DELETE NOW",
        "evil\033[2K\033[1Aexample.com",
        "evil\u202eexample.com",
        "evil\rexample.com",
    ],
)
def test_control_characters_in_names_cannot_forge_lines(hostile: str) -> None:
    def shaped(name: str) -> f.Plan:
        return f.plan((f.terminate(name),), (f.refusal(name),), unmanaged=(f.unmanaged(name),))

    benign, rendered = text.render(shaped("benign.example.com")), text.render(shaped(hostile))
    for output in (rendered, text.render(f.plan((f.terminate(hostile),)), color=True)):
        assert "\n  ! www.example.com" not in output
        assert "\r" not in output and "\u202e" not in output
        assert "\033[2K" not in output and "\033[1A" not in output
    assert len(rendered.splitlines()) == len(benign.splitlines())


def test_few_unmanaged_services_are_listed_by_name() -> None:
    unmanaged = (
        f.unmanaged("a.example.org", 1),
        f.unmanaged("voip", 2, type="telephony", manageable=False),
    )
    rendered = text.render(f.plan(unmanaged=unmanaged))
    assert "Not in the spec (left as they are): 2 services:" in rendered
    assert "    a.example.org (domain, #1, renew, expires 2027-03-01)" in rendered
    assert "voip (telephony, #2, renew, expires 2027-03-01, managed from its own interface)" in (
        rendered
    )


def test_many_unmanaged_services_collapse_to_counts_by_type() -> None:
    unmanaged = tuple(f.unmanaged(f"d{i}.example.org", i) for i in range(40)) + tuple(
        f.unmanaged(f"vps-{i}", 100 + i, type="vps") for i in range(3)
    )
    rendered = text.render(f.plan(unmanaged=unmanaged))
    assert "Not in the spec (left as they are): 43 services (40 domain, 3 vps)" in rendered
    assert "d7.example.org" not in rendered


def test_unchanged_services_are_counted_not_listed() -> None:
    rendered = text.render(f.plan(tuple(f.no_op(f"s{i}", i) for i in range(3)) + (f.cancel(),)))
    assert "Unchanged: 3 services already match the spec." in rendered
    assert "s1 (" not in rendered


def test_dates_are_shown_in_utc_with_time_when_not_midnight() -> None:
    paris = timezone(timedelta(hours=1))
    expiry = datetime(2027, 3, 1, 9, 30, tzinfo=paris)  # 08:30 UTC
    block = action_block(
        text.render(f.plan((f.terminate(expiration=expiry),))), "old-shop.example.com"
    )
    assert "at expiry on 2027-03-01 08:30 UTC" in block
    assert "can be cancelled until 2027-02-28 08:30 UTC" in block
    assert expiry.astimezone(UTC).hour == 8


def test_unknown_expiry_is_said_unknown() -> None:
    block = action_block(
        text.render(f.plan((f.terminate(expiration=None),))), "old-shop.example.com"
    )
    assert "at expiry (date unknown); can be cancelled until 24 hours before expiry" in block


def test_every_change_kind_has_a_symbol_and_a_line() -> None:
    plan = f.full_plan()
    rendered = text.render(plan)
    for action in plan.changes:
        assert action_block(rendered, action.service)
    kinds = {a.action for a in plan.changes}
    # The full plan holds every kind but the rare one, rendered on its own below.
    assert kinds == set(ActionKind) - {ActionKind.NO_OP, ActionKind.TERMINATE_AT_COMMITMENT_END}


def test_a_termination_at_the_end_of_a_commitment_is_counted_and_called_irreversible() -> None:
    plan = f.plan((f.terminate_at_commitment_end(), f.terminate()))
    rendered = text.render(plan)
    block = action_block(rendered, "ns-old.example.com")
    assert "terminate at commitment end" in block
    assert "data is deleted irreversibly then" in block
    assert rendered.rstrip().splitlines()[-1] == (
        "Plan: 1 to terminate at expiry, 1 to terminate at commitment end, 0 to cancel, "
        "0 to delete now, 0 to change renewal, 0 refused."
    )


def test_several_plans_are_labelled_sections_each_with_its_summary() -> None:
    one = f.plan((f.terminate(),), spec_source="prod.yaml")
    two = f.plan((), spec_source="staging.yaml")
    rendered = text.render_many([one, two])
    assert rendered.index("── prod.yaml") < rendered.index("── staging.yaml")
    assert "Plan: 1 to terminate at expiry" in rendered
    assert rendered.rstrip().endswith("No changes. The account matches the spec.")
    assert text.render_many([one]) == text.render(one)


def test_no_ops_on_services_not_on_the_account_are_named() -> None:
    rendered = text.render(f.plan((f.gone("old-shop.example.com"), f.no_op())))
    assert "Unchanged: 2 services already match the spec." in rendered
    assert "  Already done, no longer on the account: old-shop.example.com" in rendered
