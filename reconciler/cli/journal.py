"""``reconciler journal``: what ``reconciler apply`` did, from its journal.

- no selector: the runs of the journal, one line each (start, end, endpoint, plan,
  outcomes of their actions);
- ``--last`` / ``--run ID`` (a unique prefix is enough): every record of that run;
- ``--service NAME``: only the records of that service (of every run without a run
  selector).

Times are UTC, or in the display zone of ``--tz ZONE`` / ``RECONCILER_TZ`` (text only).

``--format json`` writes JSON Lines — the journal's own records, or one object per run —
for ``jq``. A torn line (a crash mid-write) is noted on stderr and skipped; any other
damaged line is an error with its line number. ``docs/journal.md`` documents the format.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path

import click

from reconciler.cli.display import tz_option, zone_of
from reconciler.cli.options import (
    JOURNAL_DEFAULT,
    OneLineUsageCommand,
    format_option,
    journal_option,
)
from reconciler.errors import UsageError
from reconciler.journal import (
    JOURNAL_FILE,
    Record,
    RunSummary,
    read_journal,
    runs,
    time_text,
)
from reconciler.ovh.embedded import working_state_dir
from reconciler.render.wording import clean
from reconciler.times import shown_moment


@click.command(cls=OneLineUsageCommand)
@click.option("--run", "run_id", metavar="ID", help="Show this run (a unique prefix is enough).")
@click.option("--last", is_flag=True, help="Show the last run.")
@click.option("--service", metavar="NAME", help="Only the records of this service.")
@format_option("text", "json", help="json: JSON Lines, for jq.")
@journal_option(dest="path", default=JOURNAL_DEFAULT)
@tz_option
def journal(
    run_id: str | None,
    last: bool,
    service: str | None,
    output_format: str,
    path: Path | None,
    tz: str | None,
) -> None:
    """Show what `reconciler apply` did: its runs, or every call of one run."""
    zone = zone_of(tz)  # a mistyped zone is refused before the journal is read
    if run_id and last:
        raise UsageError("--run and --last are exclusive", hint="give one of them")
    given = path is not None
    path = path or working_state_dir(os.environ, Path.cwd()) / JOURNAL_FILE
    if not given and not path.exists() and not (run_id or last or service):
        # No apply ran yet: an answer, not an error (a CI step listing runs must pass).
        # A --journal that names no file stays an error: more likely a typo.
        if output_format == "text":
            click.echo(f"No apply has run yet: there is no journal at {path}.")
        return
    contents = read_journal(path)
    for number in contents.torn:
        click.echo(
            f"note: {path}:{number} is torn (a write interrupted by a crash); skipped", err=True
        )
    records = contents.records
    summaries = runs(records)
    chosen: str | None = None
    if last:
        if not summaries:
            raise UsageError(f"{path} records no run yet", hint="run `reconciler apply` first")
        chosen = summaries[-1].run
    elif run_id:
        chosen = _find_run(run_id, summaries, path)
    if chosen is None and service is None:
        _show_runs(summaries, output_format, zone)
        return
    selected = [
        record
        for record in records
        if (chosen is None or record.run == chosen)
        and (service is None or record.service == service)
    ]
    if not selected and service is not None:
        where = f"run {chosen}" if chosen else str(path)
        raise UsageError(
            f"{where} has no record of {service!r}",
            hint="name the service as the spec does (its key); `reconciler journal --last` "
            "lists a run's records",
        )
    if output_format == "json":
        for record in selected:
            click.echo(json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":")))
        return
    _show_records(
        selected, summaries if chosen is None else [s for s in summaries if s.run == chosen], zone
    )


def _find_run(wanted: str, summaries: Sequence[RunSummary], path: Path) -> str:
    exact = [s.run for s in summaries if s.run == wanted]
    if exact:
        return exact[0]
    matches = [s.run for s in summaries if s.run.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(
            f"{path} has no run {wanted!r}", hint="`reconciler journal` lists the runs"
        )
    raise UsageError(
        f"{wanted!r} names {len(matches)} runs ({', '.join(matches[:3])}...)",
        hint="give more of the run id",
    )


def _show_runs(summaries: Sequence[RunSummary], output_format: str, zone: tzinfo | None) -> None:
    if output_format == "json":
        for summary in summaries:
            click.echo(
                json.dumps(
                    {
                        "run": summary.run,
                        "plan": summary.plan,
                        "endpoint": summary.endpoint,
                        "started": time_text(summary.started),
                        "ended": time_text(summary.ended) if summary.ended else None,
                        "actions": dict(summary.counts),
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
            )
        return
    if not summaries:
        click.echo("No runs recorded yet.")
        return
    for summary in summaries:
        click.echo(_run_line(summary, zone))


def _run_line(summary: RunSummary, zone: tzinfo | None) -> str:
    counts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(summary.counts.items()))
    ended = (
        f"ended {_time(summary.ended, zone)}"
        if summary.ended
        else "never finished (interrupted: run apply again to resume)"
    )
    return (
        f"{summary.run}  {_time(summary.started, zone)}  endpoint {clean(summary.endpoint)}  "
        f"plan {summary.plan[:19]}  {counts or 'no action'}; {ended}"
    )


def _show_records(
    records: Sequence[Record], summaries: Sequence[RunSummary], zone: tzinfo | None
) -> None:
    current: str | None = None
    by_run = {summary.run: summary for summary in summaries}
    for record in records:
        if record.run != current:
            current = record.run
            summary = by_run.get(record.run)
            head = f"Run {record.run} on endpoint {clean(record.endpoint)}, plan {record.plan[:19]}"
            click.echo(head if summary is None else f"{head}\n  {_run_line(summary, zone)}")
        click.echo("  " + record_line(record, zone))


def record_line(record: Record, zone: tzinfo | None = None) -> str:
    """One record in words: time, service, what, outcome, and the details that matter."""
    parts = [_time(record.time, zone)]
    if record.service is not None:
        where = f" #{record.service_id}" if record.service_id is not None else ""
        parts.append(f"{clean(record.service)}{where}")
    parts.append(record.phase)
    if record.call is not None:
        body = json.dumps(record.call.body, separators=(",", ":")) if record.call.body else ""
        attempt = f" (attempt {record.attempt})" if record.attempt and record.attempt > 1 else ""
        parts.append(
            f"{record.call.method} {clean(record.call.path)} {clean(body)}".rstrip() + attempt
        )
    parts.append(record.outcome)
    if record.status is not None:
        parts.append(f"HTTP {record.status}")
    if record.query_id:
        parts.append(f"query id {clean(record.query_id)}")
    detail = {k: v for k, v in record.detail.items() if k not in ("step",)}
    if detail:
        parts.append(", ".join(f"{k}={clean(v)}" for k, v in detail.items()))
    if record.error:
        parts.append(f"error: {clean(record.error)}")
    return "  ".join(parts)


def _time(when: object, zone: tzinfo | None) -> str:
    if not isinstance(when, datetime):
        return "-"
    return shown_moment(when, zone)
