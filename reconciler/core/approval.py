"""Is the plan a human approved (or a saved plan file) still the right thing to do?
(docs/architecture.md, "`reconciler.apply`", lists how each service is judged.)

Pure: the approved plan, the plan made again from its own embedded spec against the
account as it is at apply time (``fresh``), and the API's clock in; a ``Verdict`` out.
Apply only ever executes the *fresh* plan's actions, and only when the verdict says the
approved plan still holds — never the calls read from a file.

The contract: a refusal anywhere, or an approved change past its ``expires_at``,
applies nothing (exit 3); where a service's fingerprint did not move, the fresh action
must be the approved one, else the file was altered (``PlanFileError``); where it
moved, the plan holds only if the account already shows all or the first part of what
was approved (*already done*, *partly done*), else it is stale (``StalePlanError``).
The plan's actions and their fingerprints are compared, never the whole account's: a
service the spec does not name may move without making a lifecycle plan stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from reconciler.clock import as_utc
from reconciler.core.plan import Action, ActionKind, Plan, Refusal, RuleCode, by_key
from reconciler.core.rules import has_passed, refusal
from reconciler.errors import PlanFileError, RefusedError, StalePlanError
from reconciler.times import Phrase, phrase_shown, utc

STALE_MESSAGE = "the account changed since this plan was made — plan again"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What apply may do with an approved plan, given the fresh one."""

    fresh: Plan
    to_run: tuple[Action, ...] = ()  # fresh actions to execute (changes only)
    already_done: tuple[Action, ...] = ()  # approved changes whose effect already shows
    refusals: tuple[Refusal, ...] = ()  # → exit 3, nothing applied
    stale: tuple[str, ...] = ()  # why the plan is stale → exit 1
    altered: tuple[str, ...] = ()  # why the plan cannot be what it says → exit 1

    @property
    def approved(self) -> bool:
        return not (self.refusals or self.stale or self.altered)

    def raise_if_not_approved(self, source: str, *, zone: tzinfo | None = None) -> None:
        """The one error for a plan that must not be applied (refusals first: a rule
        refusing is the more useful news, and it has its own exit code); ``zone``: the
        display zone of its words (``refused_error``)."""
        if self.refusals:
            raise refused_error(self.refusals, source, zone=zone)
        if self.altered:
            raise PlanFileError(
                f"{source} cannot be applied: {_first(self.altered)}",
                hint="plan again with `reconciler plan SPEC --out FILE`, review it, and apply "
                "that file unchanged",
            )
        if self.stale:
            raise StalePlanError(
                f"{STALE_MESSAGE} ({_first(self.stale)})",
                hint="run `reconciler plan` again, review what changed, and apply the new plan",
            )


def refused_error(
    refusals: tuple[Refusal, ...], source: str, *, zone: tzinfo | None = None
) -> RefusedError:
    """One line naming what is refused (each refusal is shown above it, with its fix);
    one refusal's fix is the hint, its dates in the display ``zone`` as above it."""
    count = len(refusals)
    named = ", ".join(f"{r.service} [{r.rule}]" for r in refusals[:3])
    more = f" and {count - 3} more" if count > 3 else ""
    return RefusedError(
        f"{source}: {count} change{'s' * (count > 1)} refused ({named}{more}); nothing was applied",
        hint=(
            phrase_shown(refusals[0].fix, refusals[0].fix_phrase, zone)
            if count == 1
            else "each refusal above says what to change"
        ),
    )


def _first(reasons: tuple[str, ...]) -> str:
    more = len(reasons) - 1
    return reasons[0] + (f"; and {more} more" if more else "")


def refusals_of(approved: Plan) -> tuple[Refusal, ...]:
    """A plan with refusals is never applied: checked before the account is even read."""
    return approved.refused


def judge(approved: Plan, fresh: Plan, *, now: datetime) -> Verdict:
    """The verdict on ``approved`` given ``fresh`` (planned from ``approved.spec`` against
    the account read at ``now``, the API's clock). See the module docstring."""
    now = as_utc(now)
    saved_refusals = refusals_of(approved)
    if saved_refusals:
        return Verdict(fresh=fresh, refusals=saved_refusals)

    refusals: list[Refusal] = []
    refused_keys = {refusal.service for refusal in fresh.refused}
    for action in approved.changes:
        if has_passed(action.expires_at, now) and action.service not in refused_keys:
            refusals.append(_expired(action, now))
    refusals.extend(fresh.refused)
    if refusals:
        return Verdict(fresh=fresh, refusals=tuple(refusals))

    saved_by_key = by_key(approved.actions, lambda action: action.service)
    fresh_by_key = by_key(fresh.actions, lambda action: action.service)
    to_run: list[Action] = []
    done: list[Action] = []
    stale: list[str] = []
    altered: list[str] = []
    if saved_by_key is None:
        altered.append("it lists two actions for the same spec entry")
        saved_by_key = {}
    assert fresh_by_key is not None  # the planner makes one action per entry
    for key in sorted(saved_by_key.keys() | fresh_by_key.keys()):
        saved = saved_by_key.get(key)
        current = fresh_by_key.get(key)
        if saved is None:
            assert current is not None
            if current.action is not ActionKind.NO_OP:
                altered.append(
                    f"{_who(current)} needs {current.action.value}, and the plan has no "
                    "action for it at all"
                )
            continue
        if current is None:
            altered.append(f"its action for {key!r} matches no entry of its own spec")
            continue
        kind = _compare(saved, current)
        if kind == "same":
            if current.action is not ActionKind.NO_OP:
                to_run.append(current)
        elif kind == "done":
            done.append(saved)
        elif kind == "resume":
            to_run.append(current)
        elif kind == "altered":
            altered.append(_altered_reason(saved, current))
        else:
            stale.append(_stale_reason(saved, current))
    return Verdict(
        fresh=fresh,
        to_run=tuple(to_run),
        already_done=tuple(done),
        stale=tuple(stale),
        altered=tuple(altered),
    )


def _compare(saved: Action, current: Action) -> str:
    """``same`` | ``done`` | ``resume`` | ``altered`` | ``stale`` (module docstring)."""
    if saved.action is ActionKind.NO_OP:
        return "same" if current.action is ActionKind.NO_OP else "stale"
    if saved.fingerprint == current.fingerprint:
        return "same" if _identical(saved, current) else "altered"
    if current.action is ActionKind.NO_OP:
        arrived = current.before.lifecycle is saved.after.lifecycle
        return "done" if arrived else "stale"
    calls = tuple(current.calls)
    approved_calls = tuple(saved.calls)
    if (
        current.service_id == saved.service_id
        and current.after == saved.after
        and 0 < len(calls) < len(approved_calls)
        and approved_calls[-len(calls) :] == calls
    ):
        return "resume"
    return "stale"


def _identical(saved: Action, current: Action) -> bool:
    return (
        saved.action is current.action
        and saved.service_id == current.service_id
        and saved.name == current.name
        and saved.type == current.type
        and tuple(saved.calls) == tuple(current.calls)
        and saved.before == current.before
        and saved.after == current.after
        and saved.irreversible == current.irreversible
        and _same_instant(saved.expires_at, current.expires_at)
        and tuple(saved.linked) == tuple(current.linked)
    )


def _same_instant(first: datetime | None, second: datetime | None) -> bool:
    if first is None or second is None:
        return first is second
    return as_utc(first) == as_utc(second)


def _who(action: Action) -> str:
    return action.service + (f" (#{action.service_id})" if action.service_id is not None else "")


def _altered_reason(saved: Action, current: Action) -> str:
    if saved.action is not current.action:
        what = f"it says {saved.action.value}, and its spec implies {current.action.value}"
    elif tuple(saved.calls) != tuple(current.calls):
        what = "its calls are not the ones the action implies"
    else:
        what = "it does not say what its spec and the account imply"
    return (
        f"the action for {_who(saved)} was altered: {what} for the account as it is (the "
        "service itself did not change)"
    )


def _stale_reason(saved: Action, current: Action) -> str:
    if saved.action is ActionKind.NO_OP:
        return f"{_who(current)} now needs {current.action.value}; the plan left it alone"
    if current.service_id != saved.service_id:
        return f"{saved.service} is no longer the service #{saved.service_id} the plan acts on"
    return f"{_who(saved)} changed since the plan read it"


def _expired(action: Action, now: datetime) -> Refusal:
    assert action.expires_at is not None
    deadline, moment = utc(action.expires_at), utc(now)
    message: Phrase
    if action.action is ActionKind.CANCEL_TERMINATION:
        message = (
            f"the cancellation of {action.name}'s termination was allowed until ",
            deadline,
            " (24 hours before expiry); it is now ",
            moment,
        )
        fix = (
            "it is too late to cancel: the service is terminated at expiry; order it again "
            "if it is still needed, and state `lifecycle: terminate_at_expiry` meanwhile"
        )
    else:
        message = (
            f"this {action.action.value} of {action.name} was valid until ",
            deadline,
            "; it is now ",
            moment,
        )
        fix = "plan again: the service has moved past the date the plan relied on"
    # The planner's own codes (``rules.action_expired``, the cancel window), so that plan
    # and apply name the same refusal.
    return refusal(
        action.service,
        action.service_id,
        RuleCode.CANCEL_WINDOW_CLOSED
        if action.action is ActionKind.CANCEL_TERMINATION
        else RuleCode.ACTION_EXPIRED,
        message,
        fix,
    )
