"""``reconciler show PLAN`` (issue 17): a saved plan rendered by plan's own renderers,
from the file alone; and a plan file given where a spec belongs (``plan``, ``validate``)
answered with one line naming the commands that take it. Against the embedded sandbox
(a temporary RECONCILER_STATE_DIR, the demo account)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from child_process import python
from cli_helpers import Result, clean_workdir, cli, error_lines
from demo_spec import FOUR_SERVICES, demo_spec

CHANGES = demo_spec(FOUR_SERVICES[:3], endpoint="sandbox")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return clean_workdir(tmp_path, monkeypatch, changes_yaml=CHANGES)


def saved(capsys: pytest.CaptureFixture[str], name: str = "plan.json") -> Result:
    """``plan changes.yaml --out NAME`` (text on stdout)."""
    result = cli(capsys, "plan", "changes.yaml", "--out", name)
    assert result.code == 0, result.err
    return result


# --- show --------------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["text", "markdown", "json"])
def test_show_prints_what_plan_printed_when_it_saved_the_file(
    workdir: Path, capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    planned = cli(capsys, "plan", "changes.yaml", "--out", "plan.json", "--format", output_format)
    assert planned.code == 0, planned.err
    shown = cli(capsys, "show", "plan.json", "--format", output_format)
    assert shown.code == 0, shown.err
    assert shown.err == ""
    assert shown.out == planned.out
    assert "old-shop.example.org" in shown.out


def test_show_defaults_to_text_and_reads_a_plan_under_any_name(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planned = saved(capsys)
    (workdir / "reviewed.plan").write_bytes((workdir / "plan.json").read_bytes())
    shown = cli(capsys, "show", "reviewed.plan")
    assert shown.code == 0, shown.err
    assert shown.out == planned.out
    assert "! old-shop.example.org (hosting/web, #120000202): DELETE NOW" in shown.out


def test_show_needs_no_spec_no_credentials_and_no_network_code(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file alone: the spec gone, no state directory (the embedded sandbox would
    make one), no key; the interpreter's audit events show no socket used and no
    credentials file opened."""
    planned = saved(capsys)
    (workdir / "changes.yaml").unlink()
    (workdir / "home").mkdir()
    (workdir / "home" / ".ovh.conf").write_text("[default]\nendpoint=ovh-eu\n", encoding="utf-8")
    code = (
        "import sys\n"
        "seen = []\n"
        "def audit(event, args):\n"
        "    if event.startswith('socket.') or (\n"
        "        event == 'open' and 'ovh.conf' in str(args[0])\n"
        "    ):\n"
        "        seen.append(event)\n"
        "sys.addaudithook(audit)\n"
        "from reconciler.cli import main\n"
        "try:\n"
        "    main(['show', 'plan.json'])\n"
        "except SystemExit as done:\n"
        "    assert done.code in (0, None), done.code\n"
        "assert not seen, seen\n"
    )
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OVH_", "RECONCILER_"))
    }
    environ["RECONCILER_STATE_DIR"] = str(workdir / "no-state-here")
    environ["HOME"] = str(workdir / "home")
    done = python("-c", code, cwd=workdir, env=environ)
    assert done.returncode == 0, done.stderr
    assert done.stdout == planned.out
    assert not (workdir / "no-state-here").exists()


def test_a_damaged_or_other_version_plan_gets_the_error_apply_gives(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved(capsys)
    document = json.loads((workdir / "plan.json").read_text(encoding="utf-8"))
    other_version = {**document, "format_version": "9"}
    (workdir / "v9.json").write_text(json.dumps(other_version), encoding="utf-8")
    altered = {**document, "summary": {**document["summary"], "delete_now": 7}}
    (workdir / "altered.json").write_text(json.dumps(altered), encoding="utf-8")
    (workdir / "cut.json").write_bytes((workdir / "plan.json").read_bytes()[:200])
    for name, words in (
        ("v9.json", 'format_version "9"'),
        ("altered.json", "summary"),
        ("cut.json", "cut.json"),
    ):
        applied = cli(capsys, "apply", name, "--auto-approve")
        assert applied.code == 1
        (expected,) = error_lines(applied)
        assert words in expected, expected
        for command in ("show", "plan", "validate"):
            result = cli(capsys, command, name)
            assert result.code == 1, (command, name)
            assert result.out == ""
            assert error_lines(result) == [expected], (command, name)


def test_show_refuses_a_spec_and_a_missing_file_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "show", "changes.yaml")
    assert result.code == 1
    assert error_lines(result) == [
        "error: changes.yaml is not a plan file (saved by `reconciler plan --out`)"
    ]
    assert "hint: if it is a spec, `reconciler plan changes.yaml` shows its plan" in result.err
    missing = cli(capsys, "show", "absent.json")
    assert missing.code == 1
    assert error_lines(missing) == [
        "error: cannot read plan absent.json: No such file or directory"
    ]
    typo = cli(capsys, "show", "absent.json", "--format", "yaml")
    assert typo.code == 1
    assert error_lines(typo)[0].startswith("error: Invalid value for '--format'")


# --- a plan file where a spec belongs ----------------------------------------------------


@pytest.mark.parametrize("name", ["plan.json", "reviewed.plan"])
@pytest.mark.parametrize("command", ["plan", "validate"])
def test_a_plan_file_given_as_a_spec_is_one_line_naming_show_and_apply(
    workdir: Path, capsys: pytest.CaptureFixture[str], name: str, command: str
) -> None:
    saved(capsys, "saved.json")
    (workdir / name).write_bytes((workdir / "saved.json").read_bytes())
    result = cli(capsys, command, "changes.yaml", name)
    assert result.code == 1
    assert result.out == ""
    assert error_lines(result) == [
        f"error: {name} is a plan file, not a spec: use `reconciler show {name}` or "
        f"`reconciler apply {name}`"
    ]
    assert result.err.count("\n") == 2  # the error and its hint, no spec errors


def test_a_spec_written_as_json_is_still_a_spec(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """YAML reads JSON: a `.json` spec plans as a spec; a `.json` plan file without its
    `format_version` is still taken for a plan (and refused as one)."""
    spec = {
        "version": 1,
        "endpoint": "sandbox",
        "unmanaged": "ignore",
        "services": {"example.net": {"type": "domain", "lifecycle": "terminate_at_expiry"}},
    }
    (workdir / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    result = cli(capsys, "plan", "spec.json")
    assert result.code == 0, result.err
    assert "example.net" in result.out and "terminate" in result.out
    saved(capsys, "saved.json")
    plan = json.loads((workdir / "saved.json").read_text(encoding="utf-8"))
    del plan["format_version"]
    (workdir / "broken.json").write_text(json.dumps(plan), encoding="utf-8")
    refused = cli(capsys, "plan", "broken.json")
    assert refused.code == 1 and "not a reconciler plan: it has no format_version" in refused.err


OTHER = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  example.org:
    type: domain
    lifecycle: terminate_at_expiry
"""


@pytest.mark.parametrize("output_format", ["text", "markdown", "json"])
def test_show_of_several_plans_prints_what_plan_printed_for_several_specs(
    workdir: Path, capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    (workdir / "other.yaml").write_text(OTHER, encoding="utf-8")
    planned = cli(
        capsys, "plan", "changes.yaml", "other.yaml", "--out", "plan.json",
        "--format", output_format,
    )  # fmt: skip
    assert planned.code == 0, planned.err
    shown = cli(capsys, "show", "plan.changes.json", "plan.other.json", "--format", output_format)
    assert shown.code == 0, shown.err
    assert shown.out == planned.out
    assert "old-shop.example.org" in shown.out and "example.org" in shown.out
    if output_format == "json":
        assert [p["spec_source"] for p in json.loads(shown.out)] == ["changes.yaml", "other.yaml"]
    # In the order given: the other one first.
    reversed_order = cli(capsys, "show", "plan.other.json", "plan.changes.json")
    assert reversed_order.code == 0
    assert reversed_order.out.index("other.yaml") < reversed_order.out.index("changes.yaml")


def test_show_of_several_files_names_every_one_that_is_no_plan(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved(capsys)
    result = cli(capsys, "show", "changes.yaml", "plan.json", "absent.json")
    assert result.code == 1
    assert result.out == ""
    lines = error_lines(result)
    assert len(lines) == 2, lines
    assert lines[0] == "error: changes.yaml is not a plan file (saved by `reconciler plan --out`)"
    assert "absent.json" in lines[1]
