"""The typed steps (``reconciler.core.steps``): each writes its own call, the plan file
writes a step as that call, and apply executes only steps it planned itself."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from planner_helpers import live_account, live_service, spec_of

from reconciler.core import planfile
from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.live import Commitment, EndStrategy, LiveService
from reconciler.core.plan import TOKEN_PLACEHOLDER, Call, Plan
from reconciler.core.planner import make_plan
from reconciler.core.steps import (
    ConfirmTermination,
    RequestTermination,
    SetEndRule,
    SetRenew,
    SetRenewalObject,
    SetTerminationPolicy,
    Step,
    StepKind,
    TerminationPolicy,
    UnknownCall,
    fallbacks_of,
    steps_of,
)

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
ROUTE = "/hosting/web/www.example.com"


def service(**changes: Any) -> LiveService:
    return dataclasses.replace(live_service({"id": 7, "name": "www.example.com"}), **changes)


@pytest.mark.parametrize(
    ("step", "method", "path", "body"),
    [
        (
            SetTerminationPolicy(service_id=7, policy=TerminationPolicy.TERMINATE_AT_EXPIRY),
            "PUT",
            "/services/7",
            {"terminationPolicy": "terminateAtExpirationDate"},
        ),
        (
            SetTerminationPolicy(service_id=7, policy=TerminationPolicy.CANCEL),
            "PUT",
            "/services/7",
            {"terminationPolicy": "empty"},
        ),
        (
            SetRenew(service_id=7, mode="manual", period="P12M"),
            "PUT",
            "/services/7",
            {"renew": {"mode": "manual", "period": "P12M"}},
        ),
        (
            SetRenew(service_id=7, mode="automatic", period=None),
            "PUT",
            "/services/7",
            {"renew": {"mode": "automatic"}},
        ),
        (
            SetRenewalObject(service_id=7, route=ROUTE, mode="manual", months=12),
            "PUT",
            f"{ROUTE}/serviceInfos",
            {
                "renew": {
                    "automatic": False,
                    "deleteAtExpiration": False,
                    "manualPayment": True,
                    "period": 12,
                }
            },
        ),
        (
            SetEndRule(service_id=7, strategy=EndStrategy.REACTIVATE_ENGAGEMENT),
            "PUT",
            "/services/7/billing/engagement/endRule",
            {"strategy": "REACTIVATE_ENGAGEMENT"},
        ),
        (RequestTermination(service_id=7, route=ROUTE), "POST", f"{ROUTE}/terminate", None),
        (RequestTermination(service_id=7, route=None), "POST", "/services/7/terminate", None),
        (
            ConfirmTermination(service_id=7, route=None),
            "POST",
            "/services/7/terminate/confirm",
            {"token": TOKEN_PLACEHOLDER},
        ),
        (
            ConfirmTermination(service_id=7, route=ROUTE),
            "POST",
            f"{ROUTE}/confirmTermination",
            {"token": TOKEN_PLACEHOLDER},
        ),
    ],
    ids=lambda value: value.kind.value if isinstance(value, Step) else None,
)
def test_each_step_writes_its_call_and_is_dumped_as_that_call(
    step: Step, method: str, path: str, body: dict[str, Any] | None
) -> None:
    recorded = Call(method=method, path=path, body=body)  # type: ignore[arg-type]
    assert (step.method, step.path, step.body) == (method, path, body)
    assert step.model_dump() == recorded.model_dump()  # the meaning fields stay in memory
    assert step == recorded and recorded == step and hash(step) == hash(recorded)
    assert step.text() == recorded.text()


def test_effects_are_read_on_the_live_service() -> None:
    expiring = service(lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY)
    terminate = SetTerminationPolicy(service_id=7, policy=TerminationPolicy.TERMINATE_AT_EXPIRY)
    cancel = SetTerminationPolicy(service_id=7, policy=TerminationPolicy.CANCEL)
    assert terminate.effect_shown(expiring) and not terminate.effect_shown(service())
    assert cancel.effect_shown(service()) and not cancel.effect_shown(expiring)

    manual = service(renew_mode="manual", lifecycle=LiveLifecycle.MANUAL_RENEW, renew_period="P1Y")
    assert SetRenew(service_id=7, mode="manual", period="P12M").effect_shown(manual)
    assert not SetRenew(service_id=7, mode="manual", period="P1M").effect_shown(manual)
    renewal = SetRenewalObject(service_id=7, route=ROUTE, mode="manual", months=None)
    assert renewal.effect_shown(manual)
    # deleteAtExpiration false: a manual renewal still terminating is not the effect.
    assert not renewal.effect_shown(dataclasses.replace(manual, lifecycle=LiveLifecycle.RENEW))

    rule = SetEndRule(service_id=7, strategy=EndStrategy.REACTIVATE_ENGAGEMENT)
    committed = service(commitment=Commitment(None, EndStrategy.REACTIVATE_ENGAGEMENT))
    assert rule.effect_shown(committed) and not rule.effect_shown(service())

    request = RequestTermination(service_id=7, route=ROUTE)
    assert request.effect_shown(None)  # not on the account any more
    assert request.effect_shown(service(lifecycle_state="terminated"))
    assert not request.effect_shown(service(lifecycle=LiveLifecycle.EXPIRED))


def test_fallbacks_are_typed_steps_of_the_same_service() -> None:
    request, confirm = (
        RequestTermination(service_id=7, route=ROUTE),
        ConfirmTermination(service_id=7, route=None),
    )
    request_fallback, confirm_fallback = fallbacks_of(request, confirm)
    assert request_fallback == RequestTermination(service_id=7, route=None)
    assert confirm_fallback == ConfirmTermination(service_id=7, route=ROUTE)
    assert fallbacks_of(RequestTermination(service_id=7, route=None), confirm) == (None, None)
    renewal = SetRenewalObject(service_id=7, route=ROUTE, mode="automatic", months=12)
    assert renewal.fallback() == SetRenew(service_id=7, mode="automatic", period="P12M")
    assert renewal.fallback().kind is StepKind.RENEW


def plan_of(spec: dict[str, Any], **live: Any) -> Plan:
    account = live_account([{"id": 7, "name": "www.example.com", **live}])
    return make_plan(spec_of(spec), account, now=NOW, endpoint="ovh-eu")


SPEC = {"services": {"www.example.com": {"lifecycle": "delete_now"}}}


def test_the_planner_emits_steps_and_a_plan_read_back_holds_plain_calls() -> None:
    plan = plan_of(SPEC)
    (action,) = plan.changes
    request, confirm = steps_of(action)
    assert isinstance(request, RequestTermination) and isinstance(confirm, ConfirmTermination)

    again = planfile.parse_plan(planfile.dump_plan(plan))
    assert again == plan  # a step equals the call it is written as
    (read,) = again.changes
    assert all(type(call) is Call for call in read.calls)
    with pytest.raises(UnknownCall, match="not planned by this run"):
        steps_of(read)  # apply never sends what it did not plan itself


def test_a_step_of_another_service_is_refused() -> None:
    (action,) = plan_of(SPEC).changes
    elsewhere = action.model_copy(
        update={"calls": (SetTerminationPolicy(service_id=8, policy=TerminationPolicy.CANCEL),)}
    )
    with pytest.raises(UnknownCall, match="not the action's own service"):
        steps_of(elsewhere)
