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
from reconciler.core.live import LiveLifecycle, LiveService
from reconciler.core.plan import TOKEN_PLACEHOLDER, Action, Call

TERMINATE_AT_EXPIRY_POLICY = "terminateAtExpirationDate"
CANCEL_POLICY = "empty"

_SERVICE = re.compile(r"/services/(\d+)")
_REQUEST = re.compile(r"(/hosting/web/[^/]+/terminate|/services/\d+/terminate)")
_CONFIRM = re.compile(r"(/hosting/web/[^/]+/confirmTermination|/services/\d+/terminate/confirm)")
_ROUTE_REQUEST = re.compile(r"(/hosting/web/[^/]+)/terminate")


class StepKind(StrEnum):
    TERMINATION_POLICY = "termination-policy"  # PUT /services/{id} {terminationPolicy}
    RENEW = "renew"  # PUT /services/{id} {renew: {mode, period}}
    REQUEST_TERMINATION = "request-termination"  # POST .../terminate: an e-mail is sent
    CONFIRM_TERMINATION = "confirm-termination"  # POST .../confirmTermination {token}


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    call: Call
    policy: str | None = None  # TERMINATION_POLICY
    mode: str | None = None  # RENEW
    period: str | None = None  # RENEW; None: the period is left as it is


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
        if set(body) == {"terminationPolicy"} and body["terminationPolicy"] in (
            TERMINATE_AT_EXPIRY_POLICY,
            CANCEL_POLICY,
        ):
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
    if call.method == "POST" and _REQUEST.fullmatch(call.path) and not body:
        return Step(StepKind.REQUEST_TERMINATION, call)
    if (
        call.method == "POST"
        and _CONFIRM.fullmatch(call.path)
        and body == {"token": TOKEN_PLACEHOLDER}
    ):
        return Step(StepKind.CONFIRM_TERMINATION, call)
    raise UnknownCall(f"apply does not know how to verify {call.method} {call.path}")


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
    if step.kind is StepKind.TERMINATION_POLICY:
        if step.policy == TERMINATE_AT_EXPIRY_POLICY:
            return gone or live_lifecycle(live) is LiveLifecycle.TERMINATE_AT_EXPIRY
        return not gone and live_lifecycle(live) is not LiveLifecycle.TERMINATE_AT_EXPIRY
    if step.kind is StepKind.RENEW:
        if gone or live is None:
            return False
        if live.renew_mode != step.mode:
            return False
        return step.period is None or normalise_period(live.renew_period) == normalise_period(
            step.period
        )
    return deletion_done(live)  # request / confirm: deleted is the only effect a read shows


def live_lifecycle(live: LiveService | None) -> LiveLifecycle | None:
    return None if live is None else live.lifecycle


def already_as_wanted(action: Action, live: LiveService | None) -> bool:
    """Whether the service is already where the action takes it: the lifecycle, and for
    a renewal (automatic or by hand) the period too; a termination's period does not
    matter."""
    now = live_essence(live).as_dict()
    wanted = action.after.get("lifecycle")
    if now.get("lifecycle") != wanted:
        return False
    if wanted in _RENEWING and action.after.get("period") is not None:
        return normalise_period(now.get("period")) == normalise_period(action.after["period"])
    return True


_RENEWING = (EssenceLifecycle.RENEW.value, EssenceLifecycle.MANUAL_RENEW.value)
