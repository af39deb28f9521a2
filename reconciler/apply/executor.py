"""Executing the approved actions: concurrently, each on its own, each re-read first.

For every action (all of them at once; the client bounds the requests in flight to its
concurrency, 10 by default):

1. its calls are the typed steps the planner made in this run, each knowing the effect
   that shows it made (``reconciler.core.steps``): any other call fails the action
   before anything is sent (``steps.steps_of``);
2. the service is re-read (``GET /services/{id}``) just before the first call:

   - gone: done for a termination or a deletion ("already gone"), failed otherwise;
   - already where the action takes it: skipped, nothing sent (a second apply, or two
     applies racing, never doubles an action);
   - moved since the account was read for this run (its fingerprint differs): failed,
     nothing sent — apply does not act on a state nobody planned from. The fingerprint
     is of the service as re-read within the account as read for this run
     (``planner.fingerprint``): one service's answer does not name its children, the
     account does;
   - the action's ``expires_at`` passed meanwhile (the 24-hour limit of a
     cancellation): failed, nothing sent;

3. each step whose effect does not show yet is sent through ``Session.make`` (journal
   before and after, ambiguous failures settled by re-reading); a step of a multi-call
   action is preceded by its own re-read; ``delete_now`` goes through
   ``reconciler.apply.deletion``.

A failed action never stops the others; an unusable journal stops them all (nothing is
done without a record of it).
"""

from __future__ import annotations

import asyncio

from reconciler.apply.deletion import DeleteNow, TerminationHistory
from reconciler.apply.mailbox import Mailbox
from reconciler.apply.results import ActionResult, ActionStatus
from reconciler.apply.session import CallRejected, Session, StepFailed
from reconciler.core.live import LiveAccount
from reconciler.core.plan import Action, ActionKind
from reconciler.core.planner import fingerprint
from reconciler.core.rules import when_text
from reconciler.core.steps import (
    ConfirmTermination,
    RequestTermination,
    SetRenewalObject,
    Step,
    UnknownCall,
    already_as_wanted,
    deletion_done,
    steps_of,
)
from reconciler.errors import JournalError, ReconcilerError, Unauthorized
from reconciler.journal import Outcome, Phase

_GOING = (
    ActionKind.TERMINATE_AT_EXPIRY,
    ActionKind.TERMINATE_AT_COMMITMENT_END,
    ActionKind.DELETE_NOW,
)
_STATUS_OUTCOME = {
    ActionStatus.DONE: Outcome.DONE,
    ActionStatus.SKIPPED: Outcome.SKIPPED,
    ActionStatus.FAILED: Outcome.FAILED,
}


class Executor:
    """Runs the approved actions of one apply; ``account`` is the account as read for
    this run (the fresh plan's), whose facts each re-read service is fingerprinted in."""

    def __init__(
        self,
        session: Session,
        mailbox: Mailbox,
        history: TerminationHistory,
        account: LiveAccount,
    ) -> None:
        self.session = session
        self.mailbox = mailbox
        self.history = history
        self.account = account

    async def run(self, actions: tuple[Action, ...]) -> tuple[ActionResult, ...]:
        """Every action concurrently; results in the order of ``actions``."""
        tasks: list[asyncio.Task[ActionResult]] = []
        try:
            async with asyncio.TaskGroup() as group:  # a JournalError cancels the rest
                for action in actions:
                    tasks.append(group.create_task(self._guarded(action)))
        except* JournalError as failures:
            raise failures.exceptions[0] from None
        return tuple(task.result() for task in tasks)

    async def _guarded(self, action: Action) -> ActionResult:
        self.session.reporter.action_started(action)
        try:
            result = await self._one(action)
        except JournalError:
            raise
        except StepFailed as failure:
            result = _failed(action, failure.message, failure.hint)
        except UnknownCall as unknown:
            result = _failed(
                action,
                f"nothing sent: {unknown}",
                "this is a bug of reconciler (the planner and apply disagree); report it",
            )
        except ReconcilerError as error:
            result = _failed(action, str(error), error.hint)
        except Exception as error:  # a bug: still this action only, and said so
            result = _failed(
                action,
                f"internal error: {type(error).__name__}: {error}",
                "run again with --debug and report it; the journal shows what was sent",
            )
        self.session.record(
            action,
            Phase.ACTION,
            _STATUS_OUTCOME[result.status],
            error=result.error,
            detail={"summary": result.summary},
        )
        self.session.reporter.action_finished(result)
        return result

    async def _one(self, action: Action) -> ActionResult:
        session = self.session
        steps = steps_of(action)
        if action.service_id is None or not steps:
            raise UnknownCall(f"{action.action.value} of {action.service} has no calls to make")
        live = await session.read(action.service_id)
        if action.action is ActionKind.DELETE_NOW and live is not None and live.gone:
            if not deletion_done(live):  # expired is not deleted (§8.24)
                raise StepFailed(
                    f"{action.name} (#{action.service_id}) is {live.lifecycle.value}, not "
                    "deleted; nothing sent",
                    hint="plan again: the account changed",
                )
        if live is None or live.gone:
            if action.action in _GOING:
                session.record(action, Phase.CHECK, Outcome.GONE)
                return ActionResult(action, ActionStatus.DONE, "already gone")
            raise StepFailed(
                f"{action.name} (#{action.service_id}) is no longer on the account; nothing sent",
                hint="plan again: the account changed",
            )
        if already_as_wanted(action, live):
            return ActionResult(action, ActionStatus.SKIPPED, "already as wanted; nothing sent")
        if fingerprint(live, self.account) != action.fingerprint:
            raise StepFailed(
                f"{action.name} (#{action.service_id}) changed while this apply ran (another "
                "apply, or a change by hand?); nothing sent",
                hint="run apply again: it plans from the account as it is then",
            )
        now = session.now()
        if action.expires_at is not None and now >= action.expires_at:
            raise StepFailed(
                f"too late to {action.action.value.replace('_', ' ')} {action.name}: it was "
                f"allowed until {when_text(action.expires_at)}, it is {when_text(now)}; "
                "nothing sent",
                hint="plan again to see what the rules allow now",
            )
        if action.action is ActionKind.DELETE_NOW:
            request, confirm = _deletion_steps(steps)
            flow = DeleteNow(session, self.mailbox, self.history, action, request, confirm)
            return await flow.run()
        for index, step in enumerate(steps):
            if index:
                live = await session.read(action.service_id)
            if step.effect_shown(live):
                session.record(action, Phase.CHECK, Outcome.EFFECT_SHOWN, step=step)
                continue
            await self._make(action, step)
        return ActionResult(action, ActionStatus.DONE, _done_words(action))

    async def _make(self, action: Action, step: Step) -> None:
        session = self.session
        service_id = action.service_id
        assert service_id is not None

        async def shown() -> bool:
            return step.effect_shown(await session.read(service_id))

        try:
            await session.make(action, step, effect=shown)
            return
        except CallRejected as rejected:
            refused = rejected
        # The panel's renewal route refused: the same renewal through /services is the
        # recorded fallback, only when the refusal changed nothing, and never for a key
        # refused by its rights (a missing right is said, not worked around).
        if not isinstance(step, SetRenewalObject) or isinstance(refused.error, Unauthorized):
            raise StepFailed(
                f"{step.method} {step.path} was refused: {refused.error}",
                hint=refused.error.hint,
            )
        if await shown():
            session.record(action, Phase.CHECK, Outcome.EFFECT_SHOWN, step=step)
            return
        fallback = step.fallback()
        session.reporter.action_note(
            action,
            f"{step.method} {step.path} was refused ({refused.error}) and changed "
            f"nothing: changing the renewal through {fallback.path}",
        )

        async def fallback_shown() -> bool:
            return fallback.effect_shown(await session.read(service_id))

        try:
            await session.make(action, fallback, effect=fallback_shown)
        except CallRejected as rejected:
            raise StepFailed(
                f"{step.method} {step.path} was refused ({refused.error}), and so "
                f"was {fallback.method} {fallback.path}: {rejected.error}",
                hint=rejected.error.hint,
            ) from None


def _deletion_steps(steps: tuple[Step, ...]) -> tuple[RequestTermination, ConfirmTermination]:
    match steps:
        case (RequestTermination() as request, ConfirmTermination() as confirm):
            return request, confirm
    raise UnknownCall("a deletion is a termination request then its confirmation")


def _failed(action: Action, message: str, hint: str | None) -> ActionResult:
    return ActionResult(action, ActionStatus.FAILED, "failed", error=message, hint=hint)


def _done_words(action: Action) -> str:
    period = action.after.period
    every = f" every {period}" if period else ""
    how = "by hand" if action.after.manual else "automatically"
    if action.action is ActionKind.TERMINATE_AT_EXPIRY:
        return "set to terminate at expiry (its data is deleted then)"
    if action.action is ActionKind.TERMINATE_AT_COMMITMENT_END:
        return "set to terminate at the end of its commitment (its data is deleted then)"
    if action.action is ActionKind.CANCEL_TERMINATION:
        return f"termination cancelled: renews {how}{every}"
    mode = "manual" if how == "by hand" else "automatic"
    end = action.after.commitment_end
    if end is not None and action.before.commitment_end != end:
        ends = f"commitment end rule set to {end}"
        renewal_same = (action.before.lifecycle, action.before.period) == (
            action.after.lifecycle,
            action.after.period,
        )
        return ends if renewal_same else f"renewal set to {mode}{every}; {ends}"
    return f"renewal set to {mode}{every}"
