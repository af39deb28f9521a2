"""The typed steps of an action: what the planner asks for, and what apply makes. Pure.

Each step is one API call that knows what it means: the planner builds it from typed
fields (a service id and a termination policy, a renewal mode and period...), the call's
method, path and body are written in one place (the step's constructor), and the step
says which effect on the live service shows it made (``effect_shown``). Apply never
sends a call whose effect it cannot check on the account: after an ambiguous failure
(5xx, dropped connection, timeout) the only safe next move is to re-read the service and
look for the effect (docs/architecture.md, "Apply").

A step *is* a ``Call`` (``reconciler.core.plan``): the plan file writes a step as the call
it sends, so the plan JSON is the same whether written from steps or read back. A plan
read from a file holds plain ``Call`` values: shown and compared, never executed. Apply
executes only the steps of a plan it made itself (it plans again before applying a saved
plan, and compares); a plain call reaching it is a bug (``UnknownCall``), refused before
anything is sent.
"""

from __future__ import annotations

from abc import abstractmethod
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import SerializerFunctionWrapHandler, model_serializer

from reconciler.core.diff import live_essence, normalise_period
from reconciler.core.lifecycle import EssenceLifecycle, LiveLifecycle
from reconciler.core.live import (
    TERMINATE_AT_ENGAGEMENT_ACTION,
    TERMINATE_AT_EXPIRY_ACTION,
    EndStrategy,
    LiveService,
)
from reconciler.core.plan import TOKEN_PLACEHOLDER, Action, Call

RenewMode = Literal["automatic", "manual"]  # the API's renew.mode
Method = Literal["GET", "PUT", "POST", "DELETE"]


class StepKind(StrEnum):
    """The journal's name of each kind of step (``detail.step``): stable, since a later
    run reads the journal an earlier one wrote."""

    TERMINATION_POLICY = "termination-policy"
    RENEW = "renew"
    REQUEST_TERMINATION = "request-termination"
    CONFIRM_TERMINATION = "confirm-termination"
    RENEWAL_OBJECT = "renewal-object"
    END_RULE = "end-rule"


class TerminationPolicy(StrEnum):
    """The values of ``terminationPolicy`` the planner sends on ``PUT /services/{id}``."""

    TERMINATE_AT_EXPIRY = TERMINATE_AT_EXPIRY_ACTION
    TERMINATE_AT_COMMITMENT_END = TERMINATE_AT_ENGAGEMENT_ACTION
    # Cancels a pending termination (and switches renewal to automatic: never sent to
    # a service the spec wants renewed by hand).
    CANCEL = "empty"


class Step(Call):
    """A planned call that knows its meaning (see the module docstring). Subclasses
    take typed fields only; their constructor writes the call. The fields it writes
    (``method``, ``path``, ``body``) are the call's, the rest say what it means."""

    kind: ClassVar[StepKind]
    service_id: int

    def __init__(
        self, *, method: Method, path: str, body: dict[str, Any] | None = None, **meaning: Any
    ) -> None:
        super().__init__(method=method, path=path, body=body, **meaning)

    @model_serializer(mode="wrap")
    def _as_call(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Dumped on its own, a step is the call it sends, as it is inside a plan.
        data = handler(self)
        return {field: data[field] for field in Call.model_fields}

    @abstractmethod
    def effect_shown(self, live: LiveService | None) -> bool:
        """Whether the account shows this step made, from the service as read now
        (``None``: not on the account)."""


class SetTerminationPolicy(Step):
    """``PUT /services/{id} {terminationPolicy}``: terminate at expiry, at the end of
    the commitment, or (``empty``) cancel the termination pending."""

    kind: ClassVar[StepKind] = StepKind.TERMINATION_POLICY
    policy: TerminationPolicy

    def __init__(self, *, service_id: int, policy: TerminationPolicy) -> None:
        super().__init__(
            method="PUT",
            path=f"/services/{service_id}",
            body={"terminationPolicy": policy.value},
            service_id=service_id,
            policy=policy,
        )

    def effect_shown(self, live: LiveService | None) -> bool:
        gone = live is None or live.gone
        lifecycle = live.lifecycle if live is not None else None
        if self.policy is TerminationPolicy.TERMINATE_AT_EXPIRY:
            return gone or lifecycle is LiveLifecycle.TERMINATE_AT_EXPIRY
        if self.policy is TerminationPolicy.TERMINATE_AT_COMMITMENT_END:
            return gone or lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END
        return not gone and lifecycle not in _TERMINATING


class SetRenew(Step):
    """``PUT /services/{id} {renew: {mode, period}}``: the renewal through ``/services``
    (``period`` ``None``: the service's own period is left as it is)."""

    kind: ClassVar[StepKind] = StepKind.RENEW
    mode: RenewMode
    period: str | None

    def __init__(self, *, service_id: int, mode: RenewMode, period: str | None) -> None:
        renew: dict[str, Any] = {"mode": mode}
        if period is not None:
            renew["period"] = period
        super().__init__(
            method="PUT",
            path=f"/services/{service_id}",
            body={"renew": renew},
            service_id=service_id,
            mode=mode,
            period=period,
        )

    def effect_shown(self, live: LiveService | None) -> bool:
        return _renewal_shown(live, self.mode, self.period, lifecycle_too=False)


class SetRenewalObject(Step):
    """``PUT {route}/serviceInfos {renew: {automatic, deleteAtExpiration, manualPayment,
    period}}``: the control panel's renewal change (``service.RenewType``, the period in
    months). Its recorded fallback, sent only when it is refused and a re-read shows
    nothing changed, is the same renewal through ``/services`` (``fallback``;
    docs/control-panel.md)."""

    kind: ClassVar[StepKind] = StepKind.RENEWAL_OBJECT
    route: str  # the product's own API path (route.url), already safe to send
    mode: RenewMode
    months: int | None

    def __init__(self, *, service_id: int, route: str, mode: RenewMode, months: int | None) -> None:
        manual = mode == "manual"
        # deleteAtExpiration false: no termination is left pending by a renewal change.
        renew: dict[str, Any] = {
            "automatic": not manual,
            "deleteAtExpiration": False,
            "manualPayment": manual,
        }
        if months is not None:
            renew["period"] = months
        super().__init__(
            method="PUT",
            path=f"{route}/serviceInfos",
            body={"renew": renew},
            service_id=service_id,
            route=route,
            mode=mode,
            months=months,
        )

    @property
    def period(self) -> str | None:
        return f"P{self.months}M" if self.months is not None else None

    def fallback(self) -> SetRenew:
        return SetRenew(service_id=self.service_id, mode=self.mode, period=self.period)

    def effect_shown(self, live: LiveService | None) -> bool:
        return _renewal_shown(live, self.mode, self.period, lifecycle_too=True)


class SetEndRule(Step):
    """``PUT /services/{id}/billing/engagement/endRule {strategy}``: what happens at the
    end of the service's commitment."""

    kind: ClassVar[StepKind] = StepKind.END_RULE
    strategy: EndStrategy

    def __init__(self, *, service_id: int, strategy: EndStrategy) -> None:
        super().__init__(
            method="PUT",
            path=f"/services/{service_id}/billing/engagement/endRule",
            body={"strategy": strategy.value},
            service_id=service_id,
            strategy=strategy,
        )

    def effect_shown(self, live: LiveService | None) -> bool:
        if live is None or live.gone or live.commitment is None:
            return False
        return live.commitment.strategy is self.strategy


class RequestTermination(Step):
    """A deletion's first call: ``POST {route}/terminate`` on the product's route (a web
    hosting's ``/hosting/web/{name}``), or ``POST /services/{id}/terminate``
    (``route`` ``None``). OVH e-mails the confirmation token to the account."""

    kind: ClassVar[StepKind] = StepKind.REQUEST_TERMINATION
    route: str | None

    def __init__(self, *, service_id: int, route: str | None) -> None:
        base = route if route is not None else f"/services/{service_id}"
        super().__init__(
            method="POST", path=f"{base}/terminate", service_id=service_id, route=route
        )

    def fallback(self) -> RequestTermination | None:
        """The recorded fallback of a request on the product's route:
        ``POST /services/{id}/terminate`` (docs/control-panel.md §8.22)."""
        if self.route is None:
            return None
        return RequestTermination(service_id=self.service_id, route=None)

    def effect_shown(self, live: LiveService | None) -> bool:
        # The request shows in the e-mail history, which the deletion flow reads itself:
        # on the service it shows only once the service is deleted.
        return deletion_done(live)


class ConfirmTermination(Step):
    """A deletion's second call, with the e-mailed token (the plan holds its
    placeholder): ``POST /services/{id}/terminate/confirm`` (``route`` ``None``) or
    ``POST {route}/confirmTermination`` on the product's route."""

    kind: ClassVar[StepKind] = StepKind.CONFIRM_TERMINATION
    route: str | None

    def __init__(self, *, service_id: int, route: str | None) -> None:
        path = (
            f"/services/{service_id}/terminate/confirm"
            if route is None
            else f"{route}/confirmTermination"
        )
        super().__init__(
            method="POST",
            path=path,
            body={"token": TOKEN_PLACEHOLDER},
            service_id=service_id,
            route=route,
        )

    def effect_shown(self, live: LiveService | None) -> bool:
        return deletion_done(live)


class UnknownCall(ValueError):
    """A call apply did not plan itself (a bug: never sent)."""


def steps_of(action: Action) -> tuple[Step, ...]:
    """``action``'s steps, in order: ``UnknownCall`` for a call that is no step of this
    service (read from a file, or built by hand: apply executes only what it planned)."""
    found: list[Step] = []
    for call in action.calls:
        if not isinstance(call, Step):
            raise UnknownCall(
                f"{call.method} {call.path} was not planned by this run; apply makes only "
                "the calls it planned itself"
            )
        if call.service_id != action.service_id:
            raise UnknownCall(f"{call.method} {call.path} is not the action's own service")
        found.append(call)
    return tuple(found)


def fallbacks_of(
    request: RequestTermination, confirm: ConfirmTermination
) -> tuple[RequestTermination | None, ConfirmTermination | None]:
    """The recorded fallbacks of a deletion's two steps (docs/control-panel.md §8.22,
    §9 Q8), each sent only when its first call is refused and a re-read shows nothing
    changed: a request on the product's route falls back to
    ``POST /services/{id}/terminate``; a confirmation on ``/services`` after a request on
    the product's route falls back to the product's ``POST {route}/confirmTermination``
    with the same token. ``None``: none."""
    confirm_fallback = (
        ConfirmTermination(service_id=confirm.service_id, route=request.route)
        if request.route is not None and confirm.route is None
        else None
    )
    return request.fallback(), confirm_fallback


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


_TERMINATING = (LiveLifecycle.TERMINATE_AT_EXPIRY, LiveLifecycle.TERMINATE_AT_COMMITMENT_END)
_RENEWING_AS = {"automatic": LiveLifecycle.RENEW, "manual": LiveLifecycle.MANUAL_RENEW}


def _renewal_shown(
    live: LiveService | None, mode: RenewMode, period: str | None, *, lifecycle_too: bool
) -> bool:
    """The renewal in ``mode`` (and ``period``, unless ``None``) shows on ``live``; with
    ``lifecycle_too`` no termination is left pending either (``deleteAtExpiration``
    false)."""
    if live is None or live.gone or live.renew_mode != mode:
        return False
    if lifecycle_too and live.lifecycle is not _RENEWING_AS[mode]:
        return False
    return period is None or normalise_period(live.renew_period) == normalise_period(period)


def already_as_wanted(action: Action, live: LiveService | None) -> bool:
    """Whether the service is already where the action takes it: the lifecycle, and for
    a renewal (automatic or by hand) the period too; a termination's period does not
    matter."""
    wanted = action.after
    now = live_essence(live, with_end_rule=wanted.commitment_end is not None)
    if now.lifecycle is not wanted.lifecycle or now.commitment_end != wanted.commitment_end:
        return False
    if wanted.lifecycle in _RENEWING and wanted.period is not None:
        return normalise_period(now.period) == normalise_period(wanted.period)
    return True


_RENEWING = (EssenceLifecycle.RENEW, EssenceLifecycle.MANUAL_RENEW)
