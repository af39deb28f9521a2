"""Executing the approved actions: concurrently, each on its own, each decided on a
read of its service no older than a bound (docs/architecture.md, "`reconciler.apply`",
walks through the steps; docs/user-guide.md, "Applying", says what the bound guarantees
and what it does not).

The contract:

- only the typed steps the planner made in this run are sent; any other call fails its
  action before anything is sent (``steps.steps_of``);
- a call is decided on the run's read of the account (the snapshot) only for a
  reversible first step while that read is younger than ``ApplyOptions.max_read_age``;
  anything else re-reads its service alone first, because OVH has no conditional
  writes: the bound is how old the state a call is decided on may be;
- a service that moved since the run's read (its fingerprint within the account), or
  an action past its ``expires_at``, fails with nothing sent; one already where the
  action takes it is skipped, so that two applies never double an action;
- every mutating call goes through ``Session.make`` (journalled before and after); a
  failed action never stops the others, an unusable journal stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler.apply.deletion import DeleteNow, TerminationHistory
from reconciler.apply.mailbox import Mailbox
from reconciler.apply.results import ActionResult, ActionStatus
from reconciler.apply.session import CallRejected, Session, StepFailed
from reconciler.core.diff import service_moves
from reconciler.core.fingerprints import fingerprint
from reconciler.core.live import LiveAccount, LiveService
from reconciler.core.plan import Action, ActionKind
from reconciler.core.steps import (
    ConfirmTermination,
    RequestTermination,
    SetRenewalObject,
    Step,
    StepKind,
    UnknownCall,
    already_as_wanted,
    deletion_done,
    steps_of,
)
from reconciler.errors import ApiError, JournalError, ReconcilerError, Unauthorized
from reconciler.journal import Outcome, Phase
from reconciler.observe import read_account
from reconciler.ovh.client import ReadStrategy
from reconciler.times import when_text

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
# The steps a snapshot may decide: each is undone by another call of the same kind (a
# termination policy set back, a renewal or an end rule changed again). Listed, not
# excluded: a kind added later re-reads alone until someone says it is reversible.
_REVERSIBLE = frozenset(
    {StepKind.TERMINATION_POLICY, StepKind.RENEW, StepKind.RENEWAL_OBJECT, StepKind.END_RULE}
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The account as one read showed it, and when that read was made (by the session's
    clock): what reversible first steps are decided on while it is young enough."""

    account: LiveAccount
    read_at: datetime


class Executor:
    """Runs the approved actions of one apply; ``account`` is the account as read for
    this run (the fresh plan's), whose facts each re-read service is fingerprinted in.
    ``read_at``: when that read was made; without it every service is re-read alone."""

    def __init__(
        self,
        session: Session,
        mailbox: Mailbox,
        history: TerminationHistory,
        account: LiveAccount,
        *,
        read_at: datetime | None = None,
    ) -> None:
        self.session = session
        self.mailbox = mailbox
        self.history = history
        self.account = account
        self.read_at = read_at
        self._snapshot: Snapshot | None = None
        # Actions decided on the snapshot check its age and send their first step within
        # one of these slots, as many as the client sends at once: the age is then that
        # of the moment the call is handed over, not of the moment it began to queue.
        self._slots = asyncio.Semaphore(session.client.concurrency)

    async def run(self, actions: tuple[Action, ...]) -> tuple[ActionResult, ...]:
        """Every action concurrently; results in the order of ``actions``."""
        self._snapshot = await self._snapshot_for(actions)
        tasks: list[asyncio.Task[ActionResult]] = []
        try:
            async with asyncio.TaskGroup() as group:  # a JournalError cancels the rest
                for action in actions:
                    tasks.append(group.create_task(self._guarded(action)))
        except* JournalError as failures:
            raise failures.exceptions[0] from None
        return tuple(task.result() for task in tasks)

    async def _snapshot_for(self, actions: tuple[Action, ...]) -> Snapshot | None:
        """The account the reversible first steps are decided on: the run's read while it
        is younger than the bound; else one Iceberg read of the account made now, when
        its pages cost fewer round trips than re-reading those services alone; else none
        (each re-read alone)."""
        session = self.session
        bound = session.options.max_read_age
        if self.read_at is None or not bound:
            return None
        deciding = sum(1 for action in actions if _first_reversible(action))
        if not deciding:
            return None
        if session.now() - self.read_at < bound:
            return Snapshot(self.account, self.read_at)
        client = session.client
        if client.read_strategy is ReadStrategy.PER_ID:
            return None  # no pages: re-reading the account is a GET per service
        # The listing: its first page (which gives the total), then the others as many
        # at a time as the client sends; the re-reads alone, as many at a time.
        pages = max(1, math.ceil(len(self.account.services) / client.page_size))
        listing = 1 + math.ceil((pages - 1) / client.concurrency)
        alone = math.ceil(deciding / client.concurrency)
        if listing >= alone:
            return None
        read_at = session.now()
        try:
            account = await read_account(client)
        except ApiError:
            # Each service is then re-read alone, which decides as safely; should the API
            # be failing, those re-reads meet it too and each action says so.
            return None
        return Snapshot(account, read_at)

    def _young_snapshot(self) -> Snapshot | None:
        """The snapshot, when it is younger than the bound now."""
        snapshot = self._snapshot
        if snapshot is None:
            return None
        if self.session.now() - snapshot.read_at >= self.session.options.max_read_age:
            return None
        return snapshot

    @contextlib.asynccontextmanager
    async def _deciding(self, action: Action) -> AsyncIterator[list[Snapshot | None]]:
        """What ``action`` is decided on, as a one-item list for ``_guarded`` to read: the
        snapshot (within a slot, young enough now) or ``None`` (its own re-read)."""
        if self._snapshot is None or not _first_reversible(action):
            yield [None]
            return
        async with self._slots:
            yield [self._young_snapshot()]

    async def _guarded(self, action: Action) -> ActionResult:
        self.session.reporter.action_started(action)
        async with self._deciding(action) as decided:
            snapshot = decided[0]
            try:
                result = await self._one(action, snapshot)
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
            detail={"summary": result.summary, **_read_detail(snapshot)},
        )
        self.session.reporter.action_finished(result)
        return result

    async def _one(self, action: Action, snapshot: Snapshot | None) -> ActionResult:
        session = self.session
        steps = steps_of(action)
        if action.service_id is None or not steps:
            raise UnknownCall(f"{action.action.value} of {action.service} has no calls to make")
        live: LiveService | None
        if snapshot is not None:
            account = snapshot.account
            live = account.by_id(action.service_id)
        else:
            account = self.account
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
        if fingerprint(live, account) != action.fingerprint:
            moved = _moves_text(self.account.by_id(live.service_id), live)
            raise StepFailed(
                f"{action.name} (#{action.service_id}) changed while this apply ran (another "
                f"apply, or a change by hand?){moved}; nothing sent",
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


def _first_reversible(action: Action) -> bool:
    """Whether ``action`` may be decided on a snapshot: its first step is reversible (a
    deletion never is, whatever its steps)."""
    if action.action is ActionKind.DELETE_NOW:
        return False
    try:
        steps = steps_of(action)
    except UnknownCall:
        return False  # refused by ``_one``, before any read
    return bool(steps) and steps[0].kind in _REVERSIBLE


def _read_detail(snapshot: Snapshot | None) -> Mapping[str, Any]:
    """The journal's word on what an action was decided on."""
    if snapshot is None:
        return {"read": "service"}
    return {"read": "account", "read_at": snapshot.read_at.isoformat()}


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


_MOVES_SHOWN = 4  # fields named in the message; the rest are counted
_VALUE_SHOWN = 40  # characters of a value (API text, bounded in a one-line message)


def _moves_text(before: LiveService | None, after: LiveService) -> str:
    """``": expiration 2027-03-01 00:00 UTC → 2027-04-01 00:00 UTC, renew_mode automatic
    → manual"``: what moved since the run's read, for the person who must find out who
    changed it; empty when the run's read does not have the service."""
    if before is None:
        return ""
    moves = service_moves(before, after)
    if not moves:
        return ""
    shown = [
        f"{move.field} {_value_text(move.before)} → {_value_text(move.after)}"
        for move in moves[:_MOVES_SHOWN]
    ]
    more = len(moves) - _MOVES_SHOWN
    return ": " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _value_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, datetime):
        return when_text(value)
    if isinstance(value, dict | list):  # a nested value that appeared or went
        return "set"
    text = str(value.value if hasattr(value, "value") else value)
    return text if len(text) <= _VALUE_SHOWN else text[: _VALUE_SHOWN - 1] + "…"
