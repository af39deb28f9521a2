"""The plan as a pull-request comment (GitHub-flavoured markdown).

In this order: the status word and the summary line; where the plan comes from; a table
of changes (service, type, action, expiry, what happens); the irreversible actions in a
separate caution block; the refusals with their fix; then, folded in ``<details>``, the
drift, the services not in the spec, the unchanged ones and the exact API calls.

**Size.** GitHub refuses comments over 65,536 characters, so the rendering stays under
``LIMIT`` (64,000: a margin below 65,000) whatever the account size. When everything
does not fit, sections are filled by importance — refusals, then irreversible actions,
then the table of changes, then the folded details — each cut cleanly at a row, with a
line saying how many rows were left out, and a note under the summary line saying how
to see everything (``reconciler plan --format text``). Single values are shortened too
(a 10,000-character name cannot eat the comment).

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
from datetime import datetime, tzinfo

from reconciler.core.plan import Action, ActionKind, Plan
from reconciler.render import billing, wording
from reconciler.render.timeline import render_timeline
from reconciler.render.wording import clean, shorten
from reconciler.times import utc, when_text, zone_name

LIMIT = 64_000  # characters: GitHub refuses comments over 65,536; keep a margin
SEE_EVERYTHING = "run `reconciler plan --format text` (or `--format json`) to see everything"

# Longest a single value may be before it is shortened with an ellipsis.
NAME_MAX = 120
TEXT_MAX = 600
NOTE_MAX = 200
CALL_MAX = 400
MANY_LISTED = 10  # specs named in the status line of a comment over several specs

# Sections are filled in this order of importance (then shown in reading order), each
# taking, of the budget left at its turn, its weight's share among the sections still to
# fill that have something to show; what a section does not need flows to the next ones,
# and what is left at the end tops up the sections that were cut, most important first.
_WEIGHTS = {
    "refused": 3,
    "irreversible": 3,
    "changes": 6,
    "drift": 1,
    "unmanaged": 1,
    "unchanged": 1,
    "calls": 2,
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
    plain = shorten(clean(shorten(str(value), limit)), limit)
    plain = plain.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _ESCAPED.sub(r"\\\1", plain)


def code(value: object, *, in_table: bool = False, limit: int = NAME_MAX) -> str:
    """A value (a service name) as a code span: nothing inside is interpreted.

    In a table a ``|`` must be written ``\\|`` even inside a code span; a backslash just
    before a ``|`` cannot be represented there, so such a value falls back to escaped
    text."""
    inner = shorten(clean(shorten(str(value), limit)), limit)
    if in_table:
        if "\\|" in inner:
            return text(inner, limit)
        inner = inner.replace("|", "\\|")
    if not inner:
        return "` `"
    longest = max((len(run) for run in _BACKTICKS.findall(inner)), default=0)
    fence = "`" * (longest + 1)
    if inner.startswith("`") or inner.endswith("`") or (inner[0] == inner[-1] == " "):
        inner = f" {inner} "
    return f"{fence}{inner}{fence}"


_BACKTICKS = re.compile(r"`+")
# A code span as CommonMark reads one: a run of backticks, the text up to the next run
# of the same length (each run whole: no backtick just before or after it).
_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def prose(value: object, limit: int = TEXT_MAX, *, in_table: bool = False) -> str:
    """A reason or a fix: its text in backticks (``lifecycle: terminate_at_expiry``)
    kept as code spans, the rest escaped as ``text`` escapes it. Nothing inside a span
    is escaped, since a code span shows its text verbatim; ``code`` gives it a fence
    longer than any backtick run inside, so no text can close it early. A backtick with
    no partner is plain text, escaped."""
    plain = shorten(clean(shorten(str(value), limit)), limit)
    parts: list[str] = []
    at = 0
    for span in _SPAN.finditer(plain):
        parts.append(text(plain[at : span.start()], limit) if span.start() > at else "")
        parts.append(code(span.group(2), in_table=in_table, limit=limit))
        at = span.end()
    parts.append(text(plain[at:], limit) if at < len(plain) else "")
    return "".join(parts)


# ---------------------------------------------------------------------------------------
# Sections that fit a budget


@dataclass(frozen=True, slots=True)
class _Section:
    """A block of rows cut to a budget: ``head`` + rows + the omission note + ``tail``.

    Rows are made on demand (``row(i)``), so a 10,000-service plan costs only the rows
    that fit, not 10,000 escaped rows thrown away."""

    noun: str  # what a row is, for the truncation notes: "changes", "refusals", ...
    count: int
    row: Callable[[int], str]
    head: str
    collapsed: Callable[[], str]  # the whole section when not even one row fits
    tail: str = "\n"
    # The line saying how many rows were left out (None: "…and N more {noun} not shown").
    omitted: Callable[[int], str] | None = None

    def skeleton(self) -> int:
        return len(self.collapsed()) if self.count else 0

    def _note(self, left_out: int) -> str:
        if self.omitted is not None:
            return self.omitted(left_out)
        return f"\n_…and {left_out:,} more {self.noun} not shown; {SEE_EVERYTHING}._\n"

    def fit(self, budget: int) -> tuple[str, int]:
        """The section within ``budget`` characters, and how many rows were left out."""
        if not self.count:
            return "", 0
        room = budget - len(self.head) - len(self.tail)
        room_with_note = room - len(self._note(self.count))
        rows: list[str] = []
        used = 0
        fits_with_note = 0  # how many rows fit when the omission note is needed
        for index in range(self.count):
            row = self.row(index)
            used += len(row)
            if used > room:
                break
            rows.append(row)
            if used <= room_with_note:
                fits_with_note = len(rows)
        else:
            return self.head + "".join(rows) + self.tail, 0
        if not fits_with_note:
            return self.collapsed(), self.count
        left_out = self.count - fits_with_note
        kept = "".join(rows[:fits_with_note])
        return self.head + kept + self._note(left_out) + self.tail, left_out


# ---------------------------------------------------------------------------------------
# Rendering


def render(plan: Plan, *, limit: int = LIMIT, zone: tzinfo | None = None) -> str:
    """The plan as a pull-request comment of at most ``limit`` characters; dates in UTC,
    or in the display ``zone`` (the words only: deadlines are the same instants)."""
    top = _summary(plan)
    timeline = render_timeline(plan, limit=limit, zone=zone)
    origin = _origin(plan, zone) + timeline  # counted in the budget
    sections = _sections(plan, zone)
    # Every block ends with a newline and the result only strips the final ones, so the
    # result is never longer than top + origin + the blocks.
    budget = limit - len(top) - len(origin)
    rendered, left_out = _fill_in_order(sections, budget)
    if any(left_out.values()):  # share the budget, with room for a note on what is left out
        note_room = len(_truncation_note(sections, {key: s.count for key, s in sections.items()}))
        rendered, left_out = _fill(sections, budget - note_room)
    note = _truncation_note(sections, left_out) if any(left_out.values()) else ""
    body = "".join(rendered[key] for key in _READING_ORDER)
    result = (top + note + origin + body).rstrip("\n") + "\n"
    if len(result) > limit:  # cannot happen by construction; never post an oversized comment
        result = _minimal(plan, limit)
    return result


def _fill_in_order(
    sections: dict[str, _Section], budget: int
) -> tuple[dict[str, str], dict[str, int]]:
    """Everything, when it fits (rows are made only until the budget runs out)."""
    rendered: dict[str, str] = {}
    left_out: dict[str, int] = {}
    for key in _READING_ORDER:
        rendered[key], left_out[key] = sections[key].fit(budget)
        budget -= len(rendered[key])
        if left_out[key] or budget < 0:
            left_out[key] = left_out[key] or 1
            break
    return rendered, left_out


def _fill(sections: dict[str, _Section], budget: int) -> tuple[dict[str, str], dict[str, int]]:
    """Every section within ``budget`` characters in all (see ``_WEIGHTS``), with room
    always kept for the collapsed form of the sections still to fill."""
    rendered: dict[str, str] = {}
    left_out: dict[str, int] = {}
    order = [key for key in _WEIGHTS if sections[key].count]
    left = budget
    for index, key in enumerate(order):
        later = order[index + 1 :]
        reserve = sum(sections[other].skeleton() for other in later)
        weights = _WEIGHTS[key] + sum(_WEIGHTS[other] for other in later)
        allowed = max((left - reserve) * _WEIGHTS[key] // weights, 0)
        rendered[key], left_out[key] = _fit_within(sections[key], allowed, left - reserve)
        left -= len(rendered[key])
    for key in order:  # top up the sections that were cut with what is left
        if left_out[key] and left > 0:
            grown, omitted = _fit_within(sections[key], len(rendered[key]) + left, left)
            if omitted < left_out[key]:
                left -= len(grown) - len(rendered[key])
                rendered[key], left_out[key] = grown, omitted
    for key in sections:
        rendered.setdefault(key, "")
        left_out.setdefault(key, 0)
    return rendered, left_out


def _fit_within(section: _Section, allowed: int, hard_limit: int) -> tuple[str, int]:
    block, omitted = section.fit(allowed)
    if len(block) > hard_limit:  # only a collapsed section can overshoot its share
        return "", section.count
    return block, omitted


def render_many(plans: Sequence[Plan], *, limit: int = LIMIT, zone: tzinfo | None = None) -> str:
    """Several plans (one per spec file) in one comment under ``limit`` characters: an
    overall status line, then a section per plan. Plans that need little keep what
    they need; the others share the rest evenly."""
    if len(plans) == 1:
        return render(plans[0], limit=limit, zone=zone)
    head = _many_head(plans)
    labels = [f"## {code(plan.spec_source)}\n\n" for plan in plans]
    budget = limit - len(head) - sum(len(label) + 1 for label in labels)
    # A rendering ends with one newline where its last block ended with two: ask for a
    # little more than each one's full length so that "all of it" fits again.
    wanted = [len(render(plan, limit=max(budget, 0), zone=zone)) + 2 for plan in plans]
    limits = _share_out(wanted, max(budget, 0))
    parts = [head]
    for plan, label, plan_limit in zip(plans, labels, limits, strict=True):
        parts.append(label + render(plan, limit=plan_limit, zone=zone) + "\n")
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
    parts = [
        f"{code(plan.spec_source, limit=60)}: {wording.status_word(plan).lower()}"
        for plan in plans[:MANY_LISTED]
    ]
    if len(plans) > MANY_LISTED:
        parts.append(f"and {len(plans) - MANY_LISTED:,} more")
    return f"**{status}** · {len(plans)} specs planned: " + ", ".join(parts) + "\n\n"


def _severity(plan: Plan) -> int:
    return 2 if plan.has_refusals else 1 if plan.has_changes else 0


def _summary(plan: Plan) -> str:
    targeted = wording.targeted_line(plan)
    partial = f"**{targeted}**\n\n" if targeted else ""  # right under the status line
    if not plan.has_changes and not plan.has_refusals:
        matches = "The targeted services match" if targeted else "The account matches"
        return f"**No changes.** {matches} the spec.\n\n" + partial
    money = billing.summary_line(plan)
    # Per currency, never added together; cut to one paragraph whatever the currencies.
    money_line = f"{text(money)}\n\n" if money else ""
    head = f"**{wording.status_word(plan)}** · {wording.summary_line(plan)}\n\n"
    return head + partial + money_line


def _origin(plan: Plan, zone: tzinfo | None) -> str:
    dates = "dates in UTC" if zone is None else f"dates in {zone_name(zone)}, judged in UTC"
    return (
        f"Spec {code(plan.spec_source)} ({code(wording.short_digest(plan.spec_digest))}) "
        f"on endpoint {code(plan.endpoint)}, planned at "
        f"{when_text(plan.created_at, zone)} (API clock); {text(dates)}.\n\n"
    ) + _deadline(plan, zone)


def _deadline(plan: Plan, zone: tzinfo | None) -> str:
    """By when a reviewed plan must be merged and applied: its first ``expires_at``."""
    timed = [(utc(a.expires_at), a) for a in plan.changes if a.expires_at is not None]
    if not timed:
        return ""
    when, first = min(timed, key=lambda pair: pair[0])
    return (
        f"**Merge and apply before {when_text(when, zone)}**: after that, apply "
        f"refuses the {text(first.action.value.replace('_', ' '))} of {code(first.service)} "
        "and the plan must be made and reviewed again.\n\n"
    )


def _truncation_note(sections: dict[str, _Section], left_out: dict[str, int]) -> str:
    parts = [
        f"{left_out[key]:,} of {sections[key].count:,} {sections[key].noun}"
        for key in _READING_ORDER
        if left_out.get(key)
    ]
    return (
        "> [!NOTE]\n> This comment is shortened to stay under GitHub's size limit. "
        f"Not shown: {', '.join(parts)}; {SEE_EVERYTHING}.\n\n"
    )


def _minimal(plan: Plan, limit: int) -> str:
    return shorten(
        f"{_summary(plan)}The details do not fit in a comment; {SEE_EVERYTHING}.\n", limit
    )


def _sections(plan: Plan, zone: tzinfo | None) -> dict[str, _Section]:
    changes = plan.changes
    money = billing.lines_by_action(plan, zone)  # once: rows are made on demand
    unchanged = [action for action in plan.actions if action.action is ActionKind.NO_OP]
    destructive = [a for a in changes if wording.irreversible_note(a, now=plan.created_at)]
    expiry = f"Expiry ({text(zone_name(zone))})"  # the zone the dates are shown in
    drift, unmanaged = plan.drift, plan.unmanaged

    def change_row(index: int) -> str:
        action = changes[index]
        return _change_row(action, plan, billing.line_for(money, action), zone)

    def drift_row(index: int) -> str:
        item = drift[index]
        return (
            f"| {code(item.service, in_table=True)} | {text(item.field)} | "
            f"{text(_value(item.spec))} | {text(_value(item.live))} |\n"
        )

    def unmanaged_row(index: int) -> str:
        item = unmanaged[index]
        elsewhere = "" if item.manageable else " (managed from its own interface)"
        return (
            f"| {code(item.name, in_table=True)} | {text(item.type)} | {item.service_id} | "
            f"{text(item.lifecycle)}{elsewhere} | {_expiry(item.expiration, zone)} |\n"
        )

    def unchanged_row(index: int) -> str:
        item = unchanged[index]
        return (
            f"| {code(item.service, in_table=True)} | {text(item.type or '')} | "
            f"{_expiry(item.expiration, zone)} | {prose(item.reason, NOTE_MAX, in_table=True)} |\n"
        )

    return {
        "changes": _table_section(
            "### Changes",
            f"| | Service | Type | Action | {expiry} | What happens |\n|:-:|---|---|---|---|---|\n",
            len(changes),
            change_row,
            "changes",
        ),
        "irreversible": _irreversible_section(destructive, plan.created_at, zone),
        "refused": _refused_section(plan, zone),
        "drift": _table_section(
            "Drift: where the account differs from the spec",
            "| Service | Field | Spec | Live |\n|---|---|---|---|\n",
            len(drift),
            drift_row,
            "drift rows",
            folded=True,
        ),
        "unmanaged": _table_section(
            "Not in the spec, left as they are",
            f"| Service | Type | Id | Lifecycle | {expiry} |\n|---|---|---|---|---|\n",
            len(unmanaged),
            unmanaged_row,
            "services not in the spec",
            folded=True,
        ),
        "unchanged": _table_section(
            "Unchanged: already as the spec says",
            f"| Service | Type | {expiry} | Note |\n|---|---|---|---|\n",
            len(unchanged),
            unchanged_row,
            "unchanged services",
            folded=True,
        ),
        "calls": _calls_section(changes),
    }


def _table_section(
    heading: str,
    header: str,
    count: int,
    row: Callable[[int], str],
    noun: str,
    *,
    folded: bool = False,
) -> _Section:
    """A table of ``count`` rows under ``heading``; ``folded``: inside a ``<details>``
    block whose summary counts the rows (a reviewer opens it when they want it)."""
    if folded:
        title = f"<details><summary>{heading} ({count:,})</summary>"
        note, tail = "Not shown", "\n</details>\n\n"
    else:
        title, note, tail = heading, f"{count:,} {noun} not shown", "\n"
    return _Section(
        noun=noun,
        count=count,
        row=row,
        head=f"{title}\n\n{header}",
        tail=tail,
        collapsed=lambda: f"{title}\n\n_{note}; {SEE_EVERYTHING}._\n{tail}",
    )


def _change_row(
    action: Action, plan: Plan, money: str | None = None, zone: tzinfo | None = None
) -> str:
    kind = action.action
    headline = kind.headline
    if kind is ActionKind.DELETE_NOW:
        headline = "**delete now**"
    what = text(wording.consequence(action, now=plan.created_at, zone=zone))
    if money is not None:
        what += f"<br>Billing: {text(money)}"
    symbol = code(kind.symbol, in_table=True)
    return (
        f"| {symbol} | {code(action.service, in_table=True)} | {text(action.type or '')} | "
        f"{headline} | {_expiry(action.expiration, zone)} | {what} |\n"
    )


def _irreversible_section(
    destructive: Sequence[Action], now: datetime, zone: tzinfo | None
) -> _Section:
    def row(index: int) -> str:
        action = destructive[index]
        note = wording.irreversible_note(action, now=now, zone=zone) or "irreversible"
        label = {
            ActionKind.DELETE_NOW: "deleted now",
            ActionKind.TERMINATE_AT_COMMITMENT_END: "deleted at the end of its commitment",
        }.get(action.action, "deleted at expiry")
        return f"> - {code(action.service)} (**{label}**): {text(note)}\n"

    title = "> [!CAUTION]\n> **Irreversible: data will be deleted**\n>\n"
    count = len(destructive)
    return _Section(
        noun="irreversible actions",
        count=count,
        row=row,
        head=title,
        omitted=lambda left: f">\n> _…and {left:,} more not shown; {SEE_EVERYTHING}._\n",
        collapsed=lambda: f"{title}> {count:,} irreversible actions; {SEE_EVERYTHING}.\n\n",
    )


def _refused_section(plan: Plan, zone: tzinfo | None) -> _Section:
    refused = plan.refused

    def row(index: int) -> str:
        refusal = refused[index]
        where = f" (#{refusal.service_id})" if refusal.service_id is not None else ""
        message, fix = wording.refusal_words(refusal, zone)
        return (
            f"- {code(refusal.service)}{where}: `{refusal.rule.value}`: "
            f"{prose(message)}\\\n  **Fix:** {prose(fix)}\n"
        )

    title = "### Refused\n\nNothing will be applied until the spec no longer asks for these.\n\n"
    count = len(refused)
    return _Section(
        noun="refusals",
        count=count,
        row=row,
        head=title,
        collapsed=lambda: f"{title}_{count:,} refusals; {SEE_EVERYTHING}._\n\n",
    )


def _calls_section(changes: Sequence[Action]) -> _Section:
    # Every line in the block starts with "# " or an HTTP method (control characters are
    # made visible by ``clean``), so no content line can close the ``` fence.
    def row(index: int) -> str:
        action = changes[index]
        lines = [f"# {shorten(clean(action.service), NAME_MAX)}"]
        lines += [shorten(clean(wording.call_text(call)), CALL_MAX) for call in action.calls]
        return "\n".join(lines) + "\n"

    count = sum(len(action.calls) for action in changes)
    title = f"<details><summary>API calls apply will make ({count:,})</summary>"
    return _Section(
        noun="changes' API calls",
        count=len(changes),
        row=row,
        head=f"{title}\n\n```\n",
        tail="```\n\n</details>\n\n",
        omitted=lambda left: f"# …and the calls of {left:,} more changes\n",
        collapsed=lambda: f"{title}\n\n_{count:,} calls; {SEE_EVERYTHING}._\n\n</details>\n\n",
    )


def _expiry(when: datetime | None, zone: tzinfo | None) -> str:
    return wording.day_text(when, zone) if when is not None else "—"


def _value(value: object) -> str:
    return "none" if value is None else str(value)
