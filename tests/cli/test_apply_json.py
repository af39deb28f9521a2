"""``apply --format json`` (issue 17): a report of what was done, for CD, on stdout
alone (the plan and progress on stderr), valid against the committed schema, whose
query ids are the journal's for the run, with the exit codes of the text output: done,
nothing to do, refused, a failed action, an apply stopped before it ran. Against the
embedded sandbox (the demo account)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_helpers import TERMINATE_AND_DELETE, TERMINATE_AND_REFUSED, Result, clean_workdir, cli

from reconciler.cli.apply_report import SCHEMA_PATH

CHANGES = TERMINATE_AND_DELETE
REFUSED = TERMINATE_AND_REFUSED  # nothing of it is applied (see cli_helpers)
DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-format.md"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return clean_workdir(tmp_path, monkeypatch, changes_yaml=CHANGES, refused_yaml=REFUSED)


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def report(result: Result) -> dict[str, Any]:
    """The report: stdout is that one JSON document and nothing else, valid."""
    document: dict[str, Any] = json.loads(result.out)
    validator = jsonschema.Draft202012Validator(schema())
    problems = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not problems, problems
    assert document["exit_code"] == result.code
    return document


def journal_ids(workdir: Path, run: str) -> dict[str, list[str]]:
    """The query ids the journal file holds for ``run``, by service (read here apart)."""
    found: dict[str, list[str]] = {}
    for line in (workdir / "state" / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["run"] == run and record["query_id"] is not None:
            ids = found.setdefault(record["service"], [])
            if record["query_id"] not in ids:
                ids.append(record["query_id"])
    return found


def test_a_done_apply_reports_each_action_with_its_query_ids_and_the_run(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "changes.yaml", "--auto-approve", "--format", "json")
    assert result.code == 0, result.err
    document = report(result)
    assert document["result"] == "applied"
    assert document["error"] is None and document["refused"] == []
    assert document["endpoint"] == "sandbox" and document["source"] == "changes.yaml"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", document["plan_digest"])
    run = document["run"]
    assert Path(document["journal"]) == workdir / "state" / "journal.jsonl"
    by_service = {action["service"]: action for action in document["actions"]}
    assert [a["service"] for a in document["actions"]] == ["example.net", "old-shop.example.org"]
    assert by_service["example.net"]["kind"] == "terminate_at_expiry"
    assert by_service["old-shop.example.org"]["kind"] == "delete_now"
    assert {a["outcome"] for a in document["actions"]} == {"done"}
    assert by_service["old-shop.example.org"]["service_id"] == 120000202
    ids = journal_ids(workdir, run)
    for name, action in by_service.items():
        assert action["query_ids"] == ids[name] and action["query_ids"], name
    # A deletion is two calls OVH answered: the request and the confirmation.
    assert len(by_service["old-shop.example.org"]["query_ids"]) == 2
    assert document["totals"] == {"done": 2, "skipped": 0, "failed": 0, "refused": 0}
    # Everything for people went to stderr: the plan, the progress, the summary line.
    assert "DELETE NOW" in result.err and f"(run {run};" in result.err
    # The journal command knows the run by the id the report gives.
    listed = cli(capsys, "journal", "--run", run, "--format", "json")
    assert listed.code == 0 and run in listed.out

    again = cli(capsys, "apply", "changes.yaml", "--auto-approve", "--format", "json")
    assert again.code == 0, again.err
    second = report(again)
    assert second["result"] == "no_changes"
    assert (second["run"], second["journal"], second["actions"]) == (None, None, [])


def test_a_refused_plan_exits_3_and_reports_the_refusal_and_nothing_done(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "refused.yaml", "--auto-approve", "--format", "json")
    assert result.code == 3
    document = report(result)
    assert document["result"] == "refused"
    (refusal,) = document["refused"]
    assert refusal["service"] == "campaign-2025.example.com"
    assert refusal["rule"] == "cancel-window-closed" and refusal["fix"]
    assert [a["outcome"] for a in document["actions"]] == ["skipped"]
    assert document["actions"][0]["service"] == "example.net"
    assert document["totals"] == {"done": 0, "skipped": 1, "failed": 0, "refused": 1}
    assert document["run"] is None
    assert "nothing was applied" in document["error"]["message"]
    assert "error: " in result.err and "nothing was applied" in result.err
    assert not (workdir / "state" / "journal.jsonl").exists()


def test_a_failed_action_exits_1_and_the_others_are_reported_done(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "NotTheRightToken0000000000000000000000000"
    result = cli(
        capsys, "apply", "changes.yaml", "--auto-approve", "--format", "json",
        "--token", f"old-shop.example.org={secret}",
    )  # fmt: skip
    assert result.code == 1
    document = report(result)
    assert document["result"] == "failed"
    by_service = {action["service"]: action for action in document["actions"]}
    failed = by_service["old-shop.example.org"]
    assert failed["outcome"] == "failed" and failed["error"]
    assert by_service["example.net"]["outcome"] == "done"
    assert document["totals"]["failed"] == 1 and document["totals"]["done"] == 1
    assert document["error"]["message"].startswith("1 of 2 actions failed")
    ids = journal_ids(workdir, document["run"])
    assert failed["query_ids"] == ids["old-shop.example.org"]
    assert secret not in result.out and secret not in result.err


def test_an_apply_stopped_before_it_ran_reports_the_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No terminal to confirm on and no --auto-approve: nothing applied, exit 1.
    result = cli(capsys, "apply", "changes.yaml", "--format", "json")
    assert result.code == 1
    document = report(result)
    assert document["result"] == "error"
    assert document["error"]["message"].startswith("no terminal to confirm on")
    assert {a["outcome"] for a in document["actions"]} == {"skipped"}
    assert document["run"] is None


def test_an_error_before_any_plan_prints_no_report(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "broken.yaml").write_text("version: 1\nservices: [\n", encoding="utf-8")
    result = cli(capsys, "apply", "broken.yaml", "--auto-approve", "--format", "json")
    assert result.code == 1 and result.out == ""
    assert "error:" in result.err


def test_the_schema_describes_every_field_and_the_doc_names_them() -> None:
    document = schema()
    jsonschema.Draft202012Validator.check_schema(document)
    documented = DOC.read_text(encoding="utf-8").split("## The apply report", 1)[1]
    for name, definition in [("ApplyReport", document), *document["$defs"].items()]:
        assert definition.get("description"), f"{name} has no description"
        properties = definition.get("properties", {})
        assert definition.get("required", []) == list(properties), name
        for field, prop in properties.items():
            assert "description" in prop or "$ref" in prop, f"{name}.{field}"
            assert f"`{field}`" in documented, f"docs/plan-format.md does not describe {field}"
