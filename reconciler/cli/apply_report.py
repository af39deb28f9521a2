"""``apply --format json``: what an apply did, as one JSON document for CD (pure).
docs/plan-format.md, "The apply report", gives every field; its schema is
``reconciler/schema/apply-report-v1.json`` (``format_version: "1"``).

The document goes to stdout and everything meant for people (the plan, progress, the
summary line, notes) to stderr, so that a pipeline keeps ``stdout`` as the run's record
(``> apply.json``) and still shows the log. The exit code is the text output's, and
the document says it too. Machine output: its texts (a refusal's message) are UTC
whatever ``--tz`` says. The journal stays the full record; this is its summary for the
run at hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import ApplyError, Interrupted, ReconcilerError, RefusedError

if TYPE_CHECKING:
    from reconciler.apply import ApplyReport, Refusal
    from reconciler.core.plan import Action, Plan
    from reconciler.journal.records import Record

FORMAT_VERSION = "1"
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schema" / "apply-report-v1.json"


@dataclass(frozen=True, slots=True)
class ApplyEnd:
    """How an apply ended, once its plan was made or read: what the report is built from."""

    plan: Plan  # the approved plan (what was shown and approved)
    source: str
    digest: str
    report: ApplyReport | None = None  # None: no run (nothing to apply, or stopped before)
    refusals: tuple[Refusal, ...] = ()  # refused, before the account was read or after
    error: ReconcilerError | None = None


def result_word(end: ApplyEnd) -> str:
    error = end.error
    if error is None:
        return "applied" if end.report is not None else "no_changes"
    if isinstance(error, RefusedError):
        return "refused"
    if isinstance(error, Interrupted):
        return "interrupted"
    if isinstance(error, ApplyError) and end.report is not None:
        return "failed"
    return "error"


def query_ids(records: Iterable[Record], run: str) -> dict[tuple[str, str], list[str]]:
    """The query ids the journal holds for ``run``'s calls, by (service, action kind),
    in the order they were written; each id once."""
    found: dict[tuple[str, str], list[str]] = {}
    for record in records:
        if record.run != run or record.query_id is None or record.service is None:
            continue
        ids = found.setdefault((record.service, record.action or ""), [])
        if record.query_id not in ids:
            ids.append(record.query_id)
    return found


def document(end: ApplyEnd, records: Sequence[Record] = ()) -> dict[str, Any]:
    """The report of ``end``; ``records`` are the journal's (only the run's are read)."""
    report = end.report
    result = result_word(end)
    ids = query_ids(records, report.run) if report is not None else {}
    actions = _actions(end, result, ids)
    totals = {
        outcome: sum(1 for action in actions if action["outcome"] == outcome)
        for outcome in ("done", "skipped", "failed")
    }
    error = end.error
    return {
        "format_version": FORMAT_VERSION,
        "result": result,
        "exit_code": error.exit_code if error is not None else 0,
        "endpoint": end.plan.endpoint,
        "source": end.source,
        "plan_digest": end.digest,
        "run": report.run if report is not None else None,
        "journal": str(report.journal) if report is not None else None,
        "actions": actions,
        "refused": [
            {
                "service": refusal.service,
                "service_id": refusal.service_id,
                "rule": refusal.rule,
                "message": refusal.message,
                "fix": refusal.fix,
            }
            for refusal in end.refusals
        ],
        "totals": {**totals, "refused": len(end.refusals)},
        "error": ({"message": error.message, "hint": error.hint} if error is not None else None),
    }


def _actions(
    end: ApplyEnd, result: str, ids: Mapping[tuple[str, str], list[str]]
) -> list[dict[str, Any]]:
    report = end.report
    if report is not None:
        ran = [
            _action(
                r.action,
                r.status.value,
                r.summary,
                error=r.error,
                hint=r.hint,
                query_ids=ids.get((r.action.service, r.action.action.value), []),
            )
            for r in report.results
        ]
        already = [
            _action(action, "skipped", "already as the plan wants (made before this run)")
            for action in report.already_done
        ]
        return _in_plan_order(end.plan, [*ran, *already])
    if result == "interrupted":
        outcome, summary = "unknown", "interrupted: the journal says whether its calls were sent"
    elif result == "no_changes":
        return []
    else:
        outcome, summary = "skipped", "not applied: apply stopped before it ran (see error)"
    return [_action(action, outcome, summary) for action in end.plan.changes]


def _action(
    action: Action,
    outcome: str,
    summary: str,
    *,
    error: str | None = None,
    hint: str | None = None,
    query_ids: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "service": action.service,
        "name": action.name,
        "service_id": action.service_id,
        "type": action.type,
        "kind": action.action.value,
        "outcome": outcome,
        "summary": summary,
        "error": error,
        "hint": hint,
        "query_ids": list(query_ids),
    }


def _in_plan_order(plan: Plan, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actions in the order of the plan's changes (the executor runs some at once);
    any the approved plan does not name (planned anew at apply time) last."""
    order = {action.service: index for index, action in enumerate(plan.changes)}
    return sorted(actions, key=lambda item: order.get(item["service"], len(order)))
