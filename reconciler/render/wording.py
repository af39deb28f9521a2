"""The words of a plan, shared by the text and markdown renderers.

A plan earns trust by saying exactly what will happen, in words, and by naming what is
irreversible. Those sentences are written once, here, so a terminal, a CD log and a
pull-request comment never disagree. Everything is a pure function of the plan's values:
no clock is read (deadlines are compared with ``plan.created_at``, the API's time when
the plan was computed).

Dates are shown in UTC unless the caller gives a display zone (``zone``, from ``--tz``;
``reconciler.times`` formats them): ``2027-03-01`` when a date falls at midnight, else
``2027-03-01 09:30 UTC``; deadlines always with their time (``2027-02-28 00:00 UTC``,
``2027-02-28 01:00 CET``). The zone changes the words only: deadlines are computed in UTC.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from reconciler.core.lifecycle import EssenceLifecycle
from reconciler.core.periods import Period, months_of
from reconciler.core.plan import Action, ActionKind, Call, Plan, Refusal
from reconciler.core.rules import CANCEL_WINDOW
from reconciler.times import phrase_shown, shown_day, utc, when_text

REFUSED_SYMBOL = "x"  # beside ActionKind.symbol: a refused change

# The order kinds are counted in the summary line and listed in legends.
SUMMARY_ORDER: tuple[tuple[ActionKind, str], ...] = (
    (ActionKind.TERMINATE_AT_EXPIRY, "to terminate at expiry"),
    (ActionKind.TERMINATE_AT_COMMITMENT_END, "to terminate at commitment end"),
    (ActionKind.CANCEL_TERMINATION, "to cancel"),
    (ActionKind.DELETE_NOW, "to delete now"),
    (ActionKind.SET_RENEW, "to change renewal"),
)

NO_CHANGES = "No changes. The account matches the spec."
NO_CHANGES_TARGETED = "No changes. The targeted services match the spec."

# How a compared lifecycle (a change's before and after) reads in a sentence.
_LIFECYCLE_WORDS: Mapping[EssenceLifecycle, str] = {
    EssenceLifecycle.RENEW: "automatic renewal",
    EssenceLifecycle.MANUAL_RENEW: "manual renewal",
    EssenceLifecycle.TERMINATE_AT_EXPIRY: "termination at expiry",
    EssenceLifecycle.TERMINATE_AT_COMMITMENT_END: "termination at the end of the commitment",
    EssenceLifecycle.DELETED: "deleted",
    EssenceLifecycle.NOT_UNDERSTOOD: "a state reconciler does not understand",
}


# ---------------------------------------------------------------------------------------
# Counting and status


def counts(plan: Plan) -> dict[ActionKind, int]:
    """How many actions of each kind the plan holds (every kind present, zeros too).
    Counted from the actions themselves rather than trusting ``plan.summary``."""
    counted = Counter(action.action for action in plan.actions)
    return {kind: counted.get(kind, 0) for kind in ActionKind}


def summary_line(plan: Plan) -> str:
    """``Plan: 2 to terminate at expiry, 1 to cancel, 1 to delete now, 1 to change
    renewal, 0 refused.`` (``N to terminate at commitment end`` after the first part when
    N > 0) — or ``No changes. The account matches the spec.``"""
    if not plan.has_changes and not plan.has_refusals:
        return NO_CHANGES_TARGETED if plan.targeted else NO_CHANGES
    counted = counts(plan)
    # Terminations at the end of a commitment are counted only when there are some: the
    # line keeps the shape scripts and reviewers know for every other plan.
    parts = [
        f"{counted[kind]:,} {words}"
        for kind, words in SUMMARY_ORDER
        if counted[kind] or kind is not ActionKind.TERMINATE_AT_COMMITMENT_END
    ]
    return "Plan: " + ", ".join(parts) + f", {len(plan.refused):,} refused."


def targeted_line(plan: Plan) -> str | None:
    """``Targeted plan: 2 of 14 services; the others were not compared.`` for a plan made
    with ``--target`` (Terraform's habit: a partial plan says so wherever it is shown)."""
    if plan.targets is None:
        return None
    total = len(plan.spec)
    return (
        f"Targeted plan: {len(plan.targets):,} of {total:,} service{'s' * (total != 1)}; "
        "the others were not compared."
    )


def status_word(plan: Plan) -> str:
    """One word for the state of a plan: Refused, Changes or No changes."""
    if plan.has_refusals:
        return "Refused"
    if plan.has_changes:
        return "Changes"
    return "No changes"


# ---------------------------------------------------------------------------------------
# Dates, periods, lifecycles


def refusal_words(refusal: Refusal, zone: tzinfo | None = None) -> tuple[str, str]:
    """A refusal's message and fix with their dates in the display ``zone`` (the texts
    as written, in UTC, without one). The rules word them at plan time and keep their
    instants typed (``Refusal.message_phrase``); a refusal read from a plan file has
    only its texts, which are then shown as they are."""
    return (
        phrase_shown(refusal.message, refusal.message_phrase, zone),
        phrase_shown(refusal.fix, refusal.fix_phrase, zone),
    )


def day_text(when: datetime, zone: tzinfo | None = None) -> str:
    """A date, with its time only when it is not midnight (UTC, or ``zone``):
    ``2027-03-01``."""
    return shown_day(utc(when), zone)


def period_text(period: object) -> str:
    """A renewal period in words: ``P1M`` → ``every month (P1M)``; a text that is no
    period (an odd API answer) as it is."""
    if period is None:
        return "the current period"
    text = str(period)
    months = months_of(text)
    return text if months is None else f"{Period(months).words} ({text})"


def lifecycle_text(lifecycle: EssenceLifecycle) -> str:
    return _LIFECYCLE_WORDS[lifecycle]


# ---------------------------------------------------------------------------------------
# What happens, in words


def consequence(action: Action, *, now: datetime, zone: tzinfo | None = None) -> str:
    """What applying ``action`` does, in words, irreversible effects named. ``now`` is
    when the plan was computed (deadlines already past are said to be past).

    These words are the renderers' own, the same for every plan, so that the callouts
    of irreversible effects never depend on how a reason was phrased; the planner's
    ``reason`` stays in the plan JSON (and explains no-ops)."""
    kind = action.action
    if kind is ActionKind.TERMINATE_AT_EXPIRY:
        return _terminate_words(action, now, zone)
    if kind is ActionKind.TERMINATE_AT_COMMITMENT_END:
        return (
            "terminated at the end of its commitment: its data is deleted irreversibly then"
            + _linked_words(action, "terminated")
        )
    if kind is ActionKind.DELETE_NOW:
        return _delete_words(action, zone)
    if kind is ActionKind.CANCEL_TERMINATION:
        return _cancel_words(action, zone)
    if kind is ActionKind.SET_RENEW:
        return _renew_words(action)
    return "nothing to do: already as the spec says"


def irreversible_note(action: Action, *, now: datetime, zone: tzinfo | None = None) -> str | None:
    """The irreversible part of an action, on its own (for call-out blocks), or None
    when the action deletes nothing."""
    if action.action is ActionKind.DELETE_NOW:
        return (
            "deleted as soon as the plan is applied: its data is deleted irreversibly, "
            "no refund" + _linked_words(action, "deleted")
        )
    if action.action is ActionKind.TERMINATE_AT_EXPIRY:
        return (
            f"terminated and its data deleted irreversibly at expiry{_on_expiry(action, zone)}; "
            + _cancel_deadline(action, now, zone)
            + _linked_words(action, "terminated")
        )
    if action.action is ActionKind.TERMINATE_AT_COMMITMENT_END:
        return (
            "terminated and its data deleted irreversibly at the end of its commitment"
            + _linked_words(action, "terminated")
        )
    if action.irreversible:
        return "irreversible"
    return None


def _terminate_words(action: Action, now: datetime, zone: tzinfo | None) -> str:
    # A service renewed by hand has no automatic renewal to stop: it simply ends.
    stops = (
        "no longer renewed by hand"
        if action.before.lifecycle is EssenceLifecycle.MANUAL_RENEW
        else "automatic renewal stops"
    )
    return (
        f"{stops}; terminated and its data deleted irreversibly at expiry"
        f"{_on_expiry(action, zone)}; {_cancel_deadline(action, now, zone)}"
        + _linked_words(action, "terminated")
    )


def _delete_words(action: Action, zone: tzinfo | None) -> str:
    expiration = action.expiration
    before = f", before its expiry on {day_text(expiration, zone)}" if expiration else ""
    return (
        f"deleted as soon as the plan is applied{before}: its data is deleted irreversibly, "
        "no refund; OVH e-mails a confirmation token, which apply reads and uses"
        + _linked_words(action, "deleted")
    )


def _cancel_words(action: Action, zone: tzinfo | None) -> str:
    period = action.after.period
    every = f", {period_text(period)}" if period else ""
    deadline = ""
    if action.expires_at is not None:
        deadline = f"; must be applied before {when_text(action.expires_at, zone)}"
        if action.before.lifecycle is EssenceLifecycle.TERMINATE_AT_COMMITMENT_END:
            deadline += " (24 hours before the termination at the end of its commitment)"
        elif action.expiration is not None:
            deadline += f" (24 hours before expiry on {day_text(action.expiration, zone)})"
    if action.after.lifecycle is EssenceLifecycle.MANUAL_RENEW:
        return (
            f"termination cancelled: kept, renewed by hand{every} (it expires unless paid); "
            f"nothing is deleted{deadline}"
        )
    return (
        f"termination cancelled: renews automatically again{every}, billed at each renewal; "
        f"nothing is deleted{deadline}"
    )


def _renew_words(action: Action) -> str:
    changes = []
    before_life, after_life = action.before.lifecycle, action.after.lifecycle
    if before_life != after_life:
        changes.append(f"{lifecycle_text(before_life)} → {lifecycle_text(after_life)}")
    before_period, after_period = action.before.period, action.after.period
    if after_period is not None and before_period != after_period:
        changes.append(f"{period_text(before_period)} → {period_text(after_period)}")
    before_end, after_end = action.before.commitment_end, action.after.commitment_end
    if after_end is not None and before_end != after_end:
        was = (before_end or "other:none").removeprefix("other:")
        changes.append(f"at the commitment's end: {was} → {after_end}")
    what = "; ".join(changes) if changes else "renewal settings set as the spec says"
    return f"renewal changed: {what}; nothing is deleted"


def _on_expiry(action: Action, zone: tzinfo | None) -> str:
    return f" on {day_text(action.expiration, zone)}" if action.expiration else " (date unknown)"


def _cancel_deadline(action: Action, now: datetime, zone: tzinfo | None) -> str:
    if action.expiration is None:
        return "can be cancelled until 24 hours before expiry"
    deadline = utc(action.expiration) - CANCEL_WINDOW
    if deadline <= utc(now):
        return f"cannot be cancelled any more (the deadline was {when_text(deadline, zone)})"
    return f"can be cancelled until {when_text(deadline, zone)}"


def _linked_words(action: Action, verb: str) -> str:
    if not action.linked:
        return ""
    return f"; linked services {verb} with it: {', '.join(action.linked)}"


# ---------------------------------------------------------------------------------------
# Calls, identities, sanitising


def call_text(call: Call) -> str:
    """``PUT /services/1 {"terminationPolicy":"empty"}``: compact and exact."""
    return call.text()


def identity(action: Action) -> str:
    """What identifies the live service: its type and its internal id."""
    parts = [part for part in (action.type, _id_text(action.service_id)) if part]
    if action.name != action.service:
        parts.insert(0, f"name {action.name}")
    return ", ".join(parts)


def _id_text(service_id: int | None) -> str | None:
    return None if service_id is None else f"#{service_id}"


def by_type(types: Iterable[str]) -> str:
    """``3 domain, 1 vps`` — most frequent first, then by name."""
    counted = Counter(types)
    ordered = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count:,} {name}" for name, count in ordered)


def clean(text: object) -> str:
    """``text`` with every control or invisible formatting character made visible.

    Service names come from the API and from specs; a name holding a newline, an ANSI
    escape or a right-to-left override must not rewrite the lines around it (or forge
    a line of the plan) on a terminal or in a log.
    """
    value = str(text)
    if value.isprintable():
        return value
    return "".join(
        char
        if char.isprintable() or char == " "
        else (
            f"\\x{ord(char):02x}"
            if ord(char) < 0x100
            else f"\\u{ord(char):04x}"
            if ord(char) < 0x10000
            else f"\\U{ord(char):08x}"
        )
        for char in value
    )


def short_digest(digest: str) -> str:
    """``sha256:1f2e3d4c5b6a`` — enough of a digest to recognise it."""
    algorithm, sep, hexdigest = digest.partition(":")
    return f"{algorithm}:{hexdigest[:12]}" if sep and len(hexdigest) > 12 else digest


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def before_after(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``lifecycle: renew → terminate_at_expiry, period: P1M → P12M`` for fields that
    differ (the plan's essences)."""
    keys = [key for key in (*before, *(k for k in after if k not in before))]
    parts = [
        f"{key}: {before.get(key)} → {after.get(key)}"
        for key in keys
        if before.get(key) != after.get(key)
    ]
    return ", ".join(parts)
