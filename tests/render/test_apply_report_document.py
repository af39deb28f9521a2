"""The apply report's document (``reconciler.cli.apply_report``), on hand-built plans and
reports: the outcome of each change for every way an apply ends, the query ids of the
run's calls only, and the plan's order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import plan_factory as f

from reconciler.apply import ActionResult, ActionStatus, ApplyReport
from reconciler.cli.apply_report import ApplyEnd, document, query_ids
from reconciler.errors import ApplyError, Interrupted, LockedError
from reconciler.journal.records import Record

DIGEST = "sha256:" + "ef" * 32
PLAN = f.plan((f.terminate(), f.cancel(), f.delete()))


def record(run: str, service: str, action: str, query_id: str | None) -> Record:
    return Record(
        time=datetime(2027, 1, 15, 12, tzinfo=UTC),
        run=run,
        plan=DIGEST,
        endpoint="ovh-eu",
        phase="call",
        outcome="ok" if query_id else "sending",
        service=service,
        action=action,
        query_id=query_id,
    )


def test_each_action_gets_the_query_ids_of_this_run_only_in_the_plans_order() -> None:
    terminate, cancel, delete = PLAN.changes
    report = ApplyReport(
        run="run-2",
        plan_digest=DIGEST,
        journal=Path("journal.jsonl"),
        plan=PLAN,
        # The executor finishes in its own order; the report follows the plan's.
        results=(
            ActionResult(delete, ActionStatus.FAILED, "not deleted", error="token refused"),
            ActionResult(terminate, ActionStatus.DONE, "set to terminate at expiry"),
        ),
        already_done=(cancel,),
    )
    records = [
        record("run-1", terminate.service, "terminate_at_expiry", "EU.old"),
        record("run-2", terminate.service, "terminate_at_expiry", None),
        record("run-2", terminate.service, "terminate_at_expiry", "EU.a"),
        record("run-2", delete.service, "delete_now", "EU.b"),
        record("run-2", delete.service, "delete_now", "EU.c"),
        record("run-2", delete.service, "delete_now", "EU.c"),
    ]
    error = ApplyError("1 of 2 actions failed", hint="run apply again")
    made = document(ApplyEnd(PLAN, "prod.yaml", DIGEST, report=report, error=error), records)
    assert made["result"] == "failed" and made["exit_code"] == 1
    assert [a["service"] for a in made["actions"]] == [a.service for a in PLAN.changes]
    by_service = {a["service"]: a for a in made["actions"]}
    assert by_service[terminate.service]["query_ids"] == ["EU.a"]
    assert by_service[delete.service]["query_ids"] == ["EU.b", "EU.c"]
    assert by_service[delete.service]["error"] == "token refused"
    assert by_service[cancel.service]["outcome"] == "skipped"
    assert by_service[cancel.service]["query_ids"] == []
    assert made["totals"] == {"done": 1, "skipped": 1, "failed": 1, "refused": 0}
    assert made["error"] == {"message": "1 of 2 actions failed", "hint": "run apply again"}
    assert query_ids(records, "run-1") == {(terminate.service, "terminate_at_expiry"): ["EU.old"]}


def test_an_interrupted_run_says_unknown_and_a_stopped_one_skipped() -> None:
    interrupted = document(ApplyEnd(PLAN, "prod.yaml", DIGEST, error=Interrupted("stop")))
    assert interrupted["result"] == "interrupted" and interrupted["exit_code"] == 130
    assert {a["outcome"] for a in interrupted["actions"]} == {"unknown"}
    locked = document(ApplyEnd(PLAN, "prod.yaml", DIGEST, error=LockedError("busy")))
    assert locked["result"] == "error" and locked["exit_code"] == 1
    assert {a["outcome"] for a in locked["actions"]} == {"skipped"}
    assert len(locked["actions"]) == len(PLAN.changes)
    nothing = document(ApplyEnd(f.plan((f.no_op(),)), "prod.yaml", DIGEST))
    assert (nothing["result"], nothing["actions"], nothing["run"]) == ("no_changes", [], None)
