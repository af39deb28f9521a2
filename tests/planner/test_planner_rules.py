"""The rules on their own: pure functions of one proposed change and ``now``, as apply
will call them again with the clock at apply time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from planner_helpers import live_account, live_service, spec_of

from reconciler.core import rules
from reconciler.core.lifecycle import Lifecycle
from reconciler.core.live import LiveService
from reconciler.core.plan import ActionKind, RuleCode
from reconciler.core.planner import make_plan, recheck
from reconciler.core.rules import Proposal, check
from reconciler.core.spec import ServiceSpec

EXPIRY = datetime(2027, 3, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def wanted(lifecycle: str = "renew", **fields: Any) -> ServiceSpec:
    return ServiceSpec(key="svc", name="svc.example.com", lifecycle=Lifecycle(lifecycle), **fields)


def live(**fields: Any) -> LiveService:
    return live_service({"id": 1, "name": "svc.example.com", **fields})


def cancel(expires: datetime | None = EXPIRY, **fields: Any) -> Proposal:
    service = live(lifecycle="terminate_at_expiry", expires=expires, **fields)
    return Proposal(wanted=wanted(), live=service, action=ActionKind.CANCEL_TERMINATION)


def codes(proposal: Proposal, now: datetime) -> list[str]:
    return [refusal.rule.value for refusal in check(proposal, now=now)]


# --- the 24-hour limit: both sides and the exact instant ------------------------------


@pytest.mark.parametrize(
    ("now", "refused"),
    [
        (EXPIRY - timedelta(hours=24) - SECOND, False),  # 24 h + 1 s before: allowed
        (EXPIRY - timedelta(hours=24), True),  # exactly 24 h before: refused
        (EXPIRY - timedelta(hours=24) + SECOND, True),  # 23 h 59 min 59 s before
        (EXPIRY - timedelta(days=30), False),
        (EXPIRY + timedelta(days=1), True),  # after the expiry, not yet processed
    ],
)
def test_cancel_window_boundaries(now: datetime, refused: bool) -> None:
    assert bool(rules.cancel_window_closed(cancel(), now)) is refused
    assert codes(cancel(), now) == (["cancel-window-closed"] if refused else [])


def test_cancel_window_is_judged_on_instants_whatever_the_offsets() -> None:
    paris = timezone(timedelta(hours=1))
    proposal = cancel(expires=datetime(2027, 3, 1, 1, 0, tzinfo=paris))  # = EXPIRY
    limit = datetime(2027, 2, 27, 19, 0, tzinfo=timezone(timedelta(hours=-5)))  # = EXPIRY-24h
    assert rules.cancel_window_closed(proposal, limit) is not None
    assert rules.cancel_window_closed(proposal, limit - SECOND) is None


def test_unknown_expiry_leaves_the_limit_to_the_api() -> None:
    proposal = cancel(expires=None, termination=None)
    assert rules.cancel_deadline(proposal.live) is None
    assert check(proposal, now=EXPIRY + timedelta(days=365)) == ()


def test_planned_at_25_hours_refused_when_applied_at_23_hours() -> None:
    """The rules run again at apply time with the clock at apply time (docs/user-guide.md,
    "The lifecycle rules"): a plan allowed 25 hours before expiry is refused at 23."""
    document = {"services": {"keep.example.com": {"lifecycle": "renew"}}}
    account = live_account(
        [{"id": 1, "name": "keep.example.com", "lifecycle": "terminate_at_expiry"}]
    )
    plan = make_plan(spec_of(document), account, now=EXPIRY - timedelta(hours=25), endpoint="x")
    (action,) = plan.actions
    assert action.action is ActionKind.CANCEL_TERMINATION
    assert action.expires_at == EXPIRY - timedelta(hours=24)
    # apply time: the same change, judged again with the later clock
    proposal = Proposal(
        wanted=plan.spec[0], live=account.services[0], action=ActionKind.CANCEL_TERMINATION
    )
    assert codes(proposal, EXPIRY - timedelta(hours=25)) == []
    assert codes(proposal, EXPIRY - timedelta(hours=23)) == ["cancel-window-closed"]
    assert recheck(action, plan.spec, account, now=EXPIRY - timedelta(hours=25)) == ()
    (late,) = recheck(action, plan.spec, account, now=EXPIRY - timedelta(hours=23))
    assert late.rule is RuleCode.CANCEL_WINDOW_CLOSED and late.service == "keep.example.com"
    replanned = make_plan(
        spec_of(document), account, now=EXPIRY - timedelta(hours=23), endpoint="x"
    )
    assert [r.rule for r in replanned.refused] == [RuleCode.CANCEL_WINDOW_CLOSED]
    assert replanned.actions == ()


# --- what each rule refuses, and what it leaves alone ---------------------------------


NOW = datetime(2027, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize("action", list(ActionKind))
def test_a_no_op_is_never_refused(action: ActionKind) -> None:
    """Even a telecom, unpaid, protected, gone service: a no_op has nothing to refuse."""
    worst = live(type="xdsl", unpaid=True, lifecycle="terminated")
    proposal = Proposal(
        wanted=wanted("delete_now", protect=True, period="P6M"),
        live=worst,
        offered=(),
        action=ActionKind.NO_OP,
        period="P6M",
        kept=(live(),),
    )
    assert check(proposal, now=NOW) == ()
    if action is not ActionKind.NO_OP:
        changed = Proposal(wanted=proposal.wanted, live=worst, action=action)
        assert check(changed, now=NOW), "a change of such a service is refused"


@pytest.mark.parametrize(
    "family_type",
    [
        "xdsl",
        "pack/xdsl",
        "telephony",
        "sms",
        "overTheBox",
        "email/exchange",
        "msServices",
        "license/office",
        "email/domain",
    ],
)
def test_unmanageable_gate_hides_the_other_rules(family_type: str) -> None:
    proposal = Proposal(
        wanted=wanted("delete_now", protect=True),
        live=live(type=family_type, unpaid=True),
        action=ActionKind.DELETE_NOW,
    )
    (refusal,) = check(proposal, now=NOW)
    assert refusal.rule is RuleCode.UNMANAGEABLE_SERVICE
    assert "manage it from its own interface" in refusal.fix


def test_already_terminated_gate_and_no_possible_action() -> None:
    gone = live(lifecycle="expired")
    (refusal,) = check(Proposal(wanted=wanted(), live=gone, action=None), now=NOW)
    assert refusal.rule is RuleCode.ALREADY_TERMINATED and "expired" in refusal.message
    # a change proposed for a gone service (a stale plan at apply time) is refused too
    stale = Proposal(
        wanted=wanted("terminate_at_expiry"), live=gone, action=ActionKind.TERMINATE_AT_EXPIRY
    )
    assert codes(stale, NOW) == ["already-terminated"]


def test_every_broken_rule_is_reported_together() -> None:
    proposal = Proposal(
        wanted=wanted("delete_now", protect=True),
        live=live(type="domain", unpaid=True),
        action=ActionKind.DELETE_NOW,
        kept=(live_service({"id": 2, "name": "kept.example.com"}),),
    )
    assert codes(proposal, NOW) == [
        "delete-now-web-hosting-only",
        "protected",
        "unpaid-service",
        "linked-service-conflict",
    ]


@pytest.mark.parametrize(
    ("action", "refused"),
    [
        (ActionKind.TERMINATE_AT_EXPIRY, True),
        (ActionKind.DELETE_NOW, True),
        (ActionKind.CANCEL_TERMINATION, False),
        (ActionKind.SET_RENEW, False),
    ],
)
def test_protected_refuses_termination_and_deletion_only(action: ActionKind, refused: bool) -> None:
    proposal = Proposal(wanted=wanted(protect=True), live=live(), action=action)
    assert bool(rules.protected(proposal, NOW)) is refused
    unprotected = Proposal(wanted=wanted(), live=live(), action=action)
    assert rules.protected(unprotected, NOW) is None


@pytest.mark.parametrize(
    ("offered", "period", "refused"),
    [
        (["P1M", "P12M"], "P6M", True),
        (["P1M", "P12M"], "P12M", False),
        (["P1M", "P12M"], "P1Y", False),  # the same period written in years
        ([], "P1M", True),  # known to offer nothing
        (None, "P6M", False),  # not read: not judged
        (["P1M"], None, False),  # the change sets no period
    ],
)
def test_period_not_offered(offered: list[str] | None, period: str | None, refused: bool) -> None:
    proposal = Proposal(
        wanted=wanted(period=period),
        live=live(),
        offered=tuple(offered) if offered is not None else None,
        action=ActionKind.SET_RENEW,
        period=period,
    )
    refusal = rules.period_not_offered(proposal, NOW)
    assert bool(refusal) is refused
    if refusal is not None and offered:
        assert ", ".join(offered) in refusal.message


def test_linked_conflict_only_for_terminations_with_kept_children() -> None:
    kept = (
        live_service({"id": 2, "name": "b.example.com"}),
        live_service({"id": 3, "name": "a.example.com"}),
    )
    for action in ActionKind:
        proposal = Proposal(wanted=wanted(), live=live(), action=action, kept=kept)
        refusal = rules.linked_service_conflict(proposal, NOW)
        if action in (
            ActionKind.TERMINATE_AT_EXPIRY,
            ActionKind.TERMINATE_AT_COMMITMENT_END,
            ActionKind.DELETE_NOW,
        ):
            assert refusal is not None and "keeps a.example.com, b.example.com" in refusal.message
        else:
            assert refusal is None
    alone = Proposal(wanted=wanted(), live=live(), action=ActionKind.DELETE_NOW)
    assert rules.linked_service_conflict(alone, NOW) is None


def test_every_rule_code_has_a_rule() -> None:
    matching = {
        RuleCode.UNKNOWN_SERVICE: rules.unknown_service(wanted()),
        RuleCode.AMBIGUOUS_SERVICE: rules.ambiguous_service(
            wanted(), [live(), live(type="domain")]
        ),
        RuleCode.TYPE_MISMATCH: rules.type_mismatch(wanted(type="vps"), [live()]),
        RuleCode.UNMANAGED_SERVICE: rules.unmanaged_service(live()),
    }
    for code, refusal in matching.items():
        assert refusal.rule is code and refusal.message and refusal.fix
    assert set(rules.RULE_OF) | set(matching) == set(RuleCode)
    assert set(rules.RULE_OF.values()) == set(rules.GATES) | set(rules.PROPOSAL_RULES)


def test_messages_are_one_line_with_the_dates() -> None:
    (refusal,) = check(cancel(), now=EXPIRY - timedelta(hours=3))
    assert "\n" not in refusal.message and "\n" not in refusal.fix
    assert "2027-03-01 00:00 UTC" in refusal.message
    assert "2027-02-28 00:00 UTC" in refusal.message
    assert "2027-02-28 21:00 UTC" in refusal.message  # now


def test_recheck_sees_the_account_as_it_is_at_apply_time() -> None:
    document = {
        "services": {
            "parent": {"name": "example.com", "type": "hosting/web", "lifecycle": "delete_now"},
            "child": {"name": "example.com", "type": "domain", "lifecycle": "renew"},
        }
    }
    before = live_account([{"id": 1, "name": "example.com"}])
    plan = make_plan(spec_of(document), before, now=NOW, endpoint="x")
    deletion = next(a for a in plan.actions if a.service == "parent")
    assert deletion.action is ActionKind.DELETE_NOW
    assert recheck(deletion, plan.spec, before, now=NOW) == ()
    # since the plan: the kept domain got linked to the hosting, and a debt appeared
    after = live_account(
        [
            {"id": 1, "name": "example.com", "unpaid": True},
            {"id": 2, "name": "example.com", "type": "domain", "parent": 1},
        ]
    )
    rules_now = [r.rule.value for r in recheck(deletion, plan.spec, after, now=NOW)]
    assert rules_now == ["unpaid-service", "linked-service-conflict"]
    # gone since the plan
    (gone,) = recheck(deletion, plan.spec, live_account([]), now=NOW)
    assert gone.rule is RuleCode.ALREADY_TERMINATED and "no longer on the account" in gone.message
