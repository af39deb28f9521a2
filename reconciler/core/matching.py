"""Matching spec entries to live services: by name, narrowed by type; the links below a
service; the names to suggest for one that matches nothing (docs/user-guide.md,
"Service fields": a name and an optional ``type``). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.core.live import LiveAccount, LiveService
from reconciler.core.plan import Refusal
from reconciler.core.rules import ambiguous_service, type_mismatch
from reconciler.core.spec import ServiceSpec


@dataclass(frozen=True, slots=True)
class Match:
    """What one spec entry resolved to: a live service, nothing (absent), or a refusal.
    ``claimed`` are the live services the entry names (they are not "unmanaged")."""

    wanted: ServiceSpec
    service: LiveService | None = None
    claimed: tuple[LiveService, ...] = ()
    refusal: Refusal | None = None


def same_type(live_type: str, wanted_type: str) -> bool:
    """Types compare without their surrounding slashes: ``/hosting/web`` = ``hosting/web``."""
    return live_type.strip("/") == wanted_type.strip("/")


def match(wanted: ServiceSpec, account: LiveAccount) -> Match:
    """The live service ``wanted`` names (see the module docstring for the rules)."""
    named = account.named(wanted.name)
    if wanted.type is not None:
        typed = tuple(s for s in named if same_type(s.type, wanted.type))
        if named and not typed:
            return Match(wanted, claimed=named, refusal=type_mismatch(wanted, named))
        named = typed
    if not named:
        return Match(wanted)
    if len(named) == 1:
        return Match(wanted, service=named[0], claimed=named)
    alive = [service for service in named if not service.gone]
    if len(alive) == 1:
        return Match(wanted, service=alive[0], claimed=named)
    if not alive:  # all gone: the most recent one stands for them
        return Match(wanted, service=max(named, key=_order), claimed=named)
    return Match(wanted, claimed=named, refusal=ambiguous_service(wanted, alive))


def _order(service: LiveService) -> tuple[int, str, str]:
    return (service.service_id, service.type, service.name)


# --- links -----------------------------------------------------------------------------


def descendants(service: LiveService, account: LiveAccount) -> tuple[LiveService, ...]:
    """Every live, not yet gone service linked below ``service`` (children, their
    children...: ``account.child_ids``), sorted by id; safe against cycles."""
    seen = {service.service_id}
    found: list[LiveService] = []
    pending = list(account.child_ids(service.service_id))
    while pending:
        child_id = pending.pop()
        if child_id in seen:
            continue
        seen.add(child_id)
        child = account.by_id(child_id)
        if child is None:
            continue
        if not child.gone:
            found.append(child)
        pending.extend(account.child_ids(child_id))
    return tuple(sorted(found, key=_order))


class NearNames:
    """Names to suggest for one that matches nothing ("did you mean"), indexed on first
    use (only a name that matches nothing needs them): the names equal but for case,
    else the nearest by edit distance (at most ``NEAR_LISTED``). The planner's are the
    account's live names (``unknown-service``); the command line's, a spec's keys
    (``--target``)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = names
        self._folded: dict[str, set[str]] | None = None
        self._by_length: dict[int, list[str]] = {}

    def near(self, name: str) -> tuple[str, ...]:
        if self._folded is None:
            self._folded = {}
            for known in self._names:
                self._folded.setdefault(known.casefold(), set()).add(known)
            for folded_names in self._folded.values():
                for live_name in folded_names:
                    self._by_length.setdefault(len(live_name), []).append(live_name)
        same_but_case = self._folded.get(name.casefold(), set()) - {name}
        if same_but_case:
            return tuple(sorted(same_but_case))
        return self._nearest(name)

    def _nearest(self, name: str) -> tuple[str, ...]:
        # A typo is an edit or two (a swapped pair is two): one for a short name, two
        # from 12 characters. More would suggest a sibling (``www.`` for ``old.``).
        limit = 1 if len(name) < 12 else 2
        folded = name.casefold()
        found: list[tuple[int, str]] = []
        for length in range(len(name) - limit, len(name) + limit + 1):
            for candidate in self._by_length.get(length, ()):
                distance = edit_distance(folded, candidate.casefold(), limit)
                if distance is not None:
                    found.append((distance, candidate))
        return tuple(candidate for _, candidate in sorted(found)[:NEAR_LISTED])


NEAR_LISTED = 3


def edit_distance(a: str, b: str, limit: int) -> int | None:
    """The Levenshtein distance of ``a`` and ``b`` (insertions, deletions,
    substitutions), or ``None`` when it is more than ``limit``: a row-by-row computation
    that stops as soon as every cell of a row is past the limit."""
    if abs(len(a) - len(b)) > limit:
        return None
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, 1):
        current = [i]
        for j, right in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right))
            )
        if min(current) > limit:
            return None
        previous = current
    return previous[-1] if previous[-1] <= limit else None
