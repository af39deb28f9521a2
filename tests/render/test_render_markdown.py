"""The markdown rendering (a pull-request comment): structure, words, hostile names, and
the 65,000-character ceiling whatever the account size."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from functools import cache

import plan_factory as f
import pytest
from markdown_it import MarkdownIt

from reconciler.core.plan import ActionKind, Plan, RuleCode
from reconciler.render import markdown, wording

LIMIT = 65_000
SEE = "reconciler plan --format text"

# GitHub-flavoured enough for the checks: tables, strikethrough, raw HTML passed through
# (so that an escaping mistake shows up as a real tag in the output).
MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def html(rendered: str) -> str:
    return MD.render(rendered)


def table_rows(rendered: str, heading: str) -> list[list[str]]:
    """The cells of the body rows of the table under ``heading``, as HTML text."""
    page = html(rendered)
    start = page.index(f"<h3>{heading}</h3>")
    table = page[page.index("<tbody>", start) : page.index("</tbody>", start)]
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    ]


def test_status_word_and_summary_line_come_first() -> None:
    cases: list[tuple[Plan, str]] = [
        (f.plan((f.terminate(),)), "**Changes** · Plan: 1 to terminate at expiry, 0 to cancel"),
        (f.full_plan(), "**Refused** · Plan: 2 to terminate at expiry, 1 to cancel, 1 to delete"),
        (f.plan((f.no_op(),)), "**No changes.** The account matches the spec."),
    ]
    for plan, first in cases:
        assert markdown.render(plan).splitlines()[0].startswith(first)
    assert (
        markdown.render(f.full_plan()).splitlines()[0].endswith("1 to change renewal, 1 refused.")
    )


def test_table_of_changes_has_one_row_per_change_with_words() -> None:
    plan = f.full_plan()
    rows = table_rows(markdown.render(plan), "Changes")
    assert len(rows) == len(plan.changes) == 5
    by_service = {re.sub(r"</?code>", "", row[1]): row for row in rows}
    symbol, _, kind, action, expiry, what = by_service["old-shop.example.com"]
    assert (symbol, kind, action, expiry) == (
        "<code>-</code>",
        "hosting/web",
        "terminate at expiry",
        "2027-03-01",
    )
    assert "data deleted irreversibly at expiry on 2027-03-01" in what
    assert "can be cancelled until 2027-02-28 00:00 UTC" in what
    assert by_service["legacy.example.net"][3] == "<strong>delete now</strong>"
    assert "no refund" in by_service["legacy.example.net"][5]
    assert "renews automatically again" in by_service["keep.example.com"][5]
    assert "manual renewal → automatic renewal" in by_service["www.example.com"][5]


def test_irreversible_actions_are_called_out_in_their_own_block_after_the_table() -> None:
    rendered = markdown.render(f.full_plan())
    block_start = rendered.index("> [!CAUTION]")
    assert rendered.index("### Changes") < block_start < rendered.index("### Refused")
    block = rendered[block_start : rendered.index("\n\n", block_start)]
    assert "`legacy.example.net` (**deleted now**)" in block
    assert "no refund" in block
    assert "`old-shop.example.com` (**deleted at expiry**)" in block
    assert "`keep.example.com`" not in block  # a cancellation deletes nothing
    assert "> [!CAUTION]" not in markdown.render(f.plan((f.cancel(), f.set_renew())))


def test_refusals_come_with_their_rule_and_fix() -> None:
    refusal = f.refusal(rule=RuleCode.CANCEL_WINDOW_CLOSED, message="too late", fix="let it go")
    rendered = markdown.render(f.plan(refused=(refusal,)))
    assert "### Refused" in rendered
    assert "Nothing will be applied" in rendered
    item = next(line for line in rendered.splitlines() if line.startswith("- `mail"))
    assert "`cancel-window-closed`: too late" in item
    assert "**Fix:** let it go" in rendered


def test_details_are_folded() -> None:
    rendered = markdown.render(f.full_plan())
    assert rendered.count("<details>") == rendered.count("</details>") == 4
    for summary in ("Drift", "Not in the spec", "Unchanged", "API calls apply will make (6)"):
        assert f"<details><summary>{summary}" in rendered
    calls = rendered[rendered.index("API calls apply will make") :]
    assert 'PUT /services/1001 {"terminationPolicy":"terminateAtExpirationDate"}' in calls
    assert '{"token":"<token from e-mail>"}' in calls


def test_no_changes_has_no_table() -> None:
    rendered = markdown.render(f.plan())
    assert "### Changes" not in rendered and "<details>" not in rendered
    assert len(rendered) < 300


HOSTILE = [
    "a|b.example.com",
    "<script>alert(1)</script>",
    "x`y``z.example.com",
    "`starts-with-backtick",
    "</details><h1>owned</h1>",
    "line\nbreak | ! fake row |",
    "back\\|slash",
    "**bold** _em_ [link](https://evil.example) ![img](x)",
    "@org/team $x^2$ ~~gone~~",
    "&lt;entity&gt; &#60;b&#62;",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_cannot_break_the_table_or_inject_html(name: str) -> None:
    plan = f.plan(
        (f.terminate(name), f.delete("benign.example.com"), f.no_op(name, 9)),
        (f.refusal(name, message=f"{name} is refused", fix=f"remove {name}"),),
        drift=(f.drift(name),),
        unmanaged=(f.unmanaged(name),),
    )
    rendered = markdown.render(plan)
    page = html(rendered)
    rows = table_rows(rendered, "Changes")
    assert len(rows) == 2 and all(len(row) == 6 for row in rows)
    assert "<script>" not in page and "<h1>" not in page and "<img" not in page
    assert "<a href" not in page and "<em>" not in page and "<s>" not in page
    assert page.count("<details>") == page.count("</details>") == 4
    for tag in ("<table>", "</table>"):
        assert page.count(tag) == 4  # changes, drift, unmanaged, unchanged
    assert "\n" not in name.replace("\n", "") or "line\nbreak" not in rendered


def test_names_are_shown_verbatim_in_code_spans() -> None:
    name = "a|b`c<d>.example.com"
    rows = table_rows(markdown.render(f.plan((f.terminate(name),))), "Changes")
    assert rows[0][1] == "<code>a|b`c&lt;d&gt;.example.com</code>"


def test_a_very_long_name_is_shortened() -> None:
    name = "x" * 20_000
    rendered = markdown.render(f.plan((f.terminate(name),)))
    assert len(rendered) < 5_000
    assert "x" * markdown.NAME_MAX not in rendered
    assert "x" * (markdown.NAME_MAX - 1) + "…" in rendered


def planned(kind: str, names: Iterable[str], first_id: int = 0) -> Plan:
    """The planner's plan for services of one case, numbered from ``first_id``."""
    return f.planned((kind, name, first_id + i) for i, name in enumerate(names))


# One shape per kind: the case the planner plans and the names it is given.
SHAPES = {
    "terminate": ("terminate", "site-{:05}.example.com"),
    "delete": ("delete", "hosting-{:05}.example.com"),
    "refused": ("refusal", "mail-{:05}.example.com"),
    "unmanaged": ("unmanaged", "d-{:05}.example.org"),
    "no_op": ("no_op", "ok-{:05}.example.com"),
}


@cache  # plans are immutable, and planning 10,000 services takes a while
def many(kind: str, count: int) -> Plan:
    """A plan over ``count`` services, all of one shape."""
    if kind in SHAPES:
        case, name = SHAPES[kind]
        made = planned(case, (name.format(i) for i in range(count)))
        return f.plan(made.actions, made.refused, unmanaged=made.unmanaged)
    quarter = count // 4
    cases = ("terminate", "cancel", "delete", "set_renew")
    mixed = f.planned(
        (cases[i % 4], f"svc-{i:05}-" + "long" * 30 + ".example.com", i) for i in range(count)
    )
    return f.plan(
        mixed.actions,
        planned("refusal", (f"ref-{i:05}.example.com" for i in range(quarter)), count).refused,
        drift=mixed.drift[:quarter],
        unmanaged=planned("unmanaged", (f"u-{i:05}" for i in range(quarter)), count).unmanaged,
    )


@pytest.mark.parametrize("kind", ["terminate", "delete", "refused", "unmanaged", "no_op", "mix"])
def test_ten_thousand_services_stay_under_the_comment_limit_and_stay_useful(kind: str) -> None:
    plan = many(kind, 10_000)
    rendered = markdown.render(plan)
    assert len(rendered) < LIMIT
    first = rendered.splitlines()[0]
    assert wording.summary_line(plan) in first or first.startswith("**No changes.**")
    assert SEE in rendered
    note = re.search(r"This comment is shortened .*? Not shown: (.*?); run `reconciler", rendered)
    assert note, "the note under the summary says what was left out"
    counts = re.findall(r"([\d,]+) of ([\d,]+) ([a-z' ]+)", note.group(1))
    assert counts
    for count, total, _noun in counts:
        assert 0 < int(count.replace(",", "")) <= int(total.replace(",", ""))
    assert len(rendered) > LIMIT - 2_000, "the budget is used, not wasted"
    page = html(rendered)
    assert page.count("<details>") == page.count("</details>")
    if plan.changes:
        shown = table_rows(rendered, "Changes")
        assert len(shown) >= 50, "the table must still show a useful number of changes"
        assert all(len(row) == 6 for row in shown)
        assert re.search(r"…and [\d,]+ more changes not shown", rendered)
    if plan.refused:
        assert "### Refused" in rendered and "**Fix:**" in rendered


def test_truncation_says_how_many_were_left_out() -> None:
    plan = many("terminate", 10_000)
    rendered = markdown.render(plan)
    shown = len(table_rows(rendered, "Changes"))
    match = re.search(r"…and ([\d,]+) more changes not shown", rendered)
    assert match and int(match.group(1).replace(",", "")) == 10_000 - shown


def test_hostile_names_at_scale_stay_under_the_limit() -> None:
    names = [HOSTILE[i % len(HOSTILE)] * 40 + str(i) for i in range(10_000)]
    made = planned("delete", names)
    # Some are not one URL path segment: the planner refuses to delete those.
    assert made.actions and made.refused
    plan = f.plan(made.actions, made.refused, unmanaged=planned("unmanaged", names).unmanaged)
    rendered = markdown.render(plan)
    assert len(rendered) < LIMIT
    page = html(rendered)
    assert "<script>" not in page and "<h1>" not in page


def test_a_smaller_limit_is_honoured() -> None:
    plan = many("mix", 2_000)
    for limit in (20_000, 5_000, 1_000, 300, 50):
        assert len(markdown.render(plan, limit=limit)) <= limit


def test_several_plans_share_the_budget_and_are_labelled() -> None:
    plans = [
        f.plan((f.terminate(),), spec_source="small.yaml"),
        f.plan(many("terminate", 10_000).actions, spec_source="big.yaml"),
        f.plan(refused=(f.refusal(),), spec_source="refused.yaml"),
    ]
    rendered = markdown.render_many(plans)
    assert len(rendered) < LIMIT
    assert rendered.startswith("**Refused** · 3 specs planned: `small.yaml`: changes, ")
    for source in ("small.yaml", "big.yaml", "refused.yaml"):
        assert f"## `{source}`" in rendered
    small = rendered[rendered.index("## `small.yaml`") : rendered.index("## `big.yaml`")]
    assert "old-shop.example.com" in small and "not shown" not in small
    assert markdown.render_many(plans[:1]) == markdown.render(plans[0])


def test_cancel_deadline_past_is_said_in_the_comment() -> None:
    late = f.EXPIRY - timedelta(hours=2)
    rendered = markdown.render(f.plan((f.terminate(),), created_at=late))
    assert "cannot be cancelled any more" in rendered


def test_every_change_kind_appears_in_the_table() -> None:
    rendered = markdown.render(f.full_plan())
    rows = table_rows(rendered, "Changes")
    actions = {row[3] for row in rows}
    assert actions == {
        "terminate at expiry",
        "cancel termination",
        "<strong>delete now</strong>",
        "change renewal",
    }
    assert {a.action for a in f.full_plan().changes} == set(ActionKind) - {
        ActionKind.NO_OP,
        ActionKind.TERMINATE_AT_COMMITMENT_END,
    }


def test_a_termination_at_the_end_of_a_commitment_is_in_the_table_and_the_caution() -> None:
    rendered = markdown.render(f.plan((f.terminate_at_commitment_end(),)))
    rows = table_rows(rendered, "Changes")
    assert {row[3] for row in rows} == {"terminate at commitment end"}
    assert "deleted at the end of its commitment" in rendered
    assert "1 to terminate at commitment end" in rendered.splitlines()[0]


def test_many_specs_with_long_names_stay_under_the_limit() -> None:
    plans = [
        f.plan((f.terminate(),), spec_source=f"team-{i}/" + "x" * 300 + ".yaml") for i in range(200)
    ]
    rendered = markdown.render_many(plans)
    assert len(rendered) < LIMIT
    assert rendered.startswith("**Changes** · 200 specs planned: ")
    assert "and 190 more" in rendered.splitlines()[0]
    assert rendered.count("## `team-") == 200


def test_text_in_backticks_in_a_fix_is_a_code_span_not_escaped_backticks() -> None:
    refusal = f.refusal(
        message="`lifecycle: renew` cannot be kept on an expired service",
        fix="set `lifecycle: terminate_at_expiry` or remove the entry",
    )
    rendered = markdown.render(f.plan(refused=(refusal,)))
    assert "**Fix:** set `lifecycle: terminate_at_expiry` or remove the entry" in rendered
    assert "\\`" not in rendered and "terminate\\_at" not in rendered
    page = html(rendered)
    assert "<code>lifecycle: terminate_at_expiry</code> or remove the entry" in page
    assert "<code>lifecycle: renew</code> cannot be kept" in page


HOSTILE_FIX = (
    "set `a|b</details><script>x</script> *no* [l](u)` or ``x`y`` "
    "then | *bold* <b>hi</b> [l](https://evil.example) `unclosed"
)


def test_nothing_escapes_a_code_span_of_a_hostile_fix() -> None:
    plan = f.plan(
        (f.no_op(reason=HOSTILE_FIX),),
        (f.refusal(message=HOSTILE_FIX, fix=HOSTILE_FIX),),
    )
    rendered = markdown.render(plan)
    # Inside the spans: the text verbatim, nothing escaped; ``x`y`` keeps its longer fence.
    assert "**Fix:** set `a|b</details><script>x</script> *no* [l](u)` or ``x`y``" in rendered
    page = html(rendered)
    spans = re.findall(r"<code>(.*?)</code>", page)
    hostile = "a|b&lt;/details&gt;&lt;script&gt;x&lt;/script&gt; *no* [l](u)"
    assert spans.count(hostile) == 3  # the reason, the message and the fix
    assert spans.count("x`y") == 3
    # Outside them: escaped as before, and the lone backtick is plain text.
    assert "<script>" not in page and "<b>" not in page and "<em>" not in page
    assert "<a href" not in page and "</details><script>" not in page
    assert (
        page.count("then | *bold* &lt;b&gt;hi&lt;/b&gt; [l](https://evil.example) `unclosed") == 3
    )
    assert page.count("<details>") == page.count("</details>") == 1  # Unchanged only
    # In the table of unchanged services the pipes split no cell (GFM's \| in a span).
    start = page.index("<summary>Unchanged")
    table = page[page.index("<tbody>", start) : page.index("</tbody>", start)]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table, flags=re.S)
    assert len(cells) == 4 and f"<code>{hostile}</code>" in cells[3]
