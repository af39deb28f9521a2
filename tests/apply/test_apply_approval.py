"""``approval.judge``: the approved (saved) plan against the plan made again at apply
time. Pure: live accounts built by hand, plans made by the real planner, the clock a
parameter. Stale plans, refusals now, expired actions, tampered files, already-done and
partly-done actions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from live_services import EXPIRY
from live_services import live_service as service

from reconciler.apply.run import seen_in_review, spec_of_plan
from reconciler.core.approval import STALE_MESSAGE, judge
from reconciler.core.lifecycle import Lifecycle, LiveLifecycle
from reconciler.core.live import LiveAccount, LiveService
from reconciler.core.plan import Action, ActionKind, Call, Plan, Refusal, RuleCode
from reconciler.core.planner import make_plan
from reconciler.core.spec import ServiceSpec, Spec, UnmanagedPolicy
from reconciler.errors import PlanFileError, RefusedError, StalePlanError

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


def spec(*entries: tuple[str, Lifecycle] | tuple[str, Lifecycle, str]) -> Spec:
    return Spec(
        unmanaged=UnmanagedPolicy.IGNORE,
        services=tuple(
            ServiceSpec(
                key=entry[0],
                name=entry[0],
                lifecycle=entry[1],
                period=entry[2] if len(entry) > 2 else None,  # type: ignore[misc]
            )
            for entry in entries
        ),
        source="spec.yaml",
        digest="sha256:" + "0" * 64,
    )


def plan(wanted: Spec, *services: LiveService, now: datetime = NOW) -> Plan:
    return make_plan(wanted, LiveAccount.from_services(services), now=now, endpoint="ovh-eu")


def again(approved: Plan, *services: LiveService, now: datetime = NOW) -> Plan:
    """The plan apply makes at ``now``: from the approved plan's own spec."""
    embedded = Spec(
        unmanaged=UnmanagedPolicy.REPORT,
        services=approved.spec,
        source=approved.spec_source,
        digest=approved.spec_digest,
    )
    return plan(embedded, *services, now=now)


A = service(1, "a.example.com")
B = service(2, "b.example.com", lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY)
H = service(3, "shop.example.com", type="hosting/web")
WANTED = spec(
    ("a.example.com", Lifecycle.TERMINATE_AT_EXPIRY),
    ("b.example.com", Lifecycle.RENEW),
    ("shop.example.com", Lifecycle.RENEW),
)


def test_an_untouched_account_approves_the_fresh_actions() -> None:
    approved = plan(WANTED, A, B, H)
    fresh = again(approved, A, B, H, now=NOW + timedelta(hours=1))
    verdict = judge(approved, fresh, now=NOW + timedelta(hours=1))
    assert verdict.approved
    assert [a.service for a in verdict.to_run] == ["a.example.com", "b.example.com"]
    assert all(a in fresh.actions for a in verdict.to_run)  # the fresh plan's, not the file's
    verdict.raise_if_not_approved("plan.json")


def test_a_service_changed_out_of_band_makes_the_plan_stale() -> None:
    approved = plan(WANTED, A, B, H)
    moved = replace(A, renew_period="P1M")  # renewal changed by hand, elsewhere
    verdict = judge(approved, again(approved, moved, B, H), now=NOW)
    assert not verdict.approved and verdict.stale
    with pytest.raises(StalePlanError) as raised:
        verdict.raise_if_not_approved("plan.json")
    assert str(raised.value).startswith(STALE_MESSAGE)
    assert "a.example.com (#1) changed since the plan read it" in str(raised.value)
    assert raised.value.exit_code == 1


def test_a_left_alone_service_that_now_needs_a_change_makes_the_plan_stale() -> None:
    approved = plan(WANTED, A, B, H)
    cancelled = replace(H, lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY, termination_date=EXPIRY)
    verdict = judge(approved, again(approved, A, B, cancelled), now=NOW)
    assert verdict.stale == (
        "shop.example.com (#3) now needs cancel_termination; the plan left it alone",
    )


def test_a_left_alone_service_that_moved_but_still_matches_is_fine() -> None:
    approved = plan(WANTED, A, B, H)
    renewed = replace(H, expiration=EXPIRY + timedelta(days=365))  # it renewed meanwhile
    assert judge(approved, again(approved, A, B, renewed), now=NOW).approved


def test_a_service_replaced_by_another_with_the_same_name_is_stale() -> None:
    approved = plan(WANTED, A, B, H)
    other = replace(A, service_id=99)
    verdict = judge(approved, again(approved, other, B, H), now=NOW)
    assert verdict.stale == ("a.example.com is no longer the service #1 the plan acts on",)


def test_a_plan_with_refusals_is_never_applied() -> None:
    gone = service(4, "old.example.com", lifecycle=LiveLifecycle.TERMINATED)
    approved = plan(spec(("old.example.com", Lifecycle.RENEW)), gone)
    assert approved.refused
    verdict = judge(approved, approved, now=NOW)
    assert [r.rule for r in verdict.refusals] == ["already-terminated"]
    with pytest.raises(RefusedError) as raised:
        verdict.raise_if_not_approved("plan.json")
    assert raised.value.exit_code == 3 and "nothing was applied" in str(raised.value)


def test_a_cancellation_planned_at_25_hours_is_refused_at_23_hours() -> None:
    at_25h = EXPIRY - timedelta(hours=25)
    at_23h = EXPIRY - timedelta(hours=23)
    approved = plan(spec(("b.example.com", Lifecycle.RENEW)), B, now=at_25h)
    (action,) = approved.changes
    assert action.action is ActionKind.CANCEL_TERMINATION
    assert action.expires_at == EXPIRY - timedelta(hours=24)
    verdict = judge(approved, again(approved, B, now=at_23h), now=at_23h)
    assert [(r.service, r.rule) for r in verdict.refusals] == [
        ("b.example.com", "cancel-window-closed")
    ]
    assert not verdict.to_run
    with pytest.raises(RefusedError):
        verdict.raise_if_not_approved("plan.json")


def test_an_action_past_its_expires_at_is_refused() -> None:
    approved = plan(spec(("a.example.com", Lifecycle.TERMINATE_AT_EXPIRY)), A)
    (action,) = approved.changes
    assert action.expires_at == EXPIRY
    after = EXPIRY + timedelta(minutes=1)
    # The account has not moved (the rules alone would allow it): the date still refuses.
    verdict = judge(approved, again(approved, A, now=after), now=after)
    assert [r.rule for r in verdict.refusals] == ["action-expired"]
    # The plan's own type and code, not a string copy: plan and apply name one refusal.
    (refusal,) = verdict.refusals
    assert isinstance(refusal, Refusal) and refusal.rule is RuleCode.ACTION_EXPIRED


def tampered(approved: Plan, service_key: str, **changes: object) -> Plan:
    actions = tuple(
        a.model_copy(update=changes) if a.service == service_key else a for a in approved.actions
    )
    return approved.model_copy(update={"actions": actions})


def test_an_action_kind_edited_in_the_file_is_refused_as_altered() -> None:
    approved = plan(WANTED, A, B, H)
    edited = tampered(approved, "a.example.com", action=ActionKind.SET_RENEW)
    verdict = judge(edited, again(edited, A, B, H), now=NOW)
    assert verdict.altered and not verdict.approved
    with pytest.raises(PlanFileError) as raised:
        verdict.raise_if_not_approved("plan.json")
    assert "was altered" in str(raised.value) and "set_renew" in str(raised.value)
    assert not isinstance(raised.value, StalePlanError)


def test_calls_edited_in_the_file_are_refused_and_never_sent() -> None:
    approved = plan(WANTED, A, B, H)
    evil = (Call(method="POST", path="/hosting/web/shop.example.com/terminate"),)
    edited = tampered(approved, "a.example.com", calls=evil)
    verdict = judge(edited, again(edited, A, B, H), now=NOW)
    assert verdict.altered == (
        "the action for a.example.com (#1) was altered: its calls are not the ones the action "
        "implies for the account as it is (the service itself did not change)",
    )


def test_an_action_the_spec_does_not_call_for_is_refused() -> None:
    approved = plan(WANTED, A, B, H)
    extra = Action(
        service="shop.example.com",
        name="shop.example.com",
        service_id=3,
        type="hosting/web",
        action=ActionKind.DELETE_NOW,
        before={"lifecycle": "renew", "period": "P12M"},
        after={"lifecycle": "deleted", "period": None},
        irreversible=True,
        reason="x",
        calls=(),
        fingerprint=next(a.fingerprint for a in approved.actions if a.service_id == 3),
    )
    actions = tuple(a for a in approved.actions if a.service_id != 3) + (extra,)
    edited = approved.model_copy(update={"actions": actions})
    verdict = judge(edited, again(edited, A, B, H), now=NOW)
    assert not verdict.approved and verdict.altered
    assert "delete_now" in verdict.altered[0]


def test_a_destructive_spec_edit_the_rules_refuse_is_refused() -> None:
    """Editing the embedded spec to delete a domain: the fresh plan refuses it."""
    approved = plan(WANTED, A, B, H)
    entries = tuple(
        e.model_copy(update={"lifecycle": Lifecycle.DELETE_NOW}) if e.key == "a.example.com" else e
        for e in approved.spec
    )
    edited = approved.model_copy(update={"spec": entries})
    verdict = judge(edited, again(edited, A, B, H), now=NOW)
    assert [r.rule for r in verdict.refusals] == ["delete-now-web-hosting-only"]


def test_a_changed_fingerprint_is_stale() -> None:
    approved = plan(WANTED, A, B, H)
    edited = tampered(approved, "a.example.com", fingerprint="sha256:" + "f" * 64)
    assert judge(edited, again(edited, A, B, H), now=NOW).stale


def test_an_entry_removed_from_the_file_is_refused() -> None:
    approved = plan(WANTED, A, B, H)
    edited = approved.model_copy(
        update={"actions": tuple(a for a in approved.actions if a.service != "a.example.com")}
    )
    verdict = judge(edited, again(edited, A, B, H), now=NOW)
    assert verdict.altered and "has no action for it" in verdict.altered[0]


def test_changes_already_made_are_done_not_stale() -> None:
    approved = plan(WANTED, A, B, H)
    terminated = replace(A, lifecycle=LiveLifecycle.TERMINATE_AT_EXPIRY, termination_date=EXPIRY)
    cancelled = replace(B, lifecycle=LiveLifecycle.RENEW, termination_date=None)
    verdict = judge(approved, again(approved, terminated, cancelled, H), now=NOW)
    assert verdict.approved and not verdict.to_run
    assert {a.service for a in verdict.already_done} == {"a.example.com", "b.example.com"}


def test_a_deletion_already_made_is_done() -> None:
    approved = plan(spec(("shop.example.com", Lifecycle.DELETE_NOW)), H)
    # The hosting has left the account: without evidence, a name that matches nothing...
    blind = again(approved)
    assert [r.rule for r in blind.refused] == [RuleCode.UNKNOWN_SERVICE]
    assert not judge(approved, blind, now=NOW).approved
    # ...but apply knows the reviewed plan saw it, by id: it is already done.
    fresh = make_plan(
        spec_of_plan(approved, UnmanagedPolicy.REPORT),
        LiveAccount.from_services(()),
        now=NOW,
        endpoint="ovh-eu",
        done_before=seen_in_review(approved),
    )
    verdict = judge(approved, fresh, now=NOW)
    assert verdict.approved and [a.service for a in verdict.already_done] == ["shop.example.com"]
    assert "the reviewed plan had it as #" in fresh.actions[0].reason


def test_a_name_no_reviewed_plan_saw_is_not_made_done_by_the_review() -> None:
    """A typo in the reviewed plan was refused there: it gives no evidence."""
    approved = plan(spec(("shop.exmaple.com", Lifecycle.DELETE_NOW)), H)
    assert [r.rule for r in approved.refused] == [RuleCode.UNKNOWN_SERVICE]
    assert seen_in_review(approved) == {}


def test_a_cancellation_cut_between_its_two_calls_resumes_with_the_second() -> None:
    manual = replace(B, renew_mode="manual")
    approved = plan(spec(("b.example.com", Lifecycle.RENEW)), manual)
    (action,) = approved.changes
    assert [c.body for c in action.calls] == [
        {"terminationPolicy": "empty"},
        {"renew": {"mode": "automatic", "period": "P12M"}},
    ]
    halfway = replace(
        manual, lifecycle=LiveLifecycle.MANUAL_RENEW, termination_date=None
    )  # termination cancelled, renewal still manual
    verdict = judge(approved, again(approved, halfway), now=NOW)
    assert verdict.approved
    (resumed,) = verdict.to_run
    assert resumed.action is ActionKind.SET_RENEW and resumed.calls == action.calls[1:]


def test_a_saved_plan_keeps_its_specs_unmanaged_policy() -> None:
    """With ``unmanaged: error``, a service that appeared on the account after the plan
    was saved makes the plan made again at apply time refuse (exit 3), as the spec would."""
    from reconciler.apply.run import spec_of_plan

    strict = spec(("example.net", Lifecycle.TERMINATE_AT_EXPIRY)).model_copy(
        update={"unmanaged": UnmanagedPolicy.ERROR}
    )
    before = LiveAccount.from_services([service(1, "example.net")])
    approved = make_plan(strict, before, now=NOW, endpoint="sandbox")
    assert approved.unmanaged_policy is UnmanagedPolicy.ERROR and not approved.refused

    again = spec_of_plan(approved)
    assert again.unmanaged is UnmanagedPolicy.ERROR
    after = LiveAccount.from_services([service(1, "example.net"), service(2, "newcomer.fr")])
    fresh = make_plan(again, after, now=NOW, endpoint="sandbox")
    assert [r.rule.value for r in fresh.refused] == ["unmanaged-service"]
    with pytest.raises(RefusedError):
        judge(approved, fresh, now=NOW).raise_if_not_approved("plan.json")
