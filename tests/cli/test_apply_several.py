"""``reconciler apply a.yaml b.yaml`` (issue 17): several specs, as ``plan`` takes
them. Each spec planned under its label, approved on its own, applied in the order
given with a journal run of its own; the first refused, failed or cancelled spec stops
the command with its exit code, and the specs after it are neither planned nor
applied; a saved plan is applied alone. Against the embedded sandbox (the demo
account)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import (
    DELETE_OLD_SHOP,
    RENEW_CAMPAIGN,
    TERMINATE_EXAMPLE_NET,
    ScriptedIO,
    clean_workdir,
    cli,
    error_lines,
    pending,
    piped,
)

from reconciler.cli.apply import ApplyRequest, run_applies
from reconciler.errors import ReconcilerError

TERMINATE = TERMINATE_EXAMPLE_NET
DELETE = DELETE_OLD_SHOP
REFUSED = RENEW_CAMPAIGN


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return clean_workdir(
        tmp_path, monkeypatch, a_yaml=TERMINATE, b_yaml=DELETE, refused_yaml=REFUSED
    )


def runs(workdir: Path) -> list[str]:
    """The journal's run ids, in the order their first record was written."""
    journal = workdir / "state" / "journal.jsonl"
    if not journal.exists():
        return []
    lines = journal.read_text(encoding="utf-8").splitlines()
    return list(dict.fromkeys(json.loads(line)["run"] for line in lines))


def test_several_specs_are_applied_in_order_each_in_its_section_and_its_own_run(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "a.yaml", "b.yaml", "--auto-approve")
    assert result.code == 0, result.err
    first, second = result.out.index("── a.yaml "), result.out.index("── b.yaml ")
    assert first < second
    # Each section holds its own spec's plan and its own summary line.
    assert "example.net" in result.out[first:second]
    assert "old-shop.example.org" not in result.out[first:second]
    assert "old-shop.example.org" in result.out[second:]
    assert result.out.count("Apply complete") == 2
    assert (pending(capsys, "a.yaml"), pending(capsys, "b.yaml")) == (0, 0)
    made = runs(workdir)
    assert len(made) == 2  # one journal run per spec
    assert f"(run {made[0]};" in result.out[first:second]
    assert f"(run {made[1]};" in result.out[second:]


def test_json_is_an_array_of_the_reports_in_the_order_given(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "b.yaml", "a.yaml", "--auto-approve", "--format", "json")
    assert result.code == 0, result.err
    reports: list[dict[str, Any]] = json.loads(result.out)
    assert [r["source"] for r in reports] == ["b.yaml", "a.yaml"]
    assert [r["result"] for r in reports] == ["applied", "applied"]
    assert [r["run"] for r in reports] == runs(workdir)
    assert [a["service"] for a in reports[0]["actions"]] == ["old-shop.example.org"]


def test_a_refused_spec_stops_the_command_before_anything_of_it_or_after_it_is_sent(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "refused.yaml", "b.yaml", "--auto-approve", "--format", "json")
    assert result.code == 3
    (report,) = json.loads(result.out)  # b.yaml never ran: no report
    assert report["source"] == "refused.yaml" and report["result"] == "refused"
    assert "stopped at refused.yaml: b.yaml not planned nor applied" in result.err
    assert "── b.yaml " not in result.err
    assert runs(workdir) == []
    assert pending(capsys, "b.yaml") == 1


def test_the_exit_code_is_the_stopping_specs_once_the_first_ones_were_applied(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "a.yaml", "refused.yaml", "b.yaml", "--auto-approve")
    assert result.code == 3
    assert pending(capsys, "a.yaml") == 0  # applied before refused.yaml was planned
    assert pending(capsys, "b.yaml") == 1
    assert len(runs(workdir)) == 1
    assert len(error_lines(result)) == 1


def test_a_saved_plan_is_applied_alone(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = cli(capsys, "plan", "a.yaml", "--out", "a.plan.json")
    assert saved.code == 0, saved.err
    for files in (("a.plan.json", "b.yaml"), ("b.yaml", "a.plan.json")):
        result = cli(capsys, "apply", *files, "--auto-approve")
        assert result.code == 1
        (line,) = error_lines(result)
        assert "a.plan.json is a saved plan: apply takes one saved plan alone" in line
    assert runs(workdir) == []
    assert (pending(capsys, "a.yaml"), pending(capsys, "b.yaml")) == (1, 1)


def test_an_invalid_spec_anywhere_stops_before_the_first_is_planned(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "broken.yaml").write_text("version: 1\nservices: [\n", encoding="utf-8")
    result = cli(capsys, "apply", "a.yaml", "broken.yaml", "--auto-approve")
    assert result.code == 1 and "broken.yaml" in result.err
    assert "── a.yaml " not in result.out
    assert runs(workdir) == []


def test_options_are_checked_against_every_spec_first(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = cli(capsys, "apply", "a.yaml", "b.yaml", "--auto-approve", "--token", "nope=x")
    assert unknown.code == 1
    (line,) = error_lines(unknown)
    assert "--token nope=...: no spec has an entry named 'nope'" in line
    assert runs(workdir) == []
    # --target names an entry of b.yaml only: a.yaml's plan covers nothing.
    targeted = cli(
        capsys, "apply", "a.yaml", "b.yaml", "--auto-approve", "--target", "old-shop.example.org"
    )
    assert targeted.code == 0, targeted.err
    assert (pending(capsys, "a.yaml"), pending(capsys, "b.yaml")) == (1, 0)


def test_pulumi_stack_files_among_them_are_skipped_as_plan_skips_them(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "Pulumi.prod.yaml").write_text("config: {}\n", encoding="utf-8")
    result = cli(capsys, "apply", "Pulumi.prod.yaml", "a.yaml", "b.yaml", "--auto-approve")
    assert result.code == 0, result.err
    assert "skipped Pulumi.prod.yaml" in result.err
    assert len(runs(workdir)) == 2


def test_each_spec_has_its_own_approval_and_a_cancelled_one_stops_there(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [Path("a.yaml"), Path("b.yaml")]
    io = ScriptedIO(["yes", "old-shop.example.org", "no"])
    with pytest.raises(ReconcilerError, match="apply cancelled"):
        run_applies(ApplyRequest(target=paths[0]), paths, io=io)
    assert [q.split()[0] for q in io.asked] == ["Apply", "old-shop.example.org", "Apply"]
    assert "1 change" in io.asked[0] and "1 change" in io.asked[2]
    assert (pending(capsys, "a.yaml"), pending(capsys, "b.yaml")) == (0, 1)

    io = ScriptedIO(["old-shop.example.org", "yes"])
    reports = run_applies(ApplyRequest(target=paths[0]), paths, io=io)
    assert reports[0] is None  # a.yaml had nothing left to do: no question
    assert reports[1] is not None and not reports[1].failed
    assert len(io.asked) == 2
    assert (pending(capsys, "a.yaml"), pending(capsys, "b.yaml")) == (0, 0)


def test_standard_input_is_one_of_the_specs_read_once(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    piped(monkeypatch, DELETE)
    result = cli(capsys, "apply", "a.yaml", "-", "--auto-approve")
    assert result.code == 0, result.err
    assert "── <stdin> " in result.out
    assert (pending(capsys, "a.yaml"), pending(capsys, "b.yaml")) == (0, 0)
    assert len(runs(workdir)) == 2


@pytest.mark.parametrize(
    ("piped_spec", "args", "note"),
    [
        (REFUSED, ("-", "b.yaml"), "stopped at <stdin>: b.yaml not planned"),
        (DELETE, ("refused.yaml", "-"), "stopped at refused.yaml: <stdin> not planned"),
    ],
    ids=["stopping", "not-reached"],
)
def test_the_stopped_note_names_standard_input_as_its_problems_do(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    piped_spec: str,
    args: tuple[str, ...],
    note: str,
) -> None:
    piped(monkeypatch, piped_spec)
    result = cli(capsys, "apply", *args, "--auto-approve")
    assert result.code == 3
    assert note in result.err, result.err
    assert runs(workdir) == []


def test_standard_input_without_auto_approve_is_refused_before_the_first_spec(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    piped(monkeypatch, DELETE)
    result = cli(capsys, "apply", "a.yaml", "-")
    assert result.code == 1
    (line,) = error_lines(result)
    assert "standard input is where the confirmation is typed" in line
    assert "── a.yaml " not in result.out and runs(workdir) == []
