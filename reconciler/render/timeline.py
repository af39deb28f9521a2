"""A timeline of the deadlines a plan's changes depend on, for the pull-request comment (pure).

GitHub and GitLab draw a fenced ``mermaid`` block as a diagram; a reviewer sees at a
glance which dates the changes hang on: each changed service's **expiry**, the **last
moment to cancel** a termination (the one the plan cancels, or the one it sets: 24 hours
before it takes effect), and the day its **commitment ends**. The diagram is a gantt
chart of milestones, one section per service, in the order of their first deadline.

Shown only when there is at least one such date, and cut to a budget given by the
caller (the comment's size limit is the markdown renderer's): whole sections are left
out, with a line saying how many, rather than a diagram broken mid-line.

**Hostile names.** Service names come from specs and from the API. Mermaid has its own
syntax (``:`` ends a task's name, ``%%`` starts a directive, ``#`` an entity), so a name
is reduced to letters, digits and ``. _ - /`` before it enters the diagram; the comment's
table shows it verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from enum import StrEnum

from reconciler.core.plan import Action, ActionKind, Plan
from reconciler.core.rules import CANCEL_WINDOW
from reconciler.times import in_zone, utc, zone_name

# Longest a service name may be in the diagram (the table below it has the full name).
NAME_MAX = 60
# A diagram over more services than this is no longer read at a glance.
MAX_SERVICES = 25
# The timeline's share of a comment: at most this many characters, and at most a tenth of
# the comment's limit, so that it never crowds out the table of changes or the refusals.
MAX_CHARS = 4_000
SHARE_OF_LIMIT = 10
# Characters a name keeps in the diagram; any other becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._/-]")


class MilestoneKind(StrEnum):
    EXPIRY = "expiry"
    CANCEL_BY = "last moment to cancel"
    COMMITMENT_END = "commitment ends"


@dataclass(frozen=True, slots=True)
class Milestone:
    service: str  # the spec key, as the comment's table names the service
    kind: MilestoneKind
    at: datetime  # UTC
    # False for a day without a time (a commitment's end date, as OVH gives it).
    timed: bool = True


def milestones(actions: Iterable[Action]) -> tuple[Milestone, ...]:
    """The deadlines of the changes among ``actions`` (no_op ones have none), in time order.

    The last moment to cancel is the saved action's own deadline for a cancellation
    (``expires_at``: 24 hours before the termination it cancels); for a termination at
    expiry the plan sets, 24 hours before that expiry. A termination at the end of a
    commitment is shown by the commitment's end day: its exact instant is OVH's to set."""
    found: list[Milestone] = []
    for action in actions:
        if action.action is ActionKind.NO_OP:
            continue
        if action.expiration is not None:
            found.append(Milestone(action.service, MilestoneKind.EXPIRY, utc(action.expiration)))
        cancel_by = _cancel_by(action)
        if cancel_by is not None:
            found.append(Milestone(action.service, MilestoneKind.CANCEL_BY, cancel_by))
        if action.commitment_ends is not None:
            day = datetime.combine(action.commitment_ends, time(0), tzinfo=UTC)
            found.append(Milestone(action.service, MilestoneKind.COMMITMENT_END, day, timed=False))
    return tuple(sorted(found, key=lambda m: (m.at, m.service, m.kind.value)))


def _cancel_by(action: Action) -> datetime | None:
    if action.action is ActionKind.CANCEL_TERMINATION and action.expires_at is not None:
        return utc(action.expires_at)
    if action.action is ActionKind.TERMINATE_AT_EXPIRY and action.expiration is not None:
        return utc(action.expiration) - CANCEL_WINDOW
    return None


def render_timeline(plan: Plan, *, limit: int, zone: tzinfo | None = None) -> str:
    """The timeline for a comment of at most ``limit`` characters: a markdown block of at
    most ``min(MAX_CHARS, limit // SHARE_OF_LIMIT)`` characters ending with a blank line,
    or ``""`` when the changes depend on no date or not even one service fits. Instants
    are drawn in UTC, or in the display ``zone`` (the head names it); a commitment's end
    is a day, drawn as that day in any zone."""
    budget = min(MAX_CHARS, limit // SHARE_OF_LIMIT)
    found = milestones(plan.changes)
    if not found:
        return ""
    by_service: dict[str, list[Milestone]] = {}
    for milestone in found:  # in time order: services come in the order of their first
        by_service.setdefault(milestone.service, []).append(milestone)
    sections = [_section(service, items, zone) for service, items in by_service.items()]
    head = (
        f"**Deadlines the changes depend on** ({zone_name(zone)}):\n\n"
        "```mermaid\n"
        "gantt\n"
        "    dateFormat YYYY-MM-DD HH:mm\n"
        "    axisFormat %Y-%m-%d\n"
        "    todayMarker off\n"
    )
    tail = "```\n\n"
    for count in range(min(len(sections), MAX_SERVICES), 0, -1):
        left_out = len(sections) - count
        note = (
            f"_…and {left_out:,} more services with deadlines not drawn; the table lists "
            "every change with its expiry._\n\n"
            if left_out
            else ""
        )
        block = head + "".join(sections[:count]) + tail + note
        if len(block) <= budget:
            return block
    return ""


def _section(service: str, items: Sequence[Milestone], zone: tzinfo | None) -> str:
    lines = [f"    section {diagram_name(service)}\n"]
    for item in items:
        at = in_zone(item.at, zone) if item.timed else item.at
        stamp = at.strftime("%Y-%m-%d %H:%M")
        # ":" ends a task's name in mermaid: the time is written 12h00 in the name.
        shown = at.strftime("%Y-%m-%d %Hh%M") if item.timed else at.strftime("%Y-%m-%d")
        lines.append(f"    {item.kind.value} {shown} : milestone, {stamp}, 0d\n")
    return "".join(lines)


def diagram_name(name: str) -> str:
    """A name as it may stand in a mermaid diagram: safe characters only, shortened."""
    safe = _UNSAFE.sub("_", name)
    if len(safe) > NAME_MAX:
        safe = safe[: NAME_MAX - 1] + "…"
    return safe or "_"
