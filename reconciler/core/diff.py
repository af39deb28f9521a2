"""The essence of a service, and the diff between what the spec wants and what is live.

Only an *essence* of a service is compared, never the whole API object: what a spec can
say about it. An essence is ``{"lifecycle": ..., "period": ...}``:

``lifecycle``
    ``renew`` (automatic renewal, no termination pending), ``manual_renew`` (renewal by
    hand, no termination pending: the service expires unless someone pays),
    ``terminate_at_expiry``, ``terminate_at_commitment_end``, ``deleted`` (terminated,
    resource deleted or being deleted, expired, or absent from the account), and
    ``not_understood`` (a live state reconciler does not recognise: equal to nothing a
    spec can want). A spec's ``renew`` means *automatic* renewal, so a
    manual-renew service differs from it and the planner switches it to automatic;
    ``renew`` with ``mode: manual`` wants ``manual_renew``, which a live manual renewal
    matches (and an automatic one is switched to).
``period``
    The renewal period as an ISO 8601 duration (``P1M``, ``P12M``), ``None`` when
    unknown, and always ``None`` once the service is gone (nothing renews any more).
    Years are written in months (``P1Y`` → ``P12M``), as the API writes them.

The wanted essence keeps the live period unless the spec gives one (a spec without
``period`` does not manage the renewal frequency), and the period only matters to
``renew``: a spec's period on another lifecycle is ignored. A ``terminate_at_expiry``
or ``delete_now`` whose service is already gone is satisfied: its wanted essence is the
gone essence, so it diffs to nothing.

An essence is a flat record of three fields, so ``changes`` compares them field by
field into the project's own frozen ``Change`` values. deepdiff, which did that
comparison before, cost a sixth of a 1,000-service plan's CPU after its first request
in its import alone (16 ms, issue 19) for a diff of three strings. It earns its place
where the values are deep: ``service_moves`` says which of a service's fields moved
between two reads (commitment, pending actions, price...), which apply prints when a
service changed under it; it is imported there, off the planning path. deepdiff
objects never leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from functools import lru_cache
from typing import Any

from reconciler.core.lifecycle import (
    CommitmentEnd,
    EssenceLifecycle,
    Lifecycle,
    LiveLifecycle,
    RenewMode,
)
from reconciler.core.live import LiveService
from reconciler.core.periods import InvalidPeriod, parse_period
from reconciler.core.spec import ServiceSpec

__all__ = [
    "GONE",
    "Change",
    "ChangeOp",
    "Essence",
    "EssenceLifecycle",
    "changes",
    "live_end_rule",
    "live_essence",
    "normalise_period",
    "service_moves",
    "wanted_essence",
]


@dataclass(frozen=True, slots=True)
class Essence:
    """What a spec can say about a service: its lifecycle and renewal period."""

    lifecycle: EssenceLifecycle
    period: str | None = None
    # The commitment's end rule as the spec words it (``recommit``...), only where the
    # spec states one: a spec without ``commitment_end`` does not manage the end rule,
    # so neither side of its diff carries it. ``other:STRATEGY`` on the live side when
    # the end rule is not one a spec can state (CANCEL_SERVICE, none, an unknown one).
    commitment_end: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The essence as the plan shows it (``before`` / ``after``), keys in fixed order;
        ``commitment_end`` only when the spec manages it."""
        shown = {"lifecycle": self.lifecycle.value, "period": self.period}
        if self.commitment_end is not None:
            shown["commitment_end"] = self.commitment_end
        return shown

    @property
    def gone(self) -> bool:
        return self.lifecycle is EssenceLifecycle.DELETED

    @property
    def manual(self) -> bool:
        """Renewed by hand (no termination pending)."""
        return self.lifecycle is EssenceLifecycle.MANUAL_RENEW


GONE = Essence(EssenceLifecycle.DELETED, None)

_LIVE_TO_ESSENCE: dict[LiveLifecycle, EssenceLifecycle] = {
    LiveLifecycle.RENEW: EssenceLifecycle.RENEW,
    LiveLifecycle.MANUAL_RENEW: EssenceLifecycle.MANUAL_RENEW,
    LiveLifecycle.TERMINATE_AT_EXPIRY: EssenceLifecycle.TERMINATE_AT_EXPIRY,
    LiveLifecycle.TERMINATE_AT_COMMITMENT_END: EssenceLifecycle.TERMINATE_AT_COMMITMENT_END,
    LiveLifecycle.EXPIRED: EssenceLifecycle.DELETED,
    LiveLifecycle.BEING_DELETED: EssenceLifecycle.DELETED,
    LiveLifecycle.TERMINATED: EssenceLifecycle.DELETED,
    LiveLifecycle.NOT_UNDERSTOOD: EssenceLifecycle.NOT_UNDERSTOOD,
}


@lru_cache(maxsize=1024)
def normalise_period(period: str | None) -> str | None:
    """A period as the API writes it (``reconciler.core.periods``): ``P1Y`` → ``P12M``. A text
    that is no whole-month period is kept as it is (stripped), so that it still differs
    from every real period; ``None`` and the empty string are unknown (``None``).
    Memoised: a pure function of a handful of distinct texts per account."""
    if period is None or not period.strip():
        return None
    try:
        return str(parse_period(period))
    except InvalidPeriod:
        return period.strip()


def live_essence(service: LiveService | None, *, with_end_rule: bool = False) -> Essence:
    """The essence of a live service; ``None`` (not on the account) is gone.
    ``with_end_rule``: with its commitment's end rule, for a spec that states one."""
    if service is None or service.gone:
        return GONE
    return Essence(
        _LIVE_TO_ESSENCE[service.lifecycle],
        normalise_period(service.renew_period),
        live_end_rule(service) if with_end_rule else None,
    )


def live_end_rule(service: LiveService) -> str:
    """The service's end rule in the spec's words, or ``other:STRATEGY`` for one a spec
    cannot state (``other:none`` with no commitment or no end rule): it equals no wanted
    ``commitment_end``, so a spec stating one is a change (and the rules judge it)."""
    commitment = service.commitment
    strategy = commitment.strategy if commitment is not None else None
    if strategy is None:
        return "other:none"
    end = CommitmentEnd.of_strategy(strategy.value)
    return end.value if end is not None else f"other:{strategy.value}"


def wanted_essence(
    wanted: ServiceSpec, live: LiveService | None, *, current: Essence | None = None
) -> Essence:
    """The essence the spec entry asks for, given the live service it matched (if any).
    ``current``: ``live_essence(live)`` when the caller has it already (with or without
    its end rule: only its lifecycle and period count here)."""
    if current is None:
        current = live_essence(live)
    if wanted.lifecycle is Lifecycle.RENEW:
        period = normalise_period(wanted.period) or current.period
        end = wanted.commitment_end.value if wanted.commitment_end is not None else None
        if wanted.mode is RenewMode.MANUAL:
            return Essence(EssenceLifecycle.MANUAL_RENEW, period, end)
        return Essence(EssenceLifecycle.RENEW, period, end)
    if current.gone:  # terminated at expiry or deleted now: either way, done
        return GONE
    if wanted.lifecycle is Lifecycle.TERMINATE_AT_EXPIRY:
        return Essence(EssenceLifecycle.TERMINATE_AT_EXPIRY, current.period)
    if wanted.lifecycle is Lifecycle.TERMINATE_AT_COMMITMENT_END:
        return Essence(EssenceLifecycle.TERMINATE_AT_COMMITMENT_END, current.period)
    return GONE  # delete_now


class ChangeOp(StrEnum):
    CHANGED = "changed"  # the field has another value (or another type: None → "P1M")
    ADDED = "added"  # the field exists only on the wanted side
    REMOVED = "removed"  # the field exists only on the live side


@dataclass(frozen=True, slots=True)
class Change:
    """One field where the live essence differs from the wanted one."""

    field: str  # "lifecycle" | "period"
    before: Any  # the live value
    after: Any  # the wanted value
    op: ChangeOp = ChangeOp.CHANGED


def changes(live: Essence, wanted: Essence) -> tuple[Change, ...]:
    """Every field where ``live`` differs from ``wanted``, sorted by field; empty when
    they match."""
    if live == wanted:
        return ()
    return _changes(live, wanted)


@lru_cache(maxsize=4096)
def _changes(live: Essence, wanted: Essence) -> tuple[Change, ...]:
    # A pure function of two small frozen values: memoising it is safe, and bounded.
    before, after = live.as_dict(), wanted.as_dict()
    found: list[Change] = []
    for field in sorted(before.keys() | after.keys()):
        if field not in after:
            found.append(Change(field, before[field], None, ChangeOp.REMOVED))
        elif field not in before:
            found.append(Change(field, None, after[field], ChangeOp.ADDED))
        elif before[field] != after[field]:
            found.append(Change(field, before[field], after[field]))
    return tuple(found)


# deepdiff's report names, as our operations.
_OPS: dict[str, ChangeOp] = {
    "values_changed": ChangeOp.CHANGED,
    "type_changes": ChangeOp.CHANGED,
    "dictionary_item_added": ChangeOp.ADDED,
    "dictionary_item_removed": ChangeOp.REMOVED,
    "iterable_item_added": ChangeOp.ADDED,
    "iterable_item_removed": ChangeOp.REMOVED,
    "attribute_added": ChangeOp.ADDED,
    "attribute_removed": ChangeOp.REMOVED,
}


def service_moves(before: LiveService, after: LiveService) -> tuple[Change, ...]:
    """Every field of a service that differs between two reads of it (``before`` the
    earlier), down to nested values (``commitment.end_date``, ``pending_actions[0]``),
    sorted by field; empty when the reads are equal. For messages: it says what moved,
    never whether an action may go on (the fingerprint decides that)."""
    if before == after:
        return ()
    from deepdiff import DeepDiff  # off the planning path: see the module's docstring

    tree = DeepDiff(_fields_of(before), _fields_of(after), view="tree")
    found: list[Change] = []
    for report, levels in tree.items():
        op = _OPS.get(report, ChangeOp.CHANGED)
        for level in levels:
            field = _dotted(level.path(output_format="list"))
            before_value = None if op is ChangeOp.ADDED else level.t1
            after_value = None if op is ChangeOp.REMOVED else level.t2
            found.append(Change(field=field, before=before_value, after=after_value, op=op))
    return tuple(sorted(found, key=lambda change: change.field))


def _dotted(parts: list[str | int]) -> str:
    # ["commitment", "end_date"] -> "commitment.end_date"; ["pending_actions", 0] ->
    # "pending_actions[0]"
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _fields_of(value: Any) -> Any:
    # The service's fields as plain dicts and lists (a dataclass's slots are no mapping
    # to deepdiff), enums and instants kept as the values they are.
    if hasattr(value, "__dataclass_fields__"):
        return {field.name: _fields_of(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, tuple):
        return [_fields_of(item) for item in value]
    return value
