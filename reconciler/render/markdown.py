"""The plan as a pull-request comment (GitHub-flavoured markdown).

In this order: the status word and the summary line; where the plan comes from; a table
of changes (service, type, action, expiry, what happens); the irreversible actions in a
separate caution block; the refusals with their fix; then, folded in ``<details>``, the
drift, the services not in the spec, the unchanged ones and the exact API calls.

**Size.** GitHub refuses comments over 65,536 characters, so the rendering stays under
``LIMIT`` (65,000) whatever the account size. When everything does not fit, sections are
filled by importance — refusals, then irreversible actions, then the table of changes,
then the folded details — each cut cleanly at a row, with a line saying how many rows
were left out, and a note under the summary line saying how to see everything
(``reconciler plan --format text``). Single values are shortened too (a 10,000-character
name cannot eat the comment).

**Hostile names.** Names and messages come from the API and from specs. Service names are
shown as code spans (no markdown, HTML or ``@mention`` is interpreted inside), other
text is escaped (markdown punctuation with backslashes, ``<``, ``>`` and ``&`` as HTML
entities), control characters are made visible, and in tables ``|`` is escaped so that
no value can break a row, close a ``<details>`` or inject HTML. Domain-like names may
still be auto-linked by GitHub; the link text is then the name itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.plan import Action, ActionKind, Plan
from reconciler.render import wording
from reconciler.render.wording import clean, shorten

LIMIT = 65_000  # characters; GitHub's comment limit is 65,536
SEE_EVERYTHING = "run `reconciler plan --format text` (or `--format json`) to see everything"

# Longest a single value may be before it is shortened with an ellipsis.
NAME_MAX = 120
TEXT_MAX = 600

# How much of the budget left at its turn each section may take (the last takes all).
# Sections are filled in this order of importance, then shown in reading order.
_SHARES = {
    "refused": 0.45,
    "irreversible": 0.4,
    "changes": 0.8,
    "drift": 0.3,
    "unmanaged": 0.4,
    "unchanged": 0.5,
    "calls": 1.0,
}
_READING_ORDER = ("changes", "irreversible", "refused", "drift", "unmanaged", "unchanged", "calls")

# Markdown punctuation that can start a construct inside a line: code, emphasis, links
# and images (brackets), table cells, strikethrough, math. Parentheses, ``#``, ``+`` and
# ``!`` are inert once brackets are escaped and text never starts a line.
_ESCAPED = re.compile(r"([\\`*_\[\]|~$])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


# ---------------------------------------------------------------------------------------
# Escaping


def text(value: object, limit: int = TEXT_MAX) -> str:
    """Free text made inert: markdown punctuation escaped, HTML as entities, control
    characters visible, on one line."""
    plain = shorten(clean(value), limit)
    plain = "".join(_ENTITIES.get(char, char) for char in plain)
    return _ESCAPED.sub(r"\\\1", plain)


def code(value: object, *, in_table: bool = False, limit: int = NAME_MAX) -> str:
    """A value (a service name) as a code span: nothing inside is interpreted.

    In a table a ``|`` must be written ``\\|`` even inside a code span; a backslash just
    before a ``|`` cannot be represented there, so such a value falls back to escaped
    text."""
    inner = shorten(clean(value), limit)
    if in_table:
        if "\\|" in inner:
            return text(inner, limit)
        inner = inner.replace("|", "\\|")
    if not inner:
        return "` `"
    longest = max((len(run) for run in re.findall(r"`+", inner)), default=0)
    fence = "`" * (longest + 1)
    if inner.startswith("`") or inner.endswith("`") or (inner[0] == inner[-1] == " "):
        inner = f" {inner} "
    return f"{fence}{inner}{fence}"


def _fence_for(lines: Sequence[str]) -> str:
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


# ---------------------------------------------------------------------------------------
# Sections that fit a budget


@dataclass(frozen=True, slots=True)
class _Section:
    """A block of rows cut to a budget: ``head`` + rows + the omission note + ``tail``."""

    head: str
    rows: Sequence[str]
    tail: str
    omitted: Callable[[int], str]  # the line saying how many rows were left out
    collapsed: Callable[[], str]  # the whole section when not even its head fits

    def skeleton(self) -> int:
        return len(self.collapsed())

    def fit(self, budget: int) -> tuple[str, int]:
        """The section within ``budget`` characters, and how many rows were left out."""
        if not self.rows:
            return "", 0
        total = len(self.head) + len(self.tail) + sum(len(row) for row in self.rows)
        if total <= budget:
            return self.head + "".join(self.rows) + self.tail, 0
        note_room = len(self.omitted(len(self.rows)))
        room = budget - len(self.head) - len(self.tail) - note_room
        kept: list[str] = []
        for row in self.rows:
            if len(row) > room:
                break
            kept.append(row)
            room -= len(row)
        left_out = len(self.rows) - len(kept)
        if not kept:
            return self.collapsed(), len(self.rows)
        return self.head + "".join(kept) + self.omitted(left_out) + self.tail, left_out


# ---------------------------------------------------------------------------------------
# Rendering


def render(plan: Plan, *, limit: int = LIMIT) -> str:
    """The plan as a pull-request comment of at most ``limit`` characters."""
    top = _summary(plan)
    origin = _origin(plan)
    sections = _sections(plan)
    budget = limit - len(top) - len(origin) - len(_truncation_note(10**9, 10**9)) - 2
    rendered: dict[str, str] = {}
    left_out = 0
    order = list(_SHARES)
    for index, key in enumerate(order):
        section = sections[key]
        reserve = sum(sections[later].skeleton() for later in order[index + 1 :])
        share = _SHARES[key] if index < len(order) - 1 else 1.0
        allowed = max(int((budget - reserve) * share), 0)
        block, omitted = section.fit(allowed)
        if len(block) > budget - reserve:  # only a collapsed section can overshoot
            block = ""
        rendered[key] = block
        budget -= len(block)
        left_out += omitted
    shown_rows = sum(len(section.rows) for section in sections.values())
    note = _truncation_note(left_out, shown_rows) if left_out else ""
    body = "".join(rendered[key] for key in _READING_ORDER)
    result = (top + note + origin + body).rstrip("\n") + "\n"
    if len(result) > limit:  # cannot happen by construction; never post an oversized comment
        result = _minimal(plan, limit)
    return result


def render_many(plans: Sequence[Plan], *, limit: int = LIMIT) -> str:
    """Several plans (one per spec file) in one comment under ``limit`` characters: an
    overall status line, then a section per plan. Plans that need little keep what
    they need; the others share the rest evenly."""
    if len(plans) == 1:
        return render(plans[0], limit=limit)
    head = _many_head(plans)
    labels = [f"## {code(plan.spec_source)}\n\n" for plan in plans]
    budget = limit - len(head) - sum(len(label) + 1 for label in labels)
    limits = _share_out([len(render(plan, limit=max(budget, 0))) for plan in plans], max(budget, 0))
    parts = [head]
    for plan, label, plan_limit in zip(plans, labels, limits, strict=True):
        parts.append(label + render(plan, limit=plan_limit) + "\n")
    result = "".join(parts)
    return result if len(result) <= limit else shorten(head, limit)


def _share_out(wanted: Sequence[int], budget: int) -> list[int]:
    """Water-filling: each gets what it wants up to an even share of what is left."""
    granted = [0] * len(wanted)
    pending = sorted(range(len(wanted)), key=lambda i: wanted[i])
    left = budget
    while pending:
        fair = left // len(pending)
        index = pending.pop(0)
        granted[index] = min(wanted[index], fair)
        left -= granted[index]
    return granted


def _many_head(plans: Sequence[Plan]) -> str:
    worst = max(plans, key=lambda plan: _severity(plan))
    status = wording.status_word(worst)
    parts = [f"{code(plan.spec_source)}: {wording.status_word(plan).lower()}" for plan in plans]
    return f"**{status}** · {len(plans)} specs planned: " + ", ".join(parts) + "\n\n"


def _severity(plan: Plan) -> int:
    return 2 if plan.has_refusals else 1 if plan.has_changes else 0


def _summary(plan: Plan) -> str:
    if not plan.has_changes and not plan.has_refusals:
        return "**No changes.** The account matches the spec.\n\n"
    return f"**{wording.status_word(plan)}** · {wording.summary_line(plan)}\n\n"


def _origin(plan: Plan) -> str:
    return (
        f"Spec {code(plan.spec_source)} ({code(wording.short_digest(plan.spec_digest))}) "
        f"on endpoint {code(plan.endpoint)}, planned at "
        f"{wording.when_text(plan.created_at)} (API clock).\n\n"
    )


def _truncation_note(left_out: int, total: int) -> str:
    return (
        f"> [!NOTE]\n> This comment is shortened to stay under GitHub's 65,536-character "
        f"limit: {left_out:,} of {total:,} rows are not shown; {SEE_EVERYTHING}.\n\n"
    )


def _minimal(plan: Plan, limit: int) -> str:
    return shorten(
        f"{_summary(plan)}The details do not fit in a comment; {SEE_EVERYTHING}.\n", limit
    )


def _omitted(noun: str) -> Callable[[int], str]:
    def line(count: int) -> str:
        return f"\n_…and {count:,} more {noun} not shown; {SEE_EVERYTHING}._\n"

    return line


def _collapsed(title: str, count: int, noun: str) -> Callable[[], str]:
    def block() -> str:
        return f"{title}\n\n_{count:,} {noun} not shown; {SEE_EVERYTHING}._\n\n"

    return block


def _sections(plan: Plan) -> dict[str, _Section]:
    changes = plan.changes
    unchanged = [action for action in plan.actions if action.action is ActionKind.NO_OP]
    now = plan.created_at
    return {
        "changes": _table_section(
            "### Changes",
            "| | Service | Type | Action | Expiry | What happens |\n|:-:|---|---|---|---|---|\n",
            [_change_row(action, plan) for action in changes],
            "changes",
        ),
        "irreversible": _irreversible_section(changes, now),
        "refused": _refused_section(plan),
        "drift": _details_section(
            "Drift: where the account differs from the spec",
            "| Service | Field | Spec | Live |\n|---|---|---|---|\n",
            [
                f"| {code(d.service, in_table=True)} | {text(d.field)} | "
                f"{text(_value(d.spec))} | {text(_value(d.live))} |\n"
                for d in plan.drift
            ],
            "drift rows",
        ),
        "unmanaged": _details_section(
            "Not in the spec, left as they are",
            "| Service | Type | Id | Lifecycle | Expiry |\n|---|---|---|---|---|\n",
            [
                f"| {code(u.name, in_table=True)} | {text(u.type)} | {u.service_id} | "
                f"{text(u.lifecycle)}{'' if u.manageable else ' (managed from its own interface)'}"
                f" | {_expiry(u.expiration)} |\n"
                for u in plan.unmanaged
            ],
            "services",
        ),
        "unchanged": _details_section(
            "Unchanged: already as the spec says",
            "| Service | Type | Expiry |\n|---|---|---|\n",
            [
                f"| {code(a.service, in_table=True)} | {text(a.type or '')} | "
                f"{_expiry(a.expiration)} |\n"
                for a in unchanged
            ],
            "services",
        ),
        "calls": _calls_section(changes),
    }


def _table_section(title: str, header: str, rows: list[str], noun: str) -> _Section:
    return _Section(
        head=f"{title}\n\n{header}",
        rows=rows,
        tail="\n",
        omitted=_omitted(noun),
        collapsed=_collapsed(title, len(rows), noun),
    )


def _details_section(summary: str, header: str, rows: list[str], noun: str) -> _Section:
    title = f"<details><summary>{summary} ({len(rows):,})</summary>"
    return _Section(
        head=f"{title}\n\n{header}",
        rows=rows,
        tail="\n</details>\n\n",
        omitted=_omitted(noun),
        collapsed=lambda: f"{title}\n\n_{len(rows):,} {noun}; {SEE_EVERYTHING}._\n\n</details>\n\n",
    )


def _change_row(action: Action, plan: Plan) -> str:
    kind = action.action
    headline = wording.HEADLINES[kind]
    if kind is ActionKind.DELETE_NOW:
        headline = "**delete now**"
    what = text(wording.consequence(action, now=plan.created_at))
    symbol = code(wording.SYMBOLS[kind], in_table=True)
    return (
        f"| {symbol} | {code(action.service, in_table=True)} | {text(action.type or '')} | "
        f"{headline} | {_expiry(action.expiration)} | {what} |\n"
    )


def _irreversible_section(changes: Sequence[Action], now: datetime) -> _Section:
    rows = []
    for action in changes:
        note = wording.irreversible_note(action, now=now)
        if note is None:
            continue
        label = "deleted now" if action.action is ActionKind.DELETE_NOW else "at expiry"
        rows.append(f"> - {code(action.service)} (**{label}**): {text(note)}\n")
    title = "> [!CAUTION]\n> **Irreversible: data will be deleted**\n>\n"
    return _Section(
        head=title,
        rows=rows,
        tail="\n",
        omitted=lambda count: f">\n> _…and {count:,} more not shown; {SEE_EVERYTHING}._\n",
        collapsed=lambda: f"{title}> {len(rows):,} irreversible actions; {SEE_EVERYTHING}.\n\n",
    )


def _refused_section(plan: Plan) -> _Section:
    rows = []
    for refusal in plan.refused:
        where = f" (#{refusal.service_id})" if refusal.service_id is not None else ""
        rows.append(
            f"- {code(refusal.service)}{where}: `{refusal.rule.value}`: "
            f"{text(refusal.message)}\\\n  **Fix:** {text(refusal.fix)}\n"
        )
    title = "### Refused\n\nNothing will be applied until the spec no longer asks for these.\n\n"
    return _Section(
        head=title,
        rows=rows,
        tail="\n",
        omitted=_omitted("refusals"),
        collapsed=lambda: f"{title}_{len(rows):,} refusals; {SEE_EVERYTHING}._\n\n",
    )


def _calls_section(changes: Sequence[Action]) -> _Section:
    blocks = []
    for action in changes:
        lines = [f"# {clean(action.service)}"]
        lines += [clean(wording.call_text(call)) for call in action.calls]
        blocks.append("\n".join(lines) + "\n")
    fence = _fence_for(blocks)
    count = sum(len(action.calls) for action in changes)
    title = f"<details><summary>API calls apply will make ({count:,})</summary>"
    return _Section(
        head=f"{title}\n\n{fence}\n",
        rows=blocks,
        tail=f"{fence}\n\n</details>\n\n",
        omitted=lambda left: f"# …and the calls of {left:,} more changes; see `--format text`\n",
        collapsed=lambda: f"{title}\n\n_{count:,} calls; {SEE_EVERYTHING}._\n\n</details>\n\n",
    )


def _expiry(when: datetime | None) -> str:
    return wording.day_text(when) if when is not None else "—"


def _value(value: object) -> str:
    return "none" if value is None else str(value)
