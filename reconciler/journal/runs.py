"""Run summaries: each run of a journal as ``reconciler journal`` lists it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.core.plan import ActionKind, DoneBefore, Plan, RuleCode
from reconciler.core.steps import StepKind
from reconciler.journal.reader import read_journal
from reconciler.journal.records import Outcome, Phase, Record, time_text


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
    return done_before(read_journal(path, missing_ok=True).records, endpoint=endpoint)


def done_before(records: Iterable[Record], *, endpoint: str) -> dict[str, DoneBefore]:
    """The terminations and deletions the journal saw done on ``endpoint``, by spec key
    (the last of each): what lets a plan say "already done" of an entry whose service
    the account no longer lists, instead of refusing it as a name that matches nothing."""
    found: dict[str, DoneBefore] = {}
    for record in records:
        if (
            record.endpoint != endpoint
            or record.service is None
            or record.action not in _ENDING_ACTIONS
        ):
            continue
        finished = record.phase == Phase.ACTION and record.outcome == Outcome.DONE
        # A deletion confirmed but killed before its action's end was written is done too.
        confirmed = (
            record.phase == Phase.CALL
            and record.detail.get("step") == StepKind.CONFIRM_TERMINATION.value
            and record.outcome in (Outcome.OK, Outcome.GONE)
        )
        if finished or confirmed:
            action = ActionKind(record.action)
            verb = "deleted" if action is ActionKind.DELETE_NOW else "set to terminate"
            found[record.service] = DoneBefore(
                action,
                f"the journal shows it {verb} by apply run {record.run} on "
                f"{time_text(record.time)}",
            )
    return found
