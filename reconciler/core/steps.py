"""The calls of an action as steps apply knows how to verify. Pure.

Apply never sends a call whose effect it cannot check on the account: after an
ambiguous failure (5xx, dropped connection, timeout) the only safe next move is to
re-read the service and look for the effect, so every kind of call maps to a
predicate over the live service. A call of any other shape is refused before anything
is sent (``UnknownCall``): the planner and apply disagree, which is a bug to report,
not something to guess around.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.core.diff import EssenceLifecycle, live_essence, normalise_period
from reconciler.core.live import (
    TERMINATE_AT_ENGAGEMENT_ACTION,
    EndStrategy,
    LiveLifecycle,
    LiveService,
)
from reconciler.core.plan import TOKEN_PLACEHOLDER, Action, Call

TERMINATE_AT_EXPIRY_POLICY = "terminateAtExpirationDate"
TERMINATE_AT_COMMITMENT_END_POLICY = TERMINATE_AT_ENGAGEMENT_ACTION
CANCEL_POLICY = "empty"
_POLICIES = (TERMINATE_AT_EXPIRY_POLICY, TERMINATE_AT_COMMITMENT_END_POLICY, CANCEL_POLICY)
_SERVICE_INFOS = re.compile(r"(/[^?#]+)/serviceInfos")
_END_RULE = re.compile(r"/services/(\d+)/billing/engagement/endRule")
_RENEW_OBJECT_KEYS = frozenset(("automatic", "deleteAtExpiration", "manualPayment", "period"))

_SERVICE = re.compile(r"/services/(\d+)")
_REQUEST = re.compile(r"(/hosting/web/[^/]+/terminate|/services/\d+/terminate)")
_CONFIRM = re.compile(r"(/hosting/web/[^/]+/confirmTermination|/services/\d+/terminate/confirm)")
_ROUTE_REQUEST = re.compile(r"(/hosting/web/[^/]+)/terminate")


class StepKind(StrEnum):
    TERMINATION_POLICY = "termination-policy"  # PUT /services/{id} {terminationPolicy}
    RENEW = "renew"  # PUT /services/{id} {renew: {mode, period}}
    REQUEST_TERMINATION = "request-termination"  # POST .../terminate: an e-mail is sent
    CONFIRM_TERMINATION = "confirm-termination"  # POST .../confirmTermination {token}
    # PUT {route.url}/serviceInfos {renew: {automatic, manualPayment, ...}}: the panel's
    # renewal change (falls back to RENEW on /services when refused with no effect).
    RENEWAL_OBJECT = "renewal-object"
    END_RULE = "end-rule"  # PUT /services/{id}/billing/engagement/endRule {strategy}


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    call: Call
    policy: str | None = None  # TERMINATION_POLICY
    mode: str | None = None  # RENEW, RENEWAL_OBJECT
    period: str | None = None  # RENEW, RENEWAL_OBJECT; None: the period is left as it is
    strategy: EndStrategy | None = None  # END_RULE


class UnknownCall(ValueError):
    """A planned call apply does not know how to verify (a bug: never sent)."""


def steps_of(action: Action) -> tuple[Step, ...]:
    """The steps of ``action``'s calls, in order; ``UnknownCall`` for any other call."""
    return tuple(step_of(call, action.service_id) for call in action.calls)


def step_of(call: Call, service_id: int | None) -> Step:
    body: Mapping[str, Any] = call.body or {}
    if call.method == "PUT" and _SERVICE.fullmatch(call.path):
        if service_id is None or call.path != f"/services/{service_id}":
            raise UnknownCall(f"{call.method} {call.path} is not the action's own service")
        if set(body) == {"terminationPolicy"} and body["terminationPolicy"] in _POLICIES:
            return Step(StepKind.TERMINATION_POLICY, call, policy=body["terminationPolicy"])
        renew = body.get("renew")
        if (
            set(body) == {"renew"}
            and isinstance(renew, Mapping)
            and renew.get("mode") in ("automatic", "manual")
            and set(renew) <= {"mode", "period"}
            and (renew.get("period") is None or isinstance(renew.get("period"), str))
        ):
            return Step(StepKind.RENEW, call, mode=renew["mode"], period=renew.get("period"))
    if call.method == "PUT" and _END_RULE.fullmatch(call.path):
        if service_id is None or not call.path.startswith(f"/services/{service_id}/"):
            raise UnknownCall(f"{call.method} {call.path} is not the action's own service")
        strategy = body.get("strategy")
        if set(body) == {"strategy"} and strategy in set(EndStrategy):
            return Step(StepKind.END_RULE, call, strategy=EndStrategy(strategy))
    if call.method == "PUT" and _SERVICE_INFOS.fullmatch(call.path):
        step = _renewal_object_step(call, body)
        if step is not None:
            return step
    if call.method == "POST" and _REQUEST.fullmatch(call.path) and not body:
        return Step(StepKind.REQUEST_TERMINATION, call)
    if (
        call.method == "POST"
        and _CONFIRM.fullmatch(call.path)
        and body == {"token": TOKEN_PLACEHOLDER}
    ):
        return Step(StepKind.CONFIRM_TERMINATION, call)
    raise UnknownCall(f"apply does not know how to verify {call.method} {call.path}")


def _renewal_object_step(call: Call, body: Mapping[str, Any]) -> Step | None:
    renew = body.get("renew")
    if set(body) != {"renew"} or not isinstance(renew, Mapping) or not renew:
        return None
    if set(renew) - _RENEW_OBJECT_KEYS or renew.get("deleteAtExpiration") is not False:
        return None
    automatic, manual = renew.get("automatic"), renew.get("manualPayment")
    if not isinstance(automatic, bool) or manual is not (not automatic):
        return None
    months = renew.get("period")
    if months is not None and (isinstance(months, bool) or not isinstance(months, int)):
        return None
    return Step(
        StepKind.RENEWAL_OBJECT,
        call,
        mode="automatic" if automatic else "manual",
        period=f"P{months}M" if months is not None else None,
    )


def renewal_fallback(step: Step, service_id: int) -> Step:
    """The recorded fallback of a renewal-object step: the same renewal through
    ``PUT /services/{id} {renew: {mode, period}}``, sent only when the first is refused
    and a re-read shows nothing changed (docs/control-panel.md)."""
    renew: dict[str, Any] = {"mode": step.mode}
    if step.period is not None:
        renew["period"] = step.period
    call = Call(method="PUT", path=f"/services/{service_id}", body={"renew": renew})
    return Step(StepKind.RENEW, call, mode=step.mode, period=step.period)


def fallbacks_of(request: Step, confirm: Step, service_id: int) -> tuple[Step | None, Step | None]:
    """The recorded fallbacks of a deletion's two steps (docs/control-panel.md §8.22,
    §9 Q8), each sent only when its first call is refused and a re-read shows nothing
    changed: a request on the product's route falls back to
    ``POST /services/{id}/terminate``; a confirmation on ``/services`` falls back to the
    product's ``POST {route}/confirmTermination`` with the same token. ``None``: none."""
    route = _ROUTE_REQUEST.fullmatch(request.call.path)
    request_fallback = (
        Step(
            StepKind.REQUEST_TERMINATION,
            Call(method="POST", path=f"/services/{service_id}/terminate"),
        )
        if route is not None
        else None
    )
    confirm_fallback = (
        Step(
            StepKind.CONFIRM_TERMINATION,
            Call(
                method="POST",
                path=f"{route.group(1)}/confirmTermination",
                body={"token": TOKEN_PLACEHOLDER},
            ),
        )
        if route is not None and confirm.call.path == f"/services/{service_id}/terminate/confirm"
        else None
    )
    return request_fallback, confirm_fallback


# What a re-read must show before a deletion is reported done (docs/control-panel.md
# §1.6 R1 and R2, §8.24): terminated, its resource deleted, or being deleted.
_DELETED_RESOURCE = frozenset(("deleted", "toDelete"))


def deletion_done(live: LiveService | None) -> bool:
    """Whether ``live`` shows a deletion made: not on the account any more (``None``:
    ``GET /services/{id}`` answered that the service does not exist), its lifecycle
    ``terminated``, or its resource ``deleted`` or ``toDelete``. An expired or suspended
    service is not deleted: anything else leaves the step not done."""
    if live is None:
        return True
    return live.lifecycle_state == "terminated" or live.resource_state in _DELETED_RESOURCE


def effect_shown(step: Step, live: LiveService | None) -> bool:
    """Whether the account shows ``step`` made, from the service as read now (``None``:
    not on the account). The termination request shows only in the e-mail history,
    which the deletion flow reads itself: here it shows only once the service is gone."""
    gone = live is None or live.gone
    lifecycle = live_lifecycle(live)
    if step.kind is StepKind.TERMINATION_POLICY:
        if step.policy == TERMINATE_AT_EXPIRY_POLICY:
            return gone or lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY
        if step.policy == TERMINATE_AT_COMMITMENT_END_POLICY:
            return gone or lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END
        return not gone and lifecycle not in _TERMINATING
    if step.kind is StepKind.END_RULE:
        commitment = live.commitment if live is not None else None
        return not gone and commitment is not None and commitment.strategy is step.strategy
    if step.kind in (StepKind.RENEW, StepKind.RENEWAL_OBJECT):
        if gone or live is None:
            return False
        if live.renew_mode != step.mode:
            return False
        if step.kind is StepKind.RENEWAL_OBJECT and lifecycle is not _RENEWING_AS.get(
            step.mode or ""
        ):
            return False  # deleteAtExpiration false: no termination left pending
        return step.period is None or normalise_period(live.renew_period) == normalise_period(
            step.period
        )
    return deletion_done(live)  # request / confirm: deleted is the only effect a read shows


_TERMINATING = (LiveLifecycle.TERMINATE_AT_EXPIRY, LiveLifecycle.TERMINATE_AT_COMMITMENT_END)
_RENEWING_AS = {"automatic": LiveLifecycle.RENEW, "manual": LiveLifecycle.MANUAL_RENEW}


def live_lifecycle(live: LiveService | None) -> LiveLifecycle | None:
    return None if live is None else live.lifecycle


def already_as_wanted(action: Action, live: LiveService | None) -> bool:
    """Whether the service is already where the action takes it: the lifecycle, and for
    a renewal (automatic or by hand) the period too; a termination's period does not
    matter."""
    wanted_end = action.after.get("commitment_end")
    now = live_essence(live, with_end_rule=wanted_end is not None).as_dict()
    wanted = action.after.get("lifecycle")
    if now.get("lifecycle") != wanted or now.get("commitment_end") != wanted_end:
        return False
    if wanted in _RENEWING and action.after.get("period") is not None:
        return normalise_period(now.get("period")) == normalise_period(action.after["period"])
    return True


_RENEWING = (EssenceLifecycle.RENEW.value, EssenceLifecycle.MANUAL_RENEW.value)
