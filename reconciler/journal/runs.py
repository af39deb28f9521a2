"""Run summaries: each run of a journal as ``reconciler journal`` lists it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from reconciler.journal.records import Outcome, Phase, Record


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
