"""Plan and apply judge a change whose moment has passed the same way, at every instant.

The moment a change relies on is its ``expires_at``: 24 hours before expiry for a
cancellation, the expiry for every other change. Around it, ``reconciler plan`` (the
planner's rules at the clock's ``now``) and ``reconciler apply`` (the approved plan
judged against the plan made again at apply time) must say the same thing: both allow
it, or both refuse it with the same rule code and the same exit code (3). Before the
two shared one judgement, plan said "changes" (exit 2) just after an expiry while apply
refused the same action as ``action-expired`` (exit 3), a code in no rule table.

Pure: live accounts built by hand, plans made by the real planner, the clock a
parameter; the exit codes are those of the errors the commands raise.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from live_services import EXPIRY, live_service

from reconciler.core import rules
from reconciler.core.approval import Verdict, judge
from reconciler.core.lifecycle import Lifecycle, LiveLifecycle
from reconciler.core.live import LiveAccount, LiveService
from reconciler.core.plan import ActionKind, Plan, RuleCode
from reconciler.core.planner import make_plan
from reconciler.core.spec import ServiceSpec, Spec, UnmanagedPolicy
from reconciler.errors import ReconcilerError

LONG_BEFORE = EXPIRY - timedelta(days=30)  # when the reviewed plan was made
SECOND = timedelta(seconds=1)
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes to apply


def live(
    name: str,
    *,
    type: str = "domain",
    lifecycle: LiveLifecycle = LiveLifecycle.RENEW,
    period: str = "P12M",
) -> LiveService:
    return live_service(7, name, type=type, lifecycle=lifecycle, period=period)


def wanted(name: str, lifecycle: Lifecycle, period: str | None = None) -> Spec:
    return Spec(
        unmanaged=UnmanagedPolicy.IGNORE,
        services=(ServiceSpec(key=name, name=name, lifecycle=lifecycle, period=period),),
        source="spec.yaml",
        digest="sha256:" + "0" * 64,
    )


# Each change kind, with the live service it is planned for and the moment it relies on.
CASES = {
    "terminate_at_expiry": (
        wanted("a.example.com", Lifecycle.TERMINATE_AT_EXPIRY),
        live("a.example.com"),
        EXPIRY,
    ),
    "set_renew": (
        wanted("a.example.com", Lifecycle.RENEW, "P24M"),
        live("a.example.com"),
        EXPIRY,
    ),
    "delete_now": (
        wanted("shop.example.com", Lifecycle.DELETE_NOW),
        live("shop.example.com", type="hosting/web"),
        EXPIRY,
    ),
    "cancel_termination": (
        wanted("b.example.com", Lifecycle.RENEW),
        live("b.example.com", lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY),
        EXPIRY - rules.CANCEL_WINDOW,
    ),
}

# Instants around the moment (offsets from it), and around the expiry itself.
OFFSETS = (
    -timedelta(days=1),
    -timedelta(minutes=1),
    -SECOND,
    timedelta(0),
    SECOND,
    timedelta(minutes=1),
)


def plan_at(spec: Spec, service: LiveService, now: datetime) -> Plan:
    account = LiveAccount.from_services((service,))
    offered = account.with_offered_periods({service.service_id: ("P1M", "P12M", "P24M")})
    return make_plan(spec, offered, now=now, endpoint="ovh-eu")


def again(approved: Plan, service: LiveService, now: datetime) -> Plan:
    """The plan apply makes at ``now``: from the approved plan's own spec."""
    embedded = Spec(
        unmanaged=approved.unmanaged_policy,
        services=approved.spec,
        source=approved.spec_source,
        digest=approved.spec_digest,
    )
    return plan_at(embedded, service, now)


def plan_says(made: Plan) -> tuple[int, tuple[str, ...]]:
    """``reconciler plan --detailed-exitcode``: its exit code and the rule codes shown."""
    codes = tuple(refusal.rule.value for refusal in made.refused)
    if codes:
        return 3, codes
    return (EXIT_CHANGES if made.has_changes else 0), ()


def apply_says(verdict: Verdict) -> tuple[int, tuple[str, ...]]:
    """``reconciler apply``: the exit code of the error the verdict raises (0 when it
    applies) and the rule codes it refuses with."""
    try:
        verdict.raise_if_not_approved("plan.json")
    except ReconcilerError as error:
        return error.exit_code, tuple(refusal.rule for refusal in verdict.refusals)
    return 0, ()


def instants(moment: datetime) -> list[datetime]:
    found = {moment + offset for offset in OFFSETS} | {EXPIRY + offset for offset in OFFSETS}
    return sorted(found)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_plan_and_apply_give_one_verdict_at_every_instant_around_the_moment(kind: str) -> None:
    spec, service, moment = CASES[kind]
    reviewed = plan_at(spec, service, LONG_BEFORE)
    (action,) = reviewed.changes
    assert action.action.value == kind and action.expires_at == moment
    for now in instants(moment):
        plan_verdict = plan_says(plan_at(spec, service, now))
        # Apply of the plan reviewed long before, and apply of a spec planned right now.
        of_reviewed = apply_says(judge(reviewed, again(reviewed, service, now), now=now))
        made_now = plan_at(spec, service, now)
        of_spec = apply_says(judge(made_now, again(made_now, service, now), now=now))
        refused = now >= moment
        expected_code = (
            RuleCode.CANCEL_WINDOW_CLOSED
            if action.action is ActionKind.CANCEL_TERMINATION
            else RuleCode.ACTION_EXPIRED
        )
        assert plan_verdict == ((3, (expected_code.value,)) if refused else (EXIT_CHANGES, ()))
        assert of_reviewed == ((3, (expected_code.value,)) if refused else (0, ())), now
        assert of_spec == of_reviewed, now


def test_an_expired_change_is_refused_with_its_dates_and_what_to_do() -> None:
    spec, service, _ = CASES["terminate_at_expiry"]
    after = EXPIRY + timedelta(minutes=5)
    (refusal,) = plan_at(spec, service, after).refused
    assert refusal.rule is RuleCode.ACTION_EXPIRED and refusal.service == "a.example.com"
    assert "2027-03-01 00:00 UTC" in refusal.message and "2027-03-01 00:05 UTC" in refusal.message
    assert "terminate_at_expiry is no longer the change to make" in refusal.message
    assert "plan again" in refusal.fix and "reconciler services" in refusal.fix


def test_once_the_account_shows_the_outcome_the_change_is_planned_again() -> None:
    # OVH renewed the service: the new expiry lies ahead, the termination may be planned.
    spec, service, _ = CASES["terminate_at_expiry"]
    renewed = replace(service, expiration=EXPIRY + timedelta(days=365))
    after = EXPIRY + timedelta(hours=2)
    made = plan_at(spec, renewed, after)
    assert not made.refused and [a.action for a in made.changes] == [ActionKind.TERMINATE_AT_EXPIRY]
    # The plan reviewed before the renewal still names the old expiry: refused, the same
    # code, for the saved action has passed its moment.
    reviewed = plan_at(spec, service, LONG_BEFORE)
    verdict = judge(reviewed, again(reviewed, renewed, after), now=after)
    assert apply_says(verdict) == (3, (RuleCode.ACTION_EXPIRED.value,))


def test_a_no_op_is_never_refused_past_the_expiry() -> None:
    spec, service, _ = CASES["terminate_at_expiry"]
    terminating = replace(
        service, lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY, termination_date=EXPIRY
    )
    made = plan_at(spec, terminating, EXPIRY + timedelta(hours=1))
    assert plan_says(made) == (0, ())


def test_the_one_judgement_of_time() -> None:
    assert rules.has_passed(EXPIRY, EXPIRY)
    assert rules.has_passed(EXPIRY, EXPIRY + SECOND)
    assert not rules.has_passed(EXPIRY, EXPIRY - SECOND)
    assert not rules.has_passed(None, EXPIRY)
