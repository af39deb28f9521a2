"""The lifecycle rules: every change is judged before it is planned (docs/user-guide.md,
"The lifecycle rules", lists each code, what it refuses and its fix).

Each rule is a pure function with a stable code (``plan.RuleCode``) that returns a
``Refusal`` (what is refused and why, with dates, and the fix) or ``None``. Time is a
parameter: the planner passes the clock's ``now`` at plan time, and apply calls the
same rules again with the clock at apply time, one service at a time, through
``check(proposal, now=...)``. *Proposal rules* judge one change the planner means to
make to one live service (a ``Proposal``; a ``no_op`` is never refused); *matching
rules* say why a spec entry has no single live service to judge, or why a live
service the spec does not name is refused (``unmanaged: error``).

A refusal's dates are instants kept typed in its words (``refusal``: a
``reconciler.times.Phrase``), so that a renderer shows them in the display zone; its
texts say them in UTC, as plan files hold them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.core.catalog import WEB_HOSTING, product_of
from reconciler.core.diff import normalise_period
from reconciler.core.lifecycle import CommitmentEnd, Lifecycle, LiveLifecycle
from reconciler.core.live import (
    TERMINATE_ACTION,
    TERMINATE_AT_ENGAGEMENT_ACTION,
    TERMINATE_AT_EXPIRY_ACTION,
    EndStrategy,
    LiveService,
)
from reconciler.core.periods import MAX_MONTHS, months_of
from reconciler.core.plan import ActionKind, Refusal, RuleCode
from reconciler.core.spec import ServiceSpec
from reconciler.times import Phrase, phrase_text, utc

# A termination can be cancelled until 24 hours before expiry, not later (the
# control panel refuses it then; docs/user-guide.md).
CANCEL_WINDOW = timedelta(hours=24)


_DESTRUCTIVE = (
    ActionKind.TERMINATE_AT_EXPIRY,
    ActionKind.TERMINATE_AT_COMMITMENT_END,
    ActionKind.DELETE_NOW,
)
# The capacity (``billing.lifecycle.capacities.actions``) each action needs OVH to offer.
_CAPACITY_OF = {
    ActionKind.TERMINATE_AT_EXPIRY: TERMINATE_AT_EXPIRY_ACTION,
    ActionKind.TERMINATE_AT_COMMITMENT_END: TERMINATE_AT_ENGAGEMENT_ACTION,
    ActionKind.DELETE_NOW: TERMINATE_ACTION,
}
# The end rule the control panel resets a commitment to when it cancels a termination at
# the commitment's end (hosting-cancel-termination.controller.js).
RESET_STRATEGY = EndStrategy.REACTIVATE_ENGAGEMENT
# Endpoints whose control panel offers no manual renewal (update.service.js).
NO_MANUAL_RENEWAL_ENDPOINTS = frozenset(("ovh-us",))


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
    endpoint: str = ""  # the spec's endpoint: what the control panel offers depends on it
    # GET /me nichandle of the key's account (None: not read), and whether apply holds
    # the deletion's token already (``--token``): who can confirm a deletion.
    nichandle: str | None = None
    token_given: bool = False
    # The renewal periods the service offers (``LiveAccount.offered_periods``); None
    # when they were not read, which leaves ``period-not-offered`` silent.
    offered: tuple[str, ...] | None = None


ProposalRule = Callable[[Proposal, datetime], Refusal | None]


# --- dates, in words -------------------------------------------------------------------


def terminates_at(service: LiveService) -> datetime | None:
    """When a pending termination takes effect (``LiveService.terminates_at``), in UTC:
    the termination date OVH shows (the end of a commitment), else the expiry."""
    found = service.terminates_at
    return utc(found) if found is not None else None


def expiry_of(service: LiveService) -> datetime | None:
    """The service's expiry: ``billing.expirationDate``, else its termination date (the
    API sets it to the expiry when a termination at expiry is pending)."""
    found = service.expiration or service.termination_date
    return utc(found) if found is not None else None


def cancel_deadline(service: LiveService) -> datetime | None:
    """The last instant (excluded) a pending termination can be cancelled: 24 hours before
    it takes effect (``terminates_at``: the commitment's end for a termination at the end
    of a commitment, else the expiry). ``None`` when that date is unknown (the API still
    enforces its own limit)."""
    expiry = terminates_at(service)
    if expiry is None:
        return None
    try:
        return expiry - CANCEL_WINDOW
    except OverflowError:  # an expiry in year 1: the window closed long ago
        return datetime.min.replace(tzinfo=UTC)


def has_passed(deadline: datetime | None, now: datetime) -> bool:
    """Whether the moment ``deadline`` marks has come at ``now``: at the deadline itself it
    has (its instant is excluded from what it allows), a second before it has not; an
    unknown date (``None``) never passes. The one judgement of time behind
    ``cancel-window-closed`` and ``action-expired``, at plan time here and at apply time
    (``approval.judge``, on a saved action's ``expires_at``): plan and apply must never
    disagree about the same instant."""
    return deadline is not None and utc(now) >= utc(deadline)


def describe(service: LiveService) -> str:
    """``www.example.com (hosting/web, id 42)``."""
    return f"{service.name} ({service.type}, id {service.service_id})"


# --- proposal rules --------------------------------------------------------------------


def refusal(
    service: str, service_id: int | None, rule: RuleCode, message: str | Phrase, fix: str | Phrase
) -> Refusal:
    """A refusal whose message and fix may hold instants (a ``Phrase``): its texts say
    them in UTC, as plan files and golden outputs have them, and the instants stay typed
    so that a renderer shows them in the display zone (``Refusal.message_phrase``)."""
    said = (message,) if isinstance(message, str) else message
    fixed = (fix,) if isinstance(fix, str) else fix
    return Refusal(
        service=service,
        service_id=service_id,
        rule=rule,
        message=phrase_text(said),
        fix=phrase_text(fixed),
        message_phrase=said if _has_instant(said) else (),
        fix_phrase=fixed if _has_instant(fixed) else (),
    )


def _has_instant(phrase: Phrase) -> bool:
    return any(isinstance(part, datetime) for part in phrase)


def _refuse(
    proposal: Proposal, rule: RuleCode, message: str | Phrase, fix: str | Phrase
) -> Refusal:
    return refusal(proposal.wanted.key, proposal.live.service_id, rule, message, fix)


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
    since: Phrase = ()
    ended = live.termination_date or live.expiration
    if ended is not None:
        since = (" (since ", utc(ended), ")")
    return _refuse(
        proposal,
        RuleCode.ALREADY_TERMINATED,
        (
            f"{describe(live)} is already {state}",
            *since,
            f"; it cannot be "
            f"{'renewed' if proposal.wanted.lifecycle is Lifecycle.RENEW else 'changed'}",
        ),
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
    verb = {
        ActionKind.DELETE_NOW: "deleted now",
        ActionKind.TERMINATE_AT_COMMITMENT_END: "terminated at the end of its commitment",
    }.get(proposal.action, "terminated at expiry")
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
    if deadline is None or not has_passed(deadline, instant):
        return None
    expiry = deadline + CANCEL_WINDOW
    event = (
        "it is terminated at the end of its commitment on"
        if live.lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END
        else "it expires on"
    )
    return _refuse(
        proposal,
        RuleCode.CANCEL_WINDOW_CLOSED,
        (
            f"the termination of {describe(live)} can no longer be cancelled: {event} ",
            utc(expiry),
            " and cancelling closed 24 hours before, at ",
            utc(deadline),
            " (now ",
            instant,
            ")",
        ),
        (
            f"{live.name} will be terminated and its data deleted at ",
            utc(expiry),
            ": back up its data now, set "
            f"`lifecycle: {_terminating_lifecycle(live).value}` for {proposal.wanted.key} "
            "to accept it, and order a new service if one is still needed",
        ),
    )


def action_expired(proposal: Proposal, now: datetime) -> Refusal | None:
    """Every change but a cancellation (which has its own, earlier deadline above) is
    made for the service as it stands before its expiry: once the expiry has come, OVH
    renews the service or ends it, and the account only shows which some time later. A
    change planned in between would act on a state that is already gone, so it is
    refused until the account shows the outcome — at the expiry exactly, as apply
    refuses a saved action at its ``expires_at`` (the same date, ``planner.expires_at``)."""
    if proposal.action in (None, ActionKind.NO_OP, ActionKind.CANCEL_TERMINATION):
        return None
    live = proposal.live
    expiry = expiry_of(live)
    if expiry is None or not has_passed(expiry, now):
        return None
    return _refuse(
        proposal,
        RuleCode.ACTION_EXPIRED,
        (
            f"{describe(live)} reached its expiry on ",
            utc(expiry),
            " (now ",
            utc(now),
            ") and the account does not show yet whether it was renewed or ended: "
            f"{proposal.action.value} is no longer the change to make",
        ),
        "wait until the account shows the service renewed or ended (`reconciler services "
        f"--search {live.name}`), then plan again",
    )


def _terminating_lifecycle(live: LiveService) -> Lifecycle:
    """The spec's word for the termination pending on ``live``."""
    if live.lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END:
        return Lifecycle.TERMINATE_AT_COMMITMENT_END
    return Lifecycle.TERMINATE_AT_EXPIRY


def period_not_offered(proposal: Proposal, now: datetime) -> Refusal | None:
    """The period the spec asks must be one the service offers (checked when the offered
    periods were read: the observe layer reads them for spec'd services with a period)."""
    live = proposal.live
    wanted = normalise_period(proposal.period)
    if wanted is None or proposal.offered is None or not _is_change(proposal):
        return None
    offered = sorted({p for p in map(normalise_period, proposal.offered) if p}, key=_months)
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


def state_not_understood(proposal: Proposal, now: datetime) -> Refusal | None:
    """Fail closed: a service in a state reconciler does not recognise is never changed
    (nor read as in sync): what a change would do to it is not something to guess."""
    live = proposal.live
    if live.lifecycle is not LiveLifecycle.NOT_UNDERSTOOD or not _is_change(proposal):
        return None
    return _refuse(
        proposal,
        RuleCode.STATE_NOT_UNDERSTOOD,
        f"{describe(live)} is in a state reconciler does not understand: "
        f"{live.not_understood or 'unknown'}; it changes nothing it cannot read",
        f"look at {live.name} in the OVHcloud control panel: wait for what is under way to "
        "end (or settle it there), then plan again; if it stays so, report it with "
        f"`reconciler services --format json` (it holds no secret)",
    )


def action_not_offered(proposal: Proposal, now: datetime) -> Refusal | None:
    """OVH says what a service can do now (``billing.lifecycle.capacities.actions``): an
    action it does not offer is refused before anything is sent."""
    live = proposal.live
    needed = _CAPACITY_OF.get(proposal.action) if proposal.action is not None else None
    if needed is None or live.allowed_actions is None or needed in live.allowed_actions:
        return None
    offered = ", ".join(live.allowed_actions) if live.allowed_actions else "none"
    return _refuse(
        proposal,
        RuleCode.ACTION_NOT_OFFERED,
        f"OVH does not offer {needed} for {describe(live)} now (it offers: {offered}); the "
        f"spec asks {proposal.wanted.lifecycle.value}",
        _not_offered_fix(proposal, needed),
    )


def _not_offered_fix(proposal: Proposal, needed: str) -> str:
    key = proposal.wanted.key
    if needed == TERMINATE_AT_ENGAGEMENT_ACTION:
        return (
            f"{key} is under no commitment that can end it: use `lifecycle: "
            "terminate_at_expiry`, or keep it (`lifecycle: renew`)"
        )
    if needed == TERMINATE_AT_EXPIRY_ACTION and proposal.live.commitment is not None:
        return (
            f"{key} is under a commitment: use `lifecycle: terminate_at_commitment_end` to "
            "end it with the commitment"
        )
    return (
        f"see what the OVHcloud control panel offers for {proposal.live.name} (a pending "
        "operation or a debt can hold it), then plan again; or state the lifecycle it has"
    )


def mode_not_offered(proposal: Proposal, now: datetime) -> Refusal | None:
    """The renewal mode the spec wants must be one OVH offers for the service
    (``billing.renew.capacities.mode``); the control panel offers no manual renewal on
    US accounts."""
    if proposal.action not in (ActionKind.SET_RENEW, ActionKind.CANCEL_TERMINATION):
        return None
    live = proposal.live
    mode = proposal.wanted.mode.value if proposal.wanted.mode is not None else "automatic"
    if mode == "manual" and proposal.endpoint in NO_MANUAL_RENEWAL_ENDPOINTS:
        why = f"OVH offers no manual renewal on {proposal.endpoint}"
    elif live.renew_modes is not None and mode not in live.renew_modes:
        offered = ", ".join(live.renew_modes) if live.renew_modes else "none"
        why = f"OVH offers no {mode} renewal for {describe(live)} (it offers: {offered})"
    else:
        return None
    other = "automatic" if mode == "manual" else "manual"
    return _refuse(
        proposal,
        RuleCode.MODE_NOT_OFFERED,
        f"{why}; the spec asks `mode: {mode}` for {proposal.wanted.key}",
        f"set `mode: {other}` for {proposal.wanted.key} (or drop `mode:` for automatic), or "
        "state the lifecycle the service has",
    )


def strategy_not_offered(proposal: Proposal, now: datetime) -> Refusal | None:
    """An end rule is set only to a strategy the commitment offers
    (``billing.engagement.endRule.possibleStrategies``): the spec's ``commitment_end``,
    or, cancelling a termination at the end of a commitment with no ``commitment_end``
    stated, REACTIVATE_ENGAGEMENT, as the control panel resets it."""
    live = proposal.live
    commitment = live.commitment
    wanted = proposal.wanted.commitment_end
    if wanted is not None:
        return _stated_strategy_not_offered(proposal, wanted)
    if (
        proposal.action not in (ActionKind.CANCEL_TERMINATION, ActionKind.TERMINATE_AT_EXPIRY)
        or commitment is None
        or commitment.strategy is not EndStrategy.CANCEL_SERVICE
        or RESET_STRATEGY in commitment.possible_strategies
    ):
        return None
    offered = ", ".join(commitment.possible_strategies) or "none"
    return _refuse(
        proposal,
        RuleCode.STRATEGY_NOT_OFFERED,
        f"{describe(live)} is terminated at the end of its commitment (end rule "
        f"CANCEL_SERVICE); undoing that resets the end rule to {RESET_STRATEGY.value}, which "
        f"the commitment does not offer (it offers: {offered})",
        f"change the end rule of {live.name} in the OVHcloud control panel (Billing → "
        f"commitment), or state `lifecycle: terminate_at_commitment_end` for {proposal.wanted.key}",
    )


def _stated_strategy_not_offered(proposal: Proposal, wanted: CommitmentEnd) -> Refusal | None:
    """``commitment_end`` asks an end rule the service has not: refused when the service
    is under no commitment, or when the commitment does not offer that strategy."""
    live = proposal.live
    commitment = live.commitment
    key = proposal.wanted.key
    current = commitment.strategy if commitment is not None else None
    if proposal.action not in (ActionKind.SET_RENEW, ActionKind.CANCEL_TERMINATION) or (
        current is not None and current.value == wanted.strategy
    ):
        return None
    asked = f"the spec asks `commitment_end: {wanted.value}` ({wanted.strategy})"
    if commitment is None:
        return _refuse(
            proposal,
            RuleCode.STRATEGY_NOT_OFFERED,
            f"{describe(live)} is under no commitment (billing.engagement is empty); {asked}",
            f"remove `commitment_end:` from {key}: it applies to a service under a "
            "commitment (one that has ended has none)",
        )
    if EndStrategy(wanted.strategy) in commitment.possible_strategies:
        return None
    words = [
        end.value
        for strategy in commitment.possible_strategies
        if (end := CommitmentEnd.of_strategy(strategy.value)) is not None
    ]
    offered = ", ".join(commitment.possible_strategies) or "none"
    fix = (
        f"write one the commitment offers: {' or '.join(f'`commitment_end: {w}`' for w in words)}"
        if words
        else "the commitment offers no end rule a spec can state"
    )
    if EndStrategy.CANCEL_SERVICE in commitment.possible_strategies:
        fix += ", or `lifecycle: terminate_at_commitment_end` to terminate it then"
    return _refuse(
        proposal,
        RuleCode.STRATEGY_NOT_OFFERED,
        f"the commitment of {describe(live)} does not offer {wanted.strategy} (it offers: "
        f"{offered}); {asked}",
        f"{fix}; or remove `commitment_end:` from {key}",
    )


def committed_renewal(proposal: Proposal, now: datetime) -> Refusal | None:
    """A termination at the end of a commitment set by the policy
    ``terminateAtEngagementDate`` is cancelled with ``terminationPolicy: empty``, which
    switches renewal to automatic: a spec wanting manual renewal cannot have it so."""
    live = proposal.live
    if (
        proposal.action is not ActionKind.CANCEL_TERMINATION
        or not proposal.wanted.manual
        or TERMINATE_AT_ENGAGEMENT_ACTION not in live.pending_actions
    ):
        return None
    return _refuse(
        proposal,
        RuleCode.COMMITTED_RENEWAL,
        f"{describe(live)} is set to terminate at the end of its commitment; cancelling that "
        "(terminationPolicy empty) switches its renewal to automatic, and the spec wants it "
        "renewed by hand",
        f"drop `mode: manual` from {proposal.wanted.key} (automatic renewal after the "
        "cancellation), or keep `lifecycle: terminate_at_commitment_end`",
    )


def terminate_manual_service(proposal: Proposal, now: datetime) -> Refusal | None:
    """A service renewed by hand carries OVH's termination marking already
    (``terminateAtExpirationDate``): a termination at expiry on top of it cannot be told
    apart on ``/services``, so it could not be verified, nor undone safely."""
    live = proposal.live
    if proposal.action is not ActionKind.TERMINATE_AT_EXPIRY or live.renew_mode != "manual":
        return None
    expiry = expiry_of(live)
    on: Phrase = (" on ", utc(expiry)) if expiry else ()
    return _refuse(
        proposal,
        RuleCode.TERMINATE_MANUAL_SERVICE,
        (
            f"{describe(live)} is renewed by hand: it already ends at its expiry",
            *on,
            " unless someone pays, and OVH shows no difference between that and a "
            "termination at expiry",
        ),
        f"to let it expire, state `lifecycle: renew` with `mode: manual` for "
        f"{proposal.wanted.key} and do not pay it; to have OVH terminate it, switch it to "
        "automatic renewal first (`lifecycle: renew`), apply, then set `terminate_at_expiry`",
    )


_UNSAFE_SEGMENTS = frozenset(("", ".", ".."))


def safe_segment(name: str) -> bool:
    """Whether ``name`` survives as one URL path segment (quoted): never ``.``/``..``
    (which a URL normalises away), never a control character."""
    return name not in _UNSAFE_SEGMENTS and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)


def unsafe_name(proposal: Proposal, now: datetime) -> Refusal | None:
    """A deletion is requested on the product's route, with the name in the URL: a name
    that is no single path segment would send the request elsewhere."""
    live = proposal.live
    if proposal.action is not ActionKind.DELETE_NOW or safe_segment(live.name):
        return None
    return _refuse(
        proposal,
        RuleCode.UNSAFE_NAME,
        f"the name {live.name!r} of {describe(live)} cannot be put in a URL path as one "
        "segment; nothing is sent for it",
        f"delete {live.service_id} from the OVHcloud control panel, and drop {proposal.wanted.key} "
        "from the spec",
    )


def not_admin_contact(proposal: Proposal, now: datetime) -> Refusal | None:
    """A deletion's confirmation token is e-mailed to the service's administrator
    contact (``customer.contacts``), and the control panel lets only that contact
    terminate: a key of another account would request it and wait for an e-mail it can
    never see. Silent when the key's account or the contacts are not known, and when
    apply already holds the token (``--token``)."""
    live = proposal.live
    if (
        proposal.action is not ActionKind.DELETE_NOW
        or proposal.token_given
        or proposal.nichandle is None
        or not live.admin_contacts
    ):
        return None
    key = proposal.nichandle.casefold()
    if any(contact.casefold() == key for contact in live.admin_contacts):
        return None
    admins = " or ".join(live.admin_contacts)
    return _refuse(
        proposal,
        RuleCode.NOT_ADMIN_CONTACT,
        f"the key acts for {proposal.nichandle}, but the administrator contact of "
        f"{describe(live)} is {admins}: the e-mail that confirms the deletion goes to "
        f"{admins} only, so apply could never confirm it",
        f"apply with a key of {admins}; or have {admins} request the termination (control "
        f"panel) and give the e-mailed token to apply: `--token {proposal.wanted.key}=@FILE`",
    )


# The gates, in order: when one refuses, the other rules are moot.
GATES: tuple[ProposalRule, ...] = (unmanageable_service, already_terminated, state_not_understood)

# Every other proposal rule; all of those a change breaks are reported together.
PROPOSAL_RULES: tuple[ProposalRule, ...] = (
    delete_now_web_hosting_only,
    protected,
    unpaid_service,
    cancel_window_closed,
    action_expired,
    period_not_offered,
    linked_service_conflict,
    action_not_offered,
    mode_not_offered,
    strategy_not_offered,
    committed_renewal,
    terminate_manual_service,
    unsafe_name,
    not_admin_contact,
)

RULE_OF: dict[RuleCode, ProposalRule] = {
    RuleCode.UNMANAGEABLE_SERVICE: unmanageable_service,
    RuleCode.ALREADY_TERMINATED: already_terminated,
    RuleCode.DELETE_NOW_WEB_HOSTING_ONLY: delete_now_web_hosting_only,
    RuleCode.PROTECTED: protected,
    RuleCode.UNPAID_SERVICE: unpaid_service,
    RuleCode.CANCEL_WINDOW_CLOSED: cancel_window_closed,
    RuleCode.ACTION_EXPIRED: action_expired,
    RuleCode.PERIOD_NOT_OFFERED: period_not_offered,
    RuleCode.LINKED_SERVICE_CONFLICT: linked_service_conflict,
    RuleCode.STATE_NOT_UNDERSTOOD: state_not_understood,
    RuleCode.ACTION_NOT_OFFERED: action_not_offered,
    RuleCode.MODE_NOT_OFFERED: mode_not_offered,
    RuleCode.STRATEGY_NOT_OFFERED: strategy_not_offered,
    RuleCode.COMMITTED_RENEWAL: committed_renewal,
    RuleCode.TERMINATE_MANUAL_SERVICE: terminate_manual_service,
    RuleCode.UNSAFE_NAME: unsafe_name,
    RuleCode.NOT_ADMIN_CONTACT: not_admin_contact,
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
    """The spec names a service the account does not have (and no journal shows it
    terminated or deleted): most often a typo, so never "already done". ``near`` are the
    account's names nearest to it (equal but for case, or a few edits away)."""
    typed = f" of type {wanted.type}" if wanted.type else ""
    message = f"no service named {wanted.name!r}{typed} on the account"
    if wanted.lifecycle is Lifecycle.RENEW:
        message += "; it cannot be renewed"
    else:
        message += f"; nothing to {_VERB_OF[wanted.lifecycle]}, and no apply journal shows it done"
    if near:
        listed = " or ".join(repr(name) for name in near)
        case_only = all(name.casefold() == wanted.name.casefold() for name in near)
        message += f"; did you mean {listed}?"
        message += " (names are case-sensitive)" if case_only else ""
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


_VERB_OF = {
    Lifecycle.TERMINATE_AT_EXPIRY: "terminate",
    Lifecycle.TERMINATE_AT_COMMITMENT_END: "terminate",
    Lifecycle.DELETE_NOW: "delete",
}


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
    months = months_of(period)
    return (months if months is not None else MAX_MONTHS + 1, period)


def _adoptable(live: LiveService) -> str:
    """The spec lines that state the service as it is (what `reconciler import` writes)."""
    if live.lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END:
        return f"lifecycle: {Lifecycle.TERMINATE_AT_COMMITMENT_END.value}"
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
