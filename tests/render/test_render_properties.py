"""Property tests: whatever the names, messages and sizes, the renderers never raise,
the markdown stays within its limit and injects nothing, the text forges no line."""

from __future__ import annotations

import re

import plan_factory as f
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from reconciler.core import planfile
from reconciler.core.plan import Plan
from reconciler.render import markdown, text

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")
ALLOWED_TAGS = {
    "p", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
    "blockquote", "ul", "li", "h2", "h3", "details", "summary", "br",
}  # fmt: skip

names = st.text(min_size=1, max_size=60)
words = st.text(max_size=80)
kinds = st.sampled_from(["terminate", "cancel", "delete", "set_renew", "no_op", "refusal"])


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """What the planner makes of services of any names (it refuses some of them), with
    some refusals' words and the drift's live values replaced by any text."""
    rows = draw(st.lists(st.tuples(kinds, names), max_size=12, unique_by=lambda row: row[1]))
    made = f.planned((kind, name, index) for index, (kind, name) in enumerate(rows))
    actions = made.actions
    refused = tuple(
        r.model_copy(
            update={"message": draw(st.text(max_size=80)), "fix": draw(st.text(max_size=80))}
        )
        if draw(st.booleans())
        else r
        for r in made.refused
    )
    unmanaged = tuple(f.unmanaged(draw(names), i) for i in range(draw(st.integers(0, 8))))
    drift = tuple(d.model_copy(update={"live": draw(st.text(max_size=20))}) for d in made.drift[:2])
    return f.plan(
        actions,
        refused,
        unmanaged=unmanaged,
        drift=drift,
        spec_source=draw(names),
        endpoint=draw(st.sampled_from(["ovh-eu", "sandbox", "https://x.example/1.0"])),
    )


@settings(max_examples=150, deadline=None)
@given(plans(), st.integers(min_value=100, max_value=65_000))
def test_markdown_stays_within_its_limit_and_injects_no_html(plan: Plan, limit: int) -> None:
    rendered = markdown.render(plan, limit=limit)
    assert len(rendered) <= limit
    page = MD.render(rendered)
    tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", page))
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert page.count("<details>") == page.count("</details>")


@settings(max_examples=150, deadline=None)
@given(plans())
def test_text_has_one_line_per_thing_and_no_control_characters(plan: Plan) -> None:
    rendered = text.render(plan)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]", rendered)
    last = rendered.splitlines()[-1]
    assert last.startswith("Plan: ") or last == "No changes. The account matches the spec."
    benign = text.render(
        plan.model_copy(
            update={
                "actions": tuple(
                    a.model_copy(update={"service": "s", "name": "s"}) for a in plan.actions
                ),
                "refused": tuple(r.model_copy(update={"service": "s"}) for r in plan.refused),
                "unmanaged": tuple(u.model_copy(update={"name": "s"}) for u in plan.unmanaged),
                "spec_source": "s",
            }
        )
    )
    assert len(rendered.splitlines()) == len(benign.splitlines())


@settings(max_examples=100, deadline=None)
@given(plans())
def test_every_plan_round_trips_through_the_plan_file(plan: Plan) -> None:
    assert planfile.parse_plan(planfile.dump_plan(plan)) == plan
