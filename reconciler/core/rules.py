"""The lifecycle rules (DESIGN §4): every change is judged before it is planned.

Each rule is a pure function with a stable code (``plan.RuleCode``) that returns a
``Refusal`` (what is refused and why, with dates, and the fix) or ``None``. Time is a
parameter: the planner passes the clock's ``now`` at plan time, and apply calls the
same rules again with the clock at apply time, one service at a time, through
``check(proposal, now=...)``.

Two kinds of rules:

- *Proposal rules* judge one change the planner means to make to one live service
  (a ``Proposal``): ``unmanageable-service``, ``already-terminated``,
  ``delete-now-web-hosting-only``, ``protected``, ``unpaid-service``,
  ``cancel-window-closed``, ``period-not-offered``, ``linked-service-conflict``.
  A ``no_op`` is never refused: rules judge changes, and a spec entry that already
  matches the account (even for a telecom service, or an unpaid one) has nothing to
  refuse.
- *Matching rules* say why a spec entry has no single live service to judge:
  ``unknown-service``, ``ambiguous-service``, ``type-mismatch``; and
  ``unmanaged-service`` for a live service the spec does not name (``unmanaged: error``).

``check`` reports every proposal rule a change breaks, so that one plan shows
everything to fix, except behind two gates that make the others moot: an unmanageable
service (manage it elsewhere) and a service already gone (nothing can change it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.core.catalog import WEB_HOSTING, product_of
from reconciler.core.diff import normalise_period
from reconciler.core.lifecycle import Lifecycle
from reconciler.core.live import LiveLifecycle, LiveService
from reconciler.core.periods import MAX_MONTHS, InvalidPeriod, parse_period
from reconciler.core.plan import ActionKind, Refusal, RuleCode
from reconciler.core.spec import ServiceSpec

# A termination can be cancelled until 24 hours before expiry, not later (DESIGN §1).
CANCEL_WINDOW = timedelta(hours=24)


_DESTRUCTIVE = (ActionKind.TERMINATE_AT_EXPIRY, ActionKind.DELETE_NOW)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A change the planner means to make to one live service, as the rules judge it.

    ``action`` is ``None`` when no API call can bring the service where the spec wants
    it (renewing a service that is already gone). ``period`` is the renewal period the
    change sets *because the spec asks for it* (``None`` when the period is not part
    of the change). ``kept`` are the linked descendants of the service that the spec
    wants to keep (lifecycle ``renew``) — they would go along with a termination.
    """

    wanted: ServiceSpec
    live: LiveService
    action: ActionKind | None
    period: str | None = None
    kept: tuple[LiveService, ...] = ()


ProposalRule = Callable[[Proposal, datetime], Refusal | None]


# --- dates, in words -------------------------------------------------------------------


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def utc(when: datetime) -> datetime:
    """``when`` in UTC. ``LiveService`` promises aware datetimes; a naive one (a parser
    bug) is read as UTC rather than crashing a plan, and an instant beyond what datetime
    holds in UTC (year 1 east of Greenwich, year 9999 west) is clamped to its limit."""
    if when.tzinfo is None or when.utcoffset() is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        return _EARLIEST if when.year == datetime.min.year else _LATEST


def when_text(when: datetime) -> str:
    """A date as messages show it: ``2027-03-01 00:00 UTC`` (seconds when not zero)."""
    moment = utc(when)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")


def expiry_of(service: LiveService) -> datetime | None:
    """The service's expiry: ``billing.expirationDate``, else its termination date (the
    API sets it to the expiry when a termination at expiry is pending)."""
    found = service.expiration or service.termination_date
    return utc(found) if found is not None else None


def cancel_deadline(service: LiveService) -> datetime | None:
    """The last instant (excluded) a pending termination can be cancelled: expiry − 24 h.
    ``None`` when the expiry is unknown (the API still enforces its own limit)."""
    expiry = expiry_of(service)
    if expiry is None:
        return None
    try:
        return expiry - CANCEL_WINDOW
    except OverflowError:  # an expiry in year 1: the window closed long ago
        return _EARLIEST


def describe(service: LiveService) -> str:
    """``www.example.com (hosting/web, id 42)``."""
    return f"{service.name} ({service.type}, id {service.service_id})"


# --- proposal rules --------------------------------------------------------------------


def _refuse(proposal: Proposal, rule: RuleCode, message: str, fix: str) -> Refusal:
    return Refusal(
        service=proposal.wanted.key,
        service_id=proposal.live.service_id,
        rule=rule,
        message=message,
        fix=fix,
    )


def _is_change(proposal: Proposal) -> bool:
    return proposal.action is not ActionKind.NO_OP


def unmanageable_service(proposal: Proposal, now: datetime) -> Refusal | None:
    """Telecom, Microsoft and MX Plan services are not managed from "Gérer mes services":
    a change to one is refused; a spec entry that already matches is left alone."""
    live = proposal.live
    if live.manageable or not _is_change(proposal):
        return None
    what = product_of(live.type).described
    return _refuse(
        proposal,
        RuleCode.UNMANAGEABLE_SERVICE,
        f"{describe(live)} is {what}; its lifecycle cannot be changed from here "
        f"(the spec asks {proposal.wanted.lifecycle.value})",
        "manage it from its own interface in the OVHcloud control panel, and drop it "
        "from the spec (or state the lifecycle it already has)",
    )


def already_terminated(proposal: Proposal, now: datetime) -> Refusal | None:
    """A terminated, deleted or expired service cannot be renewed or changed."""
    live = proposal.live
    if not _is_change(proposal) or (proposal.action is not None and not live.gone):
        return None
    state = "expired" if live.lifecycle is LiveLifecycle.EXPIRED else "terminated"
    since = ""
    ended = live.termination_date or live.expiration
    if ended is not None:
        since = f" (since {when_text(ended)})"
    return _refuse(
        proposal,
        RuleCode.ALREADY_TERMINATED,
        f"{describe(live)} is already {state}{since}; it cannot be "
        f"{'renewed' if proposal.wanted.lifecycle is Lifecycle.RENEW else 'changed'}",
        "order the service again if it is still needed, then plan again; or set "
        f"`lifecycle: terminate_at_expiry` for {proposal.wanted.key} (or drop it) to accept it "
        "is gone",
    )


def delete_now_web_hosting_only(proposal: Proposal, now: datetime) -> Refusal | None:
    """Immediate deletion exists for web hosting only."""
    live = proposal.live
    if proposal.action is not ActionKind.DELETE_NOW or product_of(live.type).immediate_deletion:
        return None
    return _refuse(
        proposal,
        RuleCode.DELETE_NOW_WEB_HOSTING_ONLY,
        f"{describe(live)} cannot be deleted now: immediate deletion exists for web "
        f"hosting ({WEB_HOSTING.type}) only",
        f"use `lifecycle: terminate_at_expiry` for {proposal.wanted.key}: it is then "
        "terminated at its expiry",
    )


def protected(proposal: Proposal, now: datetime) -> Refusal | None:
    """``protect: true`` refuses termination and deletion."""
    if not proposal.wanted.protect or proposal.action not in _DESTRUCTIVE:
        return None
    verb = "deleted now" if proposal.action is ActionKind.DELETE_NOW else "terminated at expiry"
    return _refuse(
        proposal,
        RuleCode.PROTECTED,
        f"{describe(proposal.live)} is protected (`protect: true`) and would be {verb}",
        f"if {proposal.wanted.key} must really go, remove `protect: true` from its entry "
        "in the same change; otherwise set `lifecycle: renew`",
    )


def unpaid_service(proposal: Proposal, now: datetime) -> Refusal | None:
    """A service with unpaid debt cannot be terminated or changed."""
    live = proposal.live
    if not live.unpaid or not _is_change(proposal):
        return None
    return _refuse(
        proposal,
        RuleCode.UNPAID_SERVICE,
        f"{describe(live)} has an unpaid bill (state {live.lifecycle_state}); OVH allows no "
        f"termination or change until it is paid (the spec asks "
        f"{proposal.wanted.lifecycle.value})",
        "pay the outstanding bill in the OVHcloud control panel (Billing → My bills), "
        "then plan again",
    )


def cancel_window_closed(proposal: Proposal, now: datetime) -> Refusal | None:
    """A pending termination can be cancelled until 24 hours before expiry: at
    ``expiry − 24 h`` exactly it is refused, one second earlier it is allowed."""
    if proposal.action is not ActionKind.CANCEL_TERMINATION:
        return None
    live = proposal.live
    deadline = cancel_deadline(live)
    instant = utc(now)
    if deadline is None or instant < deadline:
        return None
    expiry = deadline + CANCEL_WINDOW
    return _refuse(
        proposal,
        RuleCode.CANCEL_WINDOW_CLOSED,
        f"the termination of {describe(live)} can no longer be cancelled: it expires on "
        f"{when_text(expiry)} and cancelling closed 24 hours before, at "
        f"{when_text(deadline)} (now {when_text(instant)})",
        f"{live.name} will be terminated and its data deleted at {when_text(expiry)}: back up "
        f"its data now, set `lifecycle: terminate_at_expiry` for {proposal.wanted.key} to "
        "accept it, and order a new service if one is still needed",
    )


def period_not_offered(proposal: Proposal, now: datetime) -> Refusal | None:
    """The period the spec asks must be one the service offers (checked when the offered
    periods were read: the observe layer reads them for spec'd services with a period)."""
    live = proposal.live
    wanted = normalise_period(proposal.period)
    if wanted is None or live.offered_periods is None or not _is_change(proposal):
        return None
    offered = sorted({p for p in map(normalise_period, live.offered_periods) if p}, key=_months)
    if wanted in offered:
        return None
    choices = ", ".join(offered) if offered else "none"
    return _refuse(
        proposal,
        RuleCode.PERIOD_NOT_OFFERED,
        f"{describe(live)} does not offer the renewal period {wanted} (offered: {choices})",
        f"set `period:` of {proposal.wanted.key} to one of {choices}, or remove it to keep "
        "the current period",
    )


def linked_service_conflict(proposal: Proposal, now: datetime) -> Refusal | None:
    """Terminating or deleting a service takes its linked (child) services along; the
    spec cannot at once want those children kept."""
    if proposal.action not in _DESTRUCTIVE or not proposal.kept:
        return None
    kept = sorted({service.name for service in proposal.kept})
    names = ", ".join(kept)
    verb = "deleting" if proposal.action is ActionKind.DELETE_NOW else "terminating"
    return _refuse(
        proposal,
        RuleCode.LINKED_SERVICE_CONFLICT,
        f"{verb} {describe(proposal.live)} takes its linked services along, but the spec "
        f"keeps {names} (`lifecycle: renew`)",
        f"set {names} to `lifecycle: terminate_at_expiry` too, or keep {proposal.wanted.key}; "
        "to keep a linked service alone, detach it in the OVHcloud control panel first",
    )


# The gates, in order: when one refuses, the other rules are moot.
GATES: tuple[ProposalRule, ...] = (unmanageable_service, already_terminated)

# Every other proposal rule; all of those a change breaks are reported together.
PROPOSAL_RULES: tuple[ProposalRule, ...] = (
    delete_now_web_hosting_only,
    protected,
    unpaid_service,
    cancel_window_closed,
    period_not_offered,
    linked_service_conflict,
)

RULE_OF: dict[RuleCode, ProposalRule] = {
    RuleCode.UNMANAGEABLE_SERVICE: unmanageable_service,
    RuleCode.ALREADY_TERMINATED: already_terminated,
    RuleCode.DELETE_NOW_WEB_HOSTING_ONLY: delete_now_web_hosting_only,
    RuleCode.PROTECTED: protected,
    RuleCode.UNPAID_SERVICE: unpaid_service,
    RuleCode.CANCEL_WINDOW_CLOSED: cancel_window_closed,
    RuleCode.PERIOD_NOT_OFFERED: period_not_offered,
    RuleCode.LINKED_SERVICE_CONFLICT: linked_service_conflict,
}


def check(proposal: Proposal, *, now: datetime) -> tuple[Refusal, ...]:
    """Every refusal of a proposed change, judged at ``now`` (empty: allowed).

    A ``no_op`` is never refused. A proposal with no possible action (``action=None``)
    is always refused (``already-terminated`` unless a gate before it refuses)."""
    if proposal.action is ActionKind.NO_OP:
        return ()
    for gate in GATES:
        refusal = gate(proposal, now)
        if refusal is not None:
            return (refusal,)
    return tuple(refusal for rule in PROPOSAL_RULES if (refusal := rule(proposal, now)) is not None)


# --- matching rules --------------------------------------------------------------------


def unknown_service(wanted: ServiceSpec, near: Sequence[str] = ()) -> Refusal:
    """The spec names a service the account does not have, and wants it renewed — or
    wants it terminated but the account has a service whose name differs only by case
    (``near``): that is more likely a typo than a service already gone."""
    typed = f" of type {wanted.type}" if wanted.type else ""
    message = f"no service named {wanted.name!r}{typed} on the account"
    if wanted.lifecycle is Lifecycle.RENEW:
        message += "; it cannot be renewed"
    if near:
        listed = " or ".join(repr(name) for name in sorted(near))
        message += f"; did you mean {listed}? (names are case-sensitive)"
        fix = f"write the name of {wanted.key} exactly as the account has it"
    else:
        fix = (
            f"check the name of {wanted.key} against `reconciler services` (names are the "
            "services' internal names), or drop the entry if the service is gone"
        )
    return Refusal(
        service=wanted.key,
        service_id=None,
        rule=RuleCode.UNKNOWN_SERVICE,
        message=message,
        fix=fix,
    )


def type_mismatch(wanted: ServiceSpec, candidates: Sequence[LiveService]) -> Refusal:
    """The spec's ``type`` guard differs from every live service of that name."""
    found = sorted({service.type for service in candidates})
    only = candidates[0].service_id if len(candidates) == 1 else None
    return Refusal(
        service=wanted.key,
        service_id=only,
        rule=RuleCode.TYPE_MISMATCH,
        message=f"{wanted.name!r} is {_or(found)} on the account, not {wanted.type} as the "
        "spec's `type:` guard says",
        fix=f"check that {wanted.key} names the service you mean; if it does, set "
        f"`type: {found[0]}`" + (f" (or {_or(found[1:])})" if len(found) > 1 else ""),
    )


def ambiguous_service(wanted: ServiceSpec, candidates: Sequence[LiveService]) -> Refusal:
    """Several live services answer to the name and the spec does not say which."""
    listed = sorted(candidates, key=lambda s: (s.type, s.service_id))
    types = sorted({service.type for service in listed})
    if len(types) == len(listed):
        fix = f"add `type:` to {wanted.key} to say which one: " + ", ".join(
            f"`type: {s.type}` (id {s.service_id})" for s in listed
        )
    else:
        fix = (
            "these services share name and type, so a spec cannot tell them apart; manage "
            f"{wanted.name} from the OVHcloud control panel and drop it from the spec"
        )
    return Refusal(
        service=wanted.key,
        service_id=None,
        rule=RuleCode.AMBIGUOUS_SERVICE,
        message=f"{len(listed)} services are named {wanted.name!r}: "
        + ", ".join(describe(s) for s in listed),
        fix=fix,
    )


def named_twice(wanted: ServiceSpec, live: LiveService, others: Sequence[str]) -> Refusal:
    """Several spec entries resolve to the same live service: which one wins is not
    something to guess (``ambiguous-service``)."""
    return Refusal(
        service=wanted.key,
        service_id=live.service_id,
        rule=RuleCode.AMBIGUOUS_SERVICE,
        message=f"{describe(live)} is named by several spec entries: "
        + ", ".join(sorted({wanted.key, *others})),
        fix="keep a single entry for it (give `type:` to tell services of the same name apart)",
    )


def unmanaged_service(live: LiveService) -> Refusal:
    """``unmanaged: error``: a live, manageable service that the spec does not name."""
    return Refusal(
        service=live.name,
        service_id=live.service_id,
        rule=RuleCode.UNMANAGED_SERVICE,
        message=f"{describe(live)} is on the account but not in the spec, and the spec says "
        "`unmanaged: error`",
        fix=f"add {live.name} to the spec (e.g. `{_adoptable(live)}`, with "
        f"`type: {live.type}` if another service has that name), or set "
        "`unmanaged: report`",
    )


def _months(period: str) -> tuple[int, str]:
    """Sort key of a period: by months (``P1M`` before ``P12M``), odd texts last."""
    try:
        return (parse_period(period).months, period)
    except InvalidPeriod:
        return (MAX_MONTHS + 1, period)


def _adoptable(live: LiveService) -> str:
    """The spec lines that state the service as it is (what `reconciler import` writes)."""
    if live.lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY:
        return f"lifecycle: {Lifecycle.TERMINATE_AT_EXPIRY.value}"
    if live.lifecycle is LiveLifecycle.MANUAL_RENEW:
        return f"lifecycle: {Lifecycle.RENEW.value}` and `mode: manual"
    return f"lifecycle: {Lifecycle.RENEW.value}"


def _or(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
