"""Run summaries: each run of a journal as ``reconciler journal`` lists it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.core.plan import ActionKind, DoneBefore, Plan, RuleCode
from reconciler.core.steps import StepKind

# ``needs_journal`` is asked of every plan, and most plans do not need the journal: the
# records (pydantic models) and the reader are loaded by the functions that read one.
if TYPE_CHECKING:
    from reconciler.journal.records import Record


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run as ``reconciler journal`` lists it."""

    run: str
    plan: str
    endpoint: str
    started: datetime
    ended: datetime | None  # None: the run never wrote its end (still running, or killed)
    counts: Mapping[str, int]  # outcomes of its actions: done, skipped, failed, ...


def runs(records: Iterable[Record]) -> list[RunSummary]:
    """Every run of the journal, in the order they started."""
    from reconciler.journal.records import Outcome, Phase

    order: list[str] = []
    first: dict[str, Record] = {}
    ended: dict[str, datetime] = {}
    counts: dict[str, dict[str, int]] = {}
    for record in records:
        if record.phase == Phase.JOURNAL:
            continue
        if record.run not in first:
            order.append(record.run)
            first[record.run] = record
            counts[record.run] = {}
        if record.phase == Phase.RUN and record.outcome == Outcome.FINISHED:
            ended[record.run] = record.time
        if record.phase == Phase.ACTION and record.outcome != Outcome.STARTED:
            tally = counts[record.run]
            tally[record.outcome] = tally.get(record.outcome, 0) + 1
    return [
        RunSummary(
            run=run,
            plan=first[run].plan,
            endpoint=first[run].endpoint,
            started=first[run].time,
            ended=ended.get(run),
            counts=counts[run],
        )
        for run in order
    ]


# The actions whose "done" means the service is terminated or on its way out.
_ENDING_ACTIONS = frozenset(
    {
        ActionKind.DELETE_NOW.value,
        ActionKind.TERMINATE_AT_EXPIRY.value,
        ActionKind.TERMINATE_AT_COMMITMENT_END.value,
    }
)


def needs_journal(plan: Plan) -> bool:
    """Whether ``plan`` refuses an entry to terminate or delete a service the account
    does not list: only then can the journal change the plan (``done_before``), so only
    then is it read."""
    return any(
        refusal.rule is RuleCode.UNKNOWN_SERVICE and refusal.service_id is None
        for refusal in plan.refused
    )


def done_before_in(path: Path, *, endpoint: str) -> dict[str, DoneBefore]:
    """``done_before`` of the journal at ``path`` (none when there is no journal yet)."""
    from reconciler.journal.reader import read_journal

    return done_before(read_journal(path, missing_ok=True).records, endpoint=endpoint)


def _ends_it(action: ActionKind, record: Record) -> bool:
    """Whether ``record`` is the sending of the call that ends the service: a deletion's
    confirmation (its request alone deletes nothing), or a termination's own call."""
    from reconciler.journal.records import Outcome

    if action is ActionKind.DELETE_NOW:
        return record.detail.get("step") == StepKind.CONFIRM_TERMINATION.value
    return record.outcome == Outcome.SENDING


def done_before(records: Iterable[Record], *, endpoint: str) -> dict[str, DoneBefore]:
    """The terminations and deletions the journal shows done on ``endpoint``, by spec
    key: an action finished ``done``, or the call that ends the service sent (its answer
    lost: a dropped connection, a killed run). What lets a plan say "already done" of an
    entry whose service the account no longer lists, instead of refusing it as a name
    that matches nothing (a typo)."""
    from reconciler.journal.records import Outcome, Phase, time_text

    found: dict[str, DoneBefore] = {}
    for record in records:
        if (
            record.endpoint != endpoint
            or record.service is None
            or record.action not in _ENDING_ACTIONS
        ):
            continue
        action = ActionKind(record.action)
        verb = "deleted" if action is ActionKind.DELETE_NOW else "set to terminate"
        if record.phase == Phase.ACTION and record.outcome == Outcome.DONE:
            evidence = f"the journal shows it {verb} by apply run {record.run}"
        elif record.phase == Phase.CALL and _ends_it(action, record):
            # Sent, its answer lost or failed (a dropped connection, a crash): the service
            # has left the account since, which is what that call does.
            evidence = f"the journal shows apply run {record.run} sent the call that ends it"
        else:
            continue
        found[record.service] = DoneBefore(action, f"{evidence} on {time_text(record.time)}")
    return found
