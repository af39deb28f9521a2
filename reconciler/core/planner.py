"""The planner: spec + live account + time in, an immutable ``Plan`` out. Pure.

``make_plan(spec, account, *, now, endpoint)`` never raises on any combination of spec
and live state (its instants aware, as the parser builds them; a naive one is refused,
``reconciler.times``): everything the spec asks that cannot be done becomes a refusal in the
plan, with its rule code, its reason and its fix. For each spec entry it

1. **matches** the entry to live services (``reconciler.core.matching``: by name,
   narrowed by ``type``; services already gone set aside; none is ``unknown-service``
   whatever the lifecycle, so that a typo never reads as done, unless the journal shows
   that entry's termination or deletion done: ``done_before``);
2. **diffs** the live essence with the wanted one (``reconciler.core.diff``) and derives
   the one action (the table in docs/user-guide.md, "What each lifecycle does"), with
   its typed steps (``reconciler.core.steps``) made as the control panel makes them
   (docs/control-panel.md);
3. **judges** it with every rule (``reconciler.core.rules``): a refused change has no
   action, only its refusals.

Then ``unmanaged`` (the live services no entry names) and ``drift`` (every stated field
where the account differs; with no state file, drift cannot tell a spec change from an
out-of-band one). Deterministic: everything is sorted, so the same inputs give
byte-identical plans. Linear in the number of services (the diff is memoised per
distinct pair of essences).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from reconciler.clock import as_utc
from reconciler.core.catalog import ConfirmFlow, RequestFlow, deletion_flows, product_of
from reconciler.core.diff import (
    Change,
    Essence,
    changes,
    live_essence,
    normalise_period,
    wanted_essence,
)
from reconciler.core.fingerprints import Prints, absent_fingerprint, fingerprint_of_prints
from reconciler.core.lifecycle import CommitmentEnd, EssenceLifecycle, Lifecycle, LiveLifecycle
from reconciler.core.live import (
    TERMINATE_AT_ENGAGEMENT_ACTION,
    EndStrategy,
    LiveAccount,
    LiveService,
)
from reconciler.core.matching import Match, NearNames, descendants, match, same_type
from reconciler.core.money import billing_of
from reconciler.core.periods import months_of
from reconciler.core.plan import (
    Action,
    ActionKind,
    DoneBefore,
    Drift,
    Plan,
    Refusal,
    RuleCode,
    Unmanaged,
)
from reconciler.core.rules import (
    RESET_STRATEGY,
    Proposal,
    cancel_deadline,
    check,
    expiry_of,
    named_twice,
    safe_segment,
    terminates_at,
    unknown_service,
    unmanaged_service,
)
from reconciler.core.spec import ServiceSpec, Spec, UnmanagedPolicy
from reconciler.core.steps import (
    ConfirmTermination,
    RenewMode,
    RequestTermination,
    SetEndRule,
    SetRenew,
    SetRenewalObject,
    SetTerminationPolicy,
    Step,
    TerminationPolicy,
)
from reconciler.times import utc, when_text

# --- actions ---------------------------------------------------------------------------


def action_kind(found: tuple[Change, ...], before: Essence) -> ActionKind | None:
    """The action that turns ``before`` into the wanted essence, from the changes:
    ``None`` when no API call can (renewing a service that is gone)."""
    if not found:
        return ActionKind.NO_OP
    if before.gone:
        return None
    lifecycle = next((c for c in found if c.field == "lifecycle"), None)
    if lifecycle is None:  # the period alone
        return ActionKind.SET_RENEW
    after = lifecycle.after
    if after == EssenceLifecycle.DELETED:
        return ActionKind.DELETE_NOW
    if after == EssenceLifecycle.TERMINATE_AT_EXPIRY:
        return ActionKind.TERMINATE_AT_EXPIRY
    if after == EssenceLifecycle.TERMINATE_AT_COMMITMENT_END:
        return ActionKind.TERMINATE_AT_COMMITMENT_END
    if before.lifecycle in _TERMINATING:
        return ActionKind.CANCEL_TERMINATION
    return ActionKind.SET_RENEW  # the renewal mode changes (manual ⇄ automatic)


def calls_for(
    kind: ActionKind,
    live: LiveService,
    after: Essence,
    *,
    period_changed: bool,
    endpoint: str = "",
) -> tuple[Step, ...]:
    """The typed steps of an action (``reconciler.core.steps``), in the order apply
    makes them, as the control panel makes them (docs/control-panel.md):

    - a termination at expiry: ``PUT /services/{id} {terminationPolicy:
      terminateAtExpirationDate}``; at the end of a commitment: ``terminateAtEngagementDate``;
      either first resets an end rule ``CANCEL_SERVICE`` (it would win);
    - a cancellation: the end rule reset to ``REACTIVATE_ENGAGEMENT`` when it is
      ``CANCEL_SERVICE``; then, for automatic renewal, ``terminationPolicy: empty`` (which
      switches renewal to automatic) and the period if it changes; for manual renewal,
      never ``empty``: the renewal object set to manual (``renewal_call``);
    - a renewal change: ``renewal_call``;
    - a deletion: ``deletion_calls``.
    """
    manual = after.lifecycle is EssenceLifecycle.MANUAL_RENEW
    reset = _end_rule_change(live, after)
    if kind is ActionKind.TERMINATE_AT_EXPIRY:
        return (*reset, _policy_call(live, TerminationPolicy.TERMINATE_AT_EXPIRY))
    if kind is ActionKind.TERMINATE_AT_COMMITMENT_END:
        return (_policy_call(live, TerminationPolicy.TERMINATE_AT_COMMITMENT_END),)
    if kind is ActionKind.CANCEL_TERMINATION:
        policy_pending = live.lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY or (
            TERMINATE_AT_ENGAGEMENT_ACTION in live.pending_actions
        )
        if manual:
            # After the end rule's reset a service already renewed by hand is where the
            # spec wants it; otherwise the renewal object makes it manual (never `empty`).
            if reset and live.renew_mode == "manual" and not period_changed:
                return reset
            return (*reset, renewal_call(live, after))
        calls: list[Step] = list(reset)
        if policy_pending:
            calls.append(_policy_call(live, TerminationPolicy.CANCEL))
        # `empty` leaves renewal automatic with its own period; anything else is a call.
        if period_changed or live.renew_mode != "automatic":
            calls.append(renewal_call(live, after))
        return tuple(calls)
    if kind is ActionKind.SET_RENEW:
        # The end rule alone (`commitment_end`) needs no renewal call.
        renewal_changes = period_changed or live.renew_mode != renew_mode_of(after)
        if reset and not renewal_changes:
            return reset
        return (*reset, renewal_call(live, after))
    if kind is ActionKind.DELETE_NOW:
        return deletion_calls(live, endpoint=endpoint)
    return ()


_TERMINATING = (
    EssenceLifecycle.TERMINATE_AT_EXPIRY,
    EssenceLifecycle.TERMINATE_AT_COMMITMENT_END,
)


def _policy_call(live: LiveService, policy: TerminationPolicy) -> Step:
    return SetTerminationPolicy(service_id=live.service_id, policy=policy)


def end_rule_target(live: LiveService, after: Essence) -> EndStrategy | None:
    """The end rule the action sets, if any: the spec's ``commitment_end`` when the
    service's differs; else, out of a termination at the end of a commitment
    (``CANCEL_SERVICE``), ``REACTIVATE_ENGAGEMENT`` as the control panel resets it."""
    commitment = live.commitment
    current = commitment.strategy if commitment is not None else None
    if after.commitment_end is not None and after.lifecycle in _RENEWING:
        wanted = EndStrategy(CommitmentEnd(after.commitment_end).strategy)
        return None if wanted is current else wanted
    if current is EndStrategy.CANCEL_SERVICE and after.lifecycle is not (
        EssenceLifecycle.TERMINATE_AT_COMMITMENT_END
    ):
        return RESET_STRATEGY
    return None


# What each end strategy does when the commitment ends, completing "when it ends ...".
_END_RULE_MEANING = {
    EndStrategy.REACTIVATE_ENGAGEMENT: "it commits again for the same length",
    EndStrategy.STOP_ENGAGEMENT_KEEP_PRICE: "the commitment stops and the price stays",
    EndStrategy.STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE: (
        "the commitment stops and the default price (without commitment) applies"
    ),
    EndStrategy.CANCEL_SERVICE: "the service is terminated",
}


def commitment_end_words(live: LiveService) -> str:
    """``on 2027-08-01``, the day the service's commitment ends, as OVH gives it."""
    commitment = live.commitment
    if commitment is None or commitment.end_date is None:
        return "(end date not given)"
    return f"on {commitment.end_date.isoformat()}"


def end_rule_words(live: LiveService, after: Essence) -> str:
    """What the action does to the commitment's end rule, with the commitment's end
    date and what happens then; empty when it leaves the end rule alone."""
    target = end_rule_target(live, after)
    if target is None:
        return ""
    if after.commitment_end is None:  # the control panel's reset, out of CANCEL_SERVICE
        return (
            f"its commitment's end rule is reset to {target.value} (the commitment renews "
            "at its end)"
        )
    commitment = live.commitment
    current = commitment.strategy if commitment is not None else None
    was = f" from {current.value}" if current is not None else ""
    ends = commitment_end_words(live)
    stated = f" (`commitment_end: {after.commitment_end}`)"
    return (
        f"its commitment's end rule changes{was} to {target.value}{stated}: when the "
        f"commitment ends {ends}, {_END_RULE_MEANING[target]}"
    )


def _end_rule_change(live: LiveService, after: Essence) -> tuple[Step, ...]:
    """``PUT /services/{id}/billing/engagement/endRule {strategy}`` when the action sets
    the end rule (``end_rule_target``); none otherwise."""
    target = end_rule_target(live, after)
    if target is None:
        return ()
    return (SetEndRule(service_id=live.service_id, strategy=target),)


_RENEWING = (EssenceLifecycle.RENEW, EssenceLifecycle.MANUAL_RENEW)


def renewal_call(live: LiveService, after: Essence) -> Step:
    """How the control panel changes a service's renewal: ``PUT {route.url}/serviceInfos``
    with the renewal object (``service.RenewType``: ``automatic``, ``manualPayment``,
    ``deleteAtExpiration`` false, the period in months), as ``autorenew.service.js`` does;
    ``PUT /services/{id} {renew: {mode, period}}`` when the service has no usable route
    (apply falls back to it too when the first is refused with no effect)."""
    route = service_route(live)
    months = months_of(after.period)
    if route is not None and (after.period is None or months is not None):
        return SetRenewalObject(
            service_id=live.service_id, route=route, mode=renew_mode_of(after), months=months
        )
    return services_renewal_call(live, after)


def services_renewal_call(live: LiveService, after: Essence) -> Step:
    """``PUT /services/{id} {renew: {mode, period}}``: the renewal through ``/services``
    (a period unknown leaves the service's own period alone)."""
    return SetRenew(service_id=live.service_id, mode=renew_mode_of(after), period=after.period)


def service_route(live: LiveService) -> str | None:
    """The product's own API path (``route.url``) when every segment of it is a plain
    path segment (the API gives it; a ``..`` in it would send a call elsewhere)."""
    url = live.route_url
    if not url or not url.startswith("/"):
        return None
    segments = url[1:].split("/")
    if not all(safe_segment(part) and not set(part) & set("%?#\\") for part in segments):
        return None
    return "/" + "/".join(quote(part, safe="@:+,;=!$&'()*") for part in segments)


def deletion_calls(
    live: LiveService, *, endpoint: str
) -> tuple[RequestTermination, ConfirmTermination]:
    """``delete_now``'s two calls, on the flows the control panel picks for the product,
    its plan code and the endpoint (``catalog.deletion_flows``, docs/control-panel.md
    §8.22): for a web hosting, ``POST /hosting/web/{name}/terminate`` then
    ``POST /services/{id}/terminate/confirm`` (on ``ovh-us`` the confirmation is on
    ``/hosting/web/{name}/confirmTermination`` unless the plan code is the panel's).
    The recorded fallbacks are apply's (``steps.fallbacks_of``), never planned."""
    product = product_of(live.type)
    flows = deletion_flows(product, live.plan_code, endpoint=endpoint)
    # The product's own route, from the catalogue's type (its route prefix).
    route = f"/{product.type}/{quote(live.name, safe='')}"
    return (
        RequestTermination(
            service_id=live.service_id, route=route if flows.request is RequestFlow.ROUTE else None
        ),
        ConfirmTermination(
            service_id=live.service_id,
            route=None if flows.confirm is ConfirmFlow.SERVICES else route,
        ),
    )


def renew_mode_of(essence: Essence) -> RenewMode:
    """The API's ``renew.mode`` a wanted essence asks for: ``manual`` for a manual
    renewal (``mode: manual`` in the spec), else ``automatic``."""
    return "manual" if essence.lifecycle is EssenceLifecycle.MANUAL_RENEW else "automatic"


def expires_at(kind: ActionKind, live: LiveService) -> datetime | None:
    """When the action stops being allowed: 24 hours before expiry for a cancellation;
    the expiry for every other change (after it the service has renewed or is gone, and
    the plan is stale anyway); never for a ``no_op``."""
    if kind is ActionKind.NO_OP:
        return None
    if kind is ActionKind.CANCEL_TERMINATION:
        return cancel_deadline(live)
    return expiry_of(live)


def reason_for(
    kind: ActionKind,
    live: LiveService,
    before: Essence,
    after: Essence,
    linked: tuple[str, ...],
) -> str:
    """Why the action, and what it does, in words and with dates."""
    expiry = expiry_of(live)
    on = f"on {when_text(expiry)}" if expiry else "(expiry date unknown)"
    every = f" every {after.period}" if after.period else ""
    along = f"; linked services go along: {', '.join(linked)}" if linked else ""
    if kind is ActionKind.TERMINATE_AT_EXPIRY:
        deadline = cancel_deadline(live)
        undo = f"; this can be cancelled until {when_text(deadline)}" if deadline else ""
        return (
            f"auto-renewal stops: {live.name} is terminated at its expiry {on} and its data "
            f"deleted irreversibly then{along}{undo}"
        )
    if kind is ActionKind.TERMINATE_AT_COMMITMENT_END:
        ends = commitment_end_words(live)
        return (
            f"{live.name} is terminated at the end of its commitment {ends} and its data "
            f"deleted irreversibly then; it is no longer renewed{along}"
        )
    if kind is ActionKind.CANCEL_TERMINATION:
        deadline = cancel_deadline(live)
        until = f" (allowed until {when_text(deadline)})" if deadline else ""
        ending = terminates_at(live)
        committed = before.lifecycle is EssenceLifecycle.TERMINATE_AT_COMMITMENT_END
        unknown = "(termination date unknown)" if committed else "(expiry date unknown)"
        at = f"on {when_text(ending)}" if ending else unknown
        what = (
            "at the end of its commitment"
            if before.lifecycle is EssenceLifecycle.TERMINATE_AT_COMMITMENT_END
            else "at expiry"
        )
        reset = end_rule_words(live, after)
        reset = f"; {reset}" if reset else ""
        mode = renew_mode_of(after)
        switch = ""
        if live.renew_mode != mode:
            switch = f" and renewal switches from {live.renew_mode or 'unknown'} to {mode}"
        if mode == "manual":
            return (
                f"the termination {what} planned {at} is cancelled{until}{switch}{reset}: "
                f"{live.name} stays, renewed by hand{every}; it expires {on} unless paid"
            )
        billed = (
            "; cancelling switches renewal to automatic: it is billed at each renewal"
            if live.renew_mode == "automatic" or switch
            else ""
        )
        return (
            f"the termination {what} planned {at} is cancelled{until}{switch}{reset}: "
            f"{live.name} keeps renewing{every}{billed}"
        )
    if kind is ActionKind.SET_RENEW:
        end_rule = end_rule_words(live, after)
        if before.lifecycle is EssenceLifecycle.MANUAL_RENEW and not after.manual:
            said = (
                f"renewal switches from manual to automatic{every}: without it {live.name} "
                f"expires {on} unless paid by hand"
            )
        elif after.manual and not before.manual:
            said = (
                f"renewal switches from automatic to manual{every}: {live.name} is no longer "
                f"renewed automatically and expires {on} unless paid by hand"
            )
        elif before.period != after.period:
            by_hand = " (renewed by hand)" if after.manual else ""
            said = (
                f"the renewal period changes from {before.period or 'unknown'} to "
                f"{after.period}{by_hand} from the next renewal {on}"
            )
        else:
            return end_rule
        return f"{said}; {end_rule}" if end_rule else said
    if kind is ActionKind.DELETE_NOW:
        paid = f" (paid until {when_text(expiry)})" if expiry else ""
        pending = (
            f"; this brings forward the termination already planned {on}"
            if live.lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY
            else ""
        )
        return (
            f"deleted now, data deleted irreversibly, no refund{paid}{along}{pending}; "
            "confirmed with the token OVH e-mails to the account"
        )
    # no_op
    if live.gone:
        return f"already gone: {live.name} is {gone_word(live)}"
    if before.lifecycle is EssenceLifecycle.TERMINATE_AT_EXPIRY:
        return (
            f"already as the spec says: terminated at expiry {on}, data deleted "
            f"irreversibly then{along}"
        )
    if before.lifecycle is EssenceLifecycle.TERMINATE_AT_COMMITMENT_END:
        ending = terminates_at(live)
        at = f"on {when_text(ending)}" if ending else "(date not given)"
        return (
            f"already as the spec says: terminated at the end of its commitment {at}, data "
            f"deleted irreversibly then{along}"
        )
    unmanageable = "" if live.manageable else " (managed from its own interface)"
    if before.manual:
        return (
            f"already as the spec says: renewed by hand{every}; it expires {on} unless "
            f"paid{unmanageable}"
        )
    return f"already as the spec says: renews automatically{every}, next {on}{unmanageable}"


def gone_word(live: LiveService) -> str:
    """How a service that is gone stands, in a word or two."""
    return {
        LiveLifecycle.EXPIRED: "expired",
        LiveLifecycle.BEING_DELETED: "being deleted (resource toDelete)",
    }.get(live.lifecycle, "terminated")


def drift_of(wanted: ServiceSpec, live: LiveService, found: Iterable[Change]) -> tuple[Drift, ...]:
    """The fields the spec states where the account differs, in the words of each side:
    the spec's lifecycle (``delete_now``) against the live one (``manual_renew``,
    ``expired``...), and the period when the spec gives one (a period that merely goes
    away with a deletion is not drift). Without a state file, drift cannot say whether
    the spec or the account moved last (an out-of-band change in the control panel looks
    exactly like a spec change): it says only that they differ."""
    drifts: list[Drift] = []
    for change in found:
        if change.field == "lifecycle":
            drifts.append(
                Drift(
                    service=wanted.key,
                    field="lifecycle",
                    spec=spec_lifecycle_word(wanted),
                    live=live.lifecycle.value,
                )
            )
        elif change.field == "period" and wanted.period is not None:
            drifts.append(
                Drift(service=wanted.key, field="period", spec=change.after, live=change.before)
            )
        elif change.field == "commitment_end" and change.after is not None:
            drifts.append(
                Drift(
                    service=wanted.key,
                    field="commitment_end",
                    spec=change.after,
                    live=change.before or "other:none",
                )
            )
    return tuple(drifts)


def manages_end_rule(wanted: ServiceSpec) -> bool:
    """Whether the spec entry states its commitment's end rule (``commitment_end``)."""
    return wanted.lifecycle is Lifecycle.RENEW and wanted.commitment_end is not None


def spec_lifecycle_word(wanted: ServiceSpec) -> str:
    """The spec's lifecycle in the live side's words, for drift: ``renew`` with
    ``mode: manual`` reads ``manual_renew``, as a live manual renewal does."""
    return EssenceLifecycle.MANUAL_RENEW.value if wanted.manual else wanted.lifecycle.value


def _absent_action(wanted: ServiceSpec, done: DoneBefore) -> Action:
    """An entry whose termination or deletion the journal saw done, and which the
    account no longer lists: nothing to do, and the reason says how we know."""
    gone = live_essence(None)
    typed = f" of type {wanted.type}" if wanted.type else ""
    return Action(
        service=wanted.key,
        name=wanted.name,
        service_id=None,
        type=wanted.type,
        action=ActionKind.NO_OP,
        before=gone,
        after=gone,
        irreversible=False,
        reason=f"already done: no service named {wanted.name!r}{typed} on the account, and "
        f"{done.evidence}",
        fingerprint=absent_fingerprint(wanted.name, wanted.type),
    )


# --- the plan --------------------------------------------------------------------------


def make_plan(
    spec: Spec,
    account: LiveAccount,
    *,
    now: datetime,
    endpoint: str,
    created_at: datetime | None = None,
    done_before: Mapping[str, DoneBefore] | None = None,
    tokens: Collection[str] = (),
    targets: Collection[str] | None = None,
) -> Plan:
    """The plan that brings ``account`` to what ``spec`` says, judged at ``now`` (the
    API's clock). ``created_at`` defaults to ``now``. ``done_before`` holds, by spec key,
    the terminations and deletions the apply journal saw done on this endpoint (see the
    module docstring: matching). ``tokens`` are the spec keys or names whose deletion
    token apply holds already (``--token``: ``not-admin-contact`` does not apply).
    ``targets`` (``--target``, spec keys) plans only those entries, as Terraform's
    ``-target``: every entry is still matched and counted as kept, so that the rules
    looking across entries (a service two entries name, a child another entry keeps)
    judge as for the whole spec, but only the targeted entries get actions, drift and
    refusals; the rest of the account is not compared (no unmanaged services, and the
    fingerprint is of the services the targeted entries name). Pure; never raises on
    any spec and live state (a naive ``now`` is a programming error: ``ValueError``)."""
    now = as_utc(now)
    matches = [match(wanted, account) for wanted in spec.services]
    matches = _refuse_shared(matches)
    kept_ids = _kept_ids(matches)
    prints = Prints(account)
    names = NearNames(service.name for service in account.services if not service.gone)
    actions: list[Action] = []
    refused: list[Refusal] = []
    drift: list[Drift] = []
    chosen = matches
    done = done_before or {}
    given = frozenset(tokens)
    if targets is not None:
        wanted_keys = frozenset(targets)
        chosen = [found for found in matches if found.wanted.key in wanted_keys]
    for found in chosen:
        outcome = _plan_entry(
            found,
            account,
            now=now,
            kept_ids=kept_ids,
            prints=prints,
            names=names,
            endpoint=endpoint,
            done_before=done,
            tokens=given,
        )
        if outcome.action is not None:
            actions.append(outcome.action)
        refused.extend(outcome.refused)
        drift.extend(outcome.drift)

    claimed = {service.service_id for m in matches for service in m.claimed}
    unclaimed = [s for s in account.services if s.service_id not in claimed and not s.gone]
    unmanaged: list[Unmanaged] = []
    looked_at: Iterable[LiveService] = account.services
    if targets is not None:  # a targeted plan compares nothing beyond its targets
        unclaimed = []
        looked_at = [service for found in chosen for service in found.claimed]
    if spec.unmanaged is not UnmanagedPolicy.IGNORE:
        unmanaged = [_unmanaged(service) for service in unclaimed]
    if spec.unmanaged is UnmanagedPolicy.ERROR:
        refused.extend(unmanaged_service(s) for s in unclaimed if s.manageable)

    actions.sort(key=_action_order)
    refused.sort(key=_refusal_order)
    drift.sort(key=lambda d: (d.service, d.field, repr(d.spec), repr(d.live)))
    unmanaged.sort(key=lambda u: (u.name, u.type, u.service_id))
    return Plan(
        created_at=as_utc(created_at) if created_at is not None else now,
        endpoint=endpoint,
        spec_source=spec.source,
        spec_digest=spec.digest,
        live_fingerprint=fingerprint_of_prints(prints.of(s) for s in looked_at),
        summary=summarise(actions, refused),
        actions=tuple(actions),
        refused=tuple(refused),
        drift=tuple(drift),
        unmanaged=tuple(unmanaged),
        spec=spec.services,
        unmanaged_policy=spec.unmanaged,
        billing=billing_of(actions, account),  # what the changes do to billing
        targets=None if targets is None else tuple(found.wanted.key for found in chosen),
    )


_GOING = (
    EssenceLifecycle.TERMINATE_AT_EXPIRY,
    EssenceLifecycle.TERMINATE_AT_COMMITMENT_END,
    EssenceLifecycle.DELETED,
)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one spec entry brings to the plan: an action, or refusals; and its drift."""

    action: Action | None = None
    refused: tuple[Refusal, ...] = ()
    drift: tuple[Drift, ...] = ()


def _plan_entry(
    found: Match,
    account: LiveAccount,
    *,
    now: datetime,
    kept_ids: set[int],
    prints: Prints,
    names: NearNames,
    endpoint: str = "",
    done_before: Mapping[str, DoneBefore],
    tokens: frozenset[str] = frozenset(),
) -> _Outcome:
    wanted, live = found.wanted, found.service
    if found.refusal is not None:
        return _Outcome(refused=(found.refusal,))
    if live is None:
        done = done_before.get(wanted.key)
        if done is not None and wanted.lifecycle is not Lifecycle.RENEW:
            return _Outcome(action=_absent_action(wanted, done))
        return _Outcome(refused=(unknown_service(wanted, names.near(wanted.name)),))
    before = live_essence(live, with_end_rule=manages_end_rule(wanted))
    after = wanted_essence(wanted, live, current=before)
    found_changes = changes(before, after)
    drift = drift_of(wanted, live, found_changes)
    kind = action_kind(found_changes, before)
    going = after.lifecycle in _GOING and not live.gone
    below = descendants(live, account) if going else ()
    new_period = period_change(wanted, before)
    refusals: tuple[Refusal, ...] = ()
    if kind is not ActionKind.NO_OP:  # never refused (``check``): nothing to judge
        proposal = Proposal(
            wanted=wanted,
            live=live,
            action=kind,
            period=new_period,
            kept=tuple(s for s in below if s.service_id in kept_ids),
            endpoint=endpoint,
            nichandle=account.nichandle,
            token_given=wanted.key in tokens or wanted.name in tokens,
            offered=account.offered_periods(live.service_id),
        )
        refusals = check(proposal, now=now)
    if refusals or kind is None:  # no action is always refused (already-terminated)
        return _Outcome(refused=refusals, drift=drift)
    action = Action(
        service=wanted.key,
        name=live.name,
        service_id=live.service_id,
        type=live.type,
        action=kind,
        before=before,
        after=after,
        irreversible=kind is ActionKind.DELETE_NOW,
        reason=reason_for(
            kind, live, before, after, tuple(f"{s.name} ({s.type})" for s in below) if below else ()
        ),
        calls=()
        if kind is ActionKind.NO_OP  # a no_op makes no call (``calls_for``)
        else calls_for(kind, live, after, period_changed=new_period is not None, endpoint=endpoint),
        fingerprint=prints.of(live),
        expires_at=expires_at(kind, live),
        expiration=utc(live.expiration) if live.expiration else None,
        commitment_ends=live.commitment.end_date if live.commitment else None,
        linked=tuple(sorted({s.name for s in below})) if below else (),
    )
    return _Outcome(action=action, drift=drift)


def recheck(
    action: Action,
    spec: Iterable[ServiceSpec],
    account: LiveAccount,
    *,
    now: datetime,
    endpoint: str = "",
) -> tuple[Refusal, ...]:
    """The rules judged again for one planned action, against the account and the clock
    at apply time (a cancellation planned at 25 h before expiry is refused when
    applied at 23 h). ``spec`` is the plan's normalised spec (``Plan.spec``); the linked
    children it keeps are looked up in ``account`` as it is now.

    Empty: the action may still be made. A service no longer on the account is refused
    (``already-terminated``). Whether the account moved at all is the fingerprints' job
    (``fingerprint``); this says only whether the rules still allow the action."""
    entries = tuple(spec)
    wanted = next((entry for entry in entries if entry.key == action.service), None)
    live = account.by_id(action.service_id) if action.service_id is not None else None
    if action.action is ActionKind.NO_OP or wanted is None:
        return ()
    if live is None:
        return (
            Refusal(
                service=action.service,
                service_id=action.service_id,
                rule=RuleCode.ALREADY_TERMINATED,
                message=f"{action.name} (id {action.service_id}) is no longer on the account",
                fix="plan again: the account changed since this plan was made",
            ),
        )
    kept: tuple[LiveService, ...] = ()
    if action.action in _DESTRUCTIVE_KINDS:
        kept_ids = _kept_ids(_refuse_shared([match(entry, account) for entry in entries]))
        below = descendants(live, account)
        kept = tuple(s for s in below if s.service_id in kept_ids)
    proposal = Proposal(
        wanted=wanted,
        live=live,
        action=action.action,
        period=period_change(wanted, live_essence(live)),
        kept=kept,
        endpoint=endpoint,
        offered=account.offered_periods(live.service_id),
    )
    return check(proposal, now=as_utc(now))


_DESTRUCTIVE_KINDS = (
    ActionKind.TERMINATE_AT_EXPIRY,
    ActionKind.TERMINATE_AT_COMMITMENT_END,
    ActionKind.DELETE_NOW,
)


def periods_to_read(spec: Spec, account: LiveAccount) -> tuple[int, ...]:
    """Ids of the live services whose offered periods a plan of ``spec`` needs, once the
    account is read (``observe.with_offered_periods``): those an entry asks to renew with
    a period *other than their own* — ``period-not-offered`` judges a change of period
    only, so a period the service already has needs no check: a spec written by
    ``reconciler import`` states every service's own period and needs none. Services
    already gone are left out (``already-terminated`` refuses first). Sorted, unique."""
    ids: set[int] = set()
    for entry in spec.services:
        wanted = normalise_period(entry.period) if entry.lifecycle is Lifecycle.RENEW else None
        if wanted is None:
            continue
        for service in account.named(entry.name):
            if entry.type is not None and not same_type(service.type, entry.type):
                continue
            if not service.gone and normalise_period(service.renew_period) != wanted:
                ids.add(service.service_id)
    return tuple(sorted(ids))


def summarise(actions: Iterable[Action], refused: Iterable[Refusal]) -> dict[str, int]:
    """Counts by action kind (every kind, zeros included, in ``ActionKind`` order) and
    ``refused``: the number of refusals (a service may break several rules at once)."""
    counted = Counter(action.action for action in actions)
    summary = {kind.value: counted.get(kind, 0) for kind in ActionKind}
    summary["refused"] = sum(1 for _ in refused)
    return summary


def period_change(wanted: ServiceSpec, before: Essence) -> str | None:
    """The period a change sets because the spec asks it (``renew`` with a ``period``
    other than the live one), normalised; ``None`` when the period is no part of it."""
    period = normalise_period(wanted.period)
    if wanted.lifecycle is not Lifecycle.RENEW or period is None or period == before.period:
        return None
    return period


def _kept_ids(matches: Iterable[Match]) -> set[int]:
    """Ids of the live services the spec wants kept: resolved by a ``renew`` entry."""
    return {
        found.service.service_id
        for found in matches
        if found.service is not None
        and found.refusal is None
        and found.wanted.lifecycle is Lifecycle.RENEW
    }


def _refuse_shared(matches: list[Match]) -> list[Match]:
    """Refuse every entry that resolves to a service another entry resolves to too."""
    keys_by_id: dict[int, list[str]] = {}
    for found in matches:
        if found.service is not None and found.refusal is None:
            keys_by_id.setdefault(found.service.service_id, []).append(found.wanted.key)
    shared = {service_id for service_id, keys in keys_by_id.items() if len(keys) > 1}
    if not shared:
        return matches
    result: list[Match] = []
    for found in matches:
        if found.service is not None and found.service.service_id in shared:
            others = [k for k in keys_by_id[found.service.service_id] if k != found.wanted.key]
            refusal = named_twice(found.wanted, found.service, others)
            found = Match(found.wanted, claimed=found.claimed, refusal=refusal)
        result.append(found)
    return result


def _unmanaged(service: LiveService) -> Unmanaged:
    return Unmanaged(
        name=service.name,
        service_id=service.service_id,
        type=service.type,
        lifecycle=service.lifecycle.value,
        expiration=utc(service.expiration) if service.expiration else None,
        manageable=service.manageable,
    )


# The kinds and rule codes are StrEnums: each sorts as its value, without the cost of
# ``.value`` (a Python-level property) 10,000 times.


def _action_order(action: Action) -> tuple[str, str, int, str]:
    return (action.service, action.name, action.service_id or -1, action.action)


def _refusal_order(refusal: Refusal) -> tuple[str, str, int, str]:
    return (refusal.service, refusal.rule, refusal.service_id or -1, refusal.message)
