"""The pull-request comment's timeline (a mermaid gantt) of the deadlines the plan's
changes depend on: which milestones, only when there is one, within the comment's limit,
and no name able to break the diagram."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from markdown_it import MarkdownIt
from plan_factory import (
    EXPIRY,
    cancel,
    delete,
    no_op,
    plan,
    set_renew,
    terminate,
    terminate_at_commitment_end,
)

from reconciler.render import markdown, timeline
from reconciler.render.timeline import MilestoneKind, milestones, render_timeline

MD = MarkdownIt("commonmark").enable("table")
MILESTONE = re.compile(r"^    (.+) : milestone, (\d{4}-\d\d-\d\d \d\d:\d\d), 0d$")


def diagrams(rendered: str) -> list[str]:
    return [t.content for t in MD.parse(rendered) if t.type == "fence" and t.info == "mermaid"]


def drawn(diagram: str) -> dict[str, list[tuple[str, str]]]:
    """section name -> [(task name, its date)], as the diagram lists them."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in diagram.splitlines():
        if line.startswith("    section "):
            current = line.removeprefix("    section ")
            sections[current] = []
        elif match := MILESTONE.match(line):
            assert current is not None
            sections[current].append((match.group(1), match.group(2)))
    return sections


def test_the_comment_draws_each_changes_deadlines() -> None:
    rendered = markdown.render(
        plan(
            (
                cancel(),  # expires_at: 24 hours before EXPIRY
                terminate(expiration=datetime(2027, 2, 1, 12, 0, tzinfo=UTC)),
                terminate_at_commitment_end(commitment_end=date(2027, 8, 1)),
                no_op(),  # no deadline of a change
            )
        )
    )
    (diagram,) = diagrams(rendered)
    assert diagram.startswith("gantt\n    dateFormat YYYY-MM-DD HH:mm\n")
    assert drawn(diagram) == {
        # In the order of each service's first deadline.
        "old-shop.example.com": [
            ("last moment to cancel 2027-01-31 12h00", "2027-01-31 12:00"),
            ("expiry 2027-02-01 12h00", "2027-02-01 12:00"),
        ],
        "keep.example.com": [
            ("last moment to cancel 2027-02-28 00h00", "2027-02-28 00:00"),
            ("expiry 2027-03-01 00h00", "2027-03-01 00:00"),
        ],
        "ns-old.example.com": [
            ("expiry 2027-03-01 00h00", "2027-03-01 00:00"),
            ("commitment ends 2027-08-01", "2027-08-01 00:00"),
        ],
    }
    assert "static.example.com" not in diagram
    # Above the table of changes, below where the plan comes from.
    assert rendered.index("```mermaid") < rendered.index("### Changes")
    assert rendered.index("planned at") < rendered.index("```mermaid")


def test_no_diagram_without_a_deadline() -> None:
    assert diagrams(markdown.render(plan((no_op(),)))) == []
    undated = delete(expiration=None)
    assert diagrams(markdown.render(plan((undated, set_renew(expiration=None))))) == []
    assert render_timeline(plan(()), limit=markdown.LIMIT) == ""


def test_milestones_of_a_set_renew_and_a_delete_are_their_expiries() -> None:
    got = milestones([set_renew(), delete(commitment_end=date(2027, 6, 30))])
    assert [(m.service, m.kind, m.at) for m in got] == [
        ("legacy.example.net", MilestoneKind.EXPIRY, EXPIRY),  # a tie: by service
        ("www.example.com", MilestoneKind.EXPIRY, EXPIRY),
        ("legacy.example.net", MilestoneKind.COMMITMENT_END, datetime(2027, 6, 30, tzinfo=UTC)),
    ]


def test_many_services_are_cut_to_whole_sections_with_a_note() -> None:
    actions = tuple(
        terminate(f"site-{i:05}.example.com", i, expiration=EXPIRY + timedelta(days=i))
        for i in range(2_000)
    )
    rendered = markdown.render(plan(actions))
    assert len(rendered) < markdown.LIMIT
    (diagram,) = diagrams(rendered)
    sections = drawn(diagram)
    assert 1 <= len(sections) <= timeline.MAX_SERVICES
    assert all(len(items) == 2 for items in sections.values())  # never a section cut
    assert list(sections)[0] == "site-00000.example.com"  # the earliest first
    note = re.search(r"…and ([\d,]+) more services with deadlines not drawn", rendered)
    assert note and int(note.group(1).replace(",", "")) == 2_000 - len(sections)
    block = rendered[rendered.index("**Deadlines") : rendered.index("not drawn")]
    assert len(block) <= timeline.MAX_CHARS
    # The table of changes still gets the room it had.
    assert len(re.findall(r"^\| `-` \| `site-", rendered, flags=re.M)) >= 50


@pytest.mark.parametrize("limit", [20_000, 5_000, 1_000, 300])
def test_a_smaller_limit_gets_a_smaller_diagram_or_none(limit: int) -> None:
    actions = tuple(terminate(f"s{i}.example.com", i) for i in range(100))
    block = render_timeline(plan(actions), limit=limit)
    assert len(block) <= limit // timeline.SHARE_OF_LIMIT
    assert len(markdown.render(plan(actions), limit=limit)) <= limit
    if limit >= 5_000:
        assert block and diagrams(block)


@pytest.mark.parametrize(
    "name",
    [
        "evil.example.com : milestone, 2000-01-01, 0d",
        "x\n    section injected",
        "%%{init: {'theme': 'dark'}}%%",
        "a```\n<script>alert(1)</script>",
        "#35; click x href javascript:alert(1)",
    ],
)
def test_hostile_names_cannot_break_the_diagram(name: str) -> None:
    rendered = markdown.render(plan((terminate(name),)))
    (diagram,) = diagrams(rendered)
    sections = drawn(diagram)
    assert len(sections) == 1
    (section,) = sections
    assert re.fullmatch(r"[A-Za-z0-9._/\-…]+", section)
    assert len(sections[section]) == 2
    body = diagram.splitlines()
    assert all(line.startswith(("gantt", "    ")) for line in body)
    assert not any("%%" in line or "click" in line.split(" : ")[0].split() for line in body)


def test_a_long_name_is_shortened_in_the_diagram() -> None:
    (diagram,) = diagrams(markdown.render(plan((terminate("x" * 5_000),))))
    (section,) = drawn(diagram)
    assert len(section) == timeline.NAME_MAX and section.endswith("…")
