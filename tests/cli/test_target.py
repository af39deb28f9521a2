"""``--target NAME`` on ``plan`` and ``apply`` (issue 17), as Terraform's ``-target``:
only the named spec entries are planned and applied, the others are not compared and not
touched, and the plan says it is partial in every format. Against the embedded sandbox
(a temporary RECONCILER_STATE_DIR, the demo account), and the planner itself for the
rules that look across entries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cli_helpers import clean_workdir, cli, error_lines
from demo_spec import demo_spec
from planner.planner_helpers import live_account, spec_of

from reconciler.core import planfile
from reconciler.core.plan import ActionKind, RuleCode
from reconciler.core.planner import make_plan
from reconciler.journal import read_journal

# Two changes, one entry in sync; `unmanaged: report`, so the account's other services
# are listed by a whole plan — and must not be by a targeted one.
SPEC = demo_spec(
    ("example.net", "old-brand.fr"),
    endpoint="sandbox",
    unmanaged="report",
    more=(
        "  example.com:\n    type: domain\n    lifecycle: renew\n    period: P12M\n"
        "  shop hosting:\n    name: old-shop.example.org\n    type: hosting/web\n"
        "    lifecycle: renew\n"
    ),
)

PARTIAL_TEXT = "Targeted plan: 1 of 4 services; the others were not compared."
WARNING = "warning: resource targeting is in effect (--target)"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return clean_workdir(tmp_path, monkeypatch, spec_yaml=SPEC)


def plan_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    result = cli(capsys, "plan", "spec.yaml", "--format", "json", *args)
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert isinstance(document, dict)
    return document


def changed_services(capsys: pytest.CaptureFixture[str]) -> set[str]:
    """The services the last apply sent a call for, from its journal."""
    shown = cli(capsys, "journal", "--last", "--format", "json")
    assert shown.code == 0, shown.err
    records = [json.loads(line) for line in shown.out.splitlines()]
    return {record["service"] for record in records if record.get("call")}


# --- plan ---------------------------------------------------------------------------------


def test_a_targeted_plan_plans_only_its_target_and_says_so_in_text(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = cli(capsys, "plan", "spec.yaml")
    assert "example.net" in whole.out and "old-brand.fr" in whole.out
    assert "Not in the spec" in whole.out and "Targeted plan" not in whole.out

    result = cli(capsys, "plan", "spec.yaml", "--target", "old-brand.fr")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[2] == PARTIAL_TEXT  # under the title and the spec line
    assert "+ old-brand.fr (domain, #120000103): cancel termination" in result.out
    assert "example.net" not in result.out  # not compared: no action, no drift
    assert "Not in the spec" not in result.out  # the rest of the account: not compared
    assert lines[-1] == (
        "Plan: 0 to terminate at expiry, 1 to cancel, 0 to delete now, 0 to change renewal, "
        "0 refused."
    )
    assert result.err.startswith(WARNING)
    assert "not for routine use" in result.err


def test_a_targeted_plan_in_sync_says_its_targets_match(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "plan", "spec.yaml", "--target", "example.com", "--detailed-exitcode")
    assert result.code == 0, "the changes elsewhere were not compared"
    assert result.out.splitlines()[-1] == "No changes. The targeted services match the spec."
    assert PARTIAL_TEXT in result.out


def test_the_json_plan_names_its_targets_and_the_schema_documents_them(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = json.loads(planfile.SCHEMA_PATH.read_text(encoding="utf-8"))
    whole = plan_json(capsys)
    assert whole["targets"] is None
    assert whole["unmanaged"]  # the demo account has services the spec does not name
    document = plan_json(capsys, "--target", "shop hosting", "--target", "example.net")
    jsonschema.validate(document, schema)
    assert "targets" in schema["properties"] and "targets" in schema["required"]
    assert document["targets"] == ["example.net", "shop hosting"]  # in spec order
    assert [action["service"] for action in document["actions"]] == [
        "example.net",
        "shop hosting",
    ]
    assert document["unmanaged"] == []
    assert len(document["spec"]) == 4  # the whole spec, which apply is held to
    assert document["live_fingerprint"] != whole["live_fingerprint"]


def test_the_markdown_plan_says_it_is_partial_before_anything_else(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "plan", "spec.yaml", "--format", "markdown", "--target", "example.net")
    assert result.code == 0, result.err
    paragraphs = result.out.split("\n\n")
    assert paragraphs[0].startswith("**Changes** · Plan: 1 to terminate at expiry")
    assert paragraphs[1] == f"**{PARTIAL_TEXT}**"
    assert "old-brand.fr" not in result.out
    synced = cli(capsys, "plan", "spec.yaml", "--format", "markdown", "--target", "example.com")
    assert synced.out.startswith(
        f"**No changes.** The targeted services match the spec.\n\n**{PARTIAL_TEXT}**"
    )


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("old-brnd.fr", "hint: did you mean 'old-brand.fr'?"),
        ("Example.NET", "hint: did you mean 'example.net'?"),
        (
            "old-shop.example.org",
            "hint: 'old-shop.example.org' is the name of entry "
            "'shop hosting': use --target 'shop hosting'",
        ),  # fmt: skip
        ("nothing-like-it", "hint: --target takes an entry's key in the spec (4 in spec.yaml)"),
    ],
    ids=["typo", "case", "name-of-a-label", "far"],
)
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_an_unknown_target_is_one_error_with_did_you_mean(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str, name: str, hint: str
) -> None:
    result = cli(capsys, command, "spec.yaml", "--target", "example.net", "--target", name)
    assert result.code == 1
    assert result.out == ""
    assert error_lines(result) == [f"error: --target {name}: no entry {name!r} in spec.yaml"]
    assert hint in result.err.splitlines()
    assert not (workdir / "state").exists() or not list((workdir / "state").glob("journal*"))


def test_with_several_specs_each_is_planned_on_the_targets_it_holds(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vps = "  vps-1a2b3c4d.vps.ovh.net:\n    type: vps\n    lifecycle: terminate_at_expiry\n"
    (workdir / "other.yaml").write_text(
        demo_spec((), endpoint="sandbox", more=vps), encoding="utf-8"
    )
    result = cli(capsys, "plan", "spec.yaml", "other.yaml", "--target", "example.net")
    assert result.code == 0, result.err
    assert "Targeted plan: 1 of 4 services; the others were not compared." in result.out
    assert "Targeted plan: 0 of 1 service; the others were not compared." in result.out
    assert "vps-1a2b3c4d" not in result.out.split("── other.yaml")[1].split("\n", 3)[3]


# --- apply ---------------------------------------------------------------------------------


def test_a_saved_targeted_plan_applies_its_target_only(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = cli(capsys, "plan", "spec.yaml", "--target", "example.net", "--out", "plan.json")
    assert saved.code == 0, saved.err
    shown = cli(capsys, "show", "plan.json")
    assert PARTIAL_TEXT in shown.out

    applied = cli(capsys, "apply", "plan.json", "--auto-approve")
    assert applied.code == 0, applied.err
    assert PARTIAL_TEXT in applied.out
    assert WARNING in applied.err
    assert "Apply complete: 1 done" in applied.out
    assert changed_services(capsys) == {"example.net"}

    after = plan_json(capsys)  # the whole spec again: the other change is still to make
    kinds = {action["service"]: action["action"] for action in after["actions"]}
    assert kinds["example.net"] == "no_op"
    assert kinds["old-brand.fr"] == "cancel_termination"


def test_apply_spec_with_target_touches_only_the_target(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied = cli(capsys, "apply", "spec.yaml", "--target", "old-brand.fr", "--auto-approve")
    assert applied.code == 0, applied.err
    assert PARTIAL_TEXT in applied.out
    assert changed_services(capsys) == {"old-brand.fr"}
    after = plan_json(capsys)
    kinds = {action["service"]: action["action"] for action in after["actions"]}
    assert kinds == {
        "example.net": "terminate_at_expiry",
        "old-brand.fr": "no_op",
        "example.com": "no_op",
        "shop hosting": "no_op",
    }


def test_a_targeted_plan_is_not_made_stale_by_a_change_elsewhere(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = cli(capsys, "plan", "spec.yaml", "--target", "example.net", "--out", "plan.json")
    assert saved.code == 0, saved.err
    other = cli(capsys, "apply", "spec.yaml", "--target", "old-brand.fr", "--auto-approve")
    assert other.code == 0, other.err
    applied = cli(capsys, "apply", "plan.json", "--auto-approve")
    assert applied.code == 0, applied.err
    assert changed_services(capsys) == {"example.net"}


def test_a_saved_plan_whose_targets_were_removed_is_refused_before_any_call(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = cli(capsys, "plan", "spec.yaml", "--target", "example.net", "--out", "plan.json")
    assert saved.code == 0, saved.err
    document = json.loads((workdir / "plan.json").read_text(encoding="utf-8"))
    document["targets"] = None  # now it would be the whole spec, with one action reviewed
    (workdir / "plan.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    applied = cli(capsys, "apply", "plan.json", "--auto-approve")
    assert applied.code == 1
    assert "old-brand.fr" in applied.err  # the change no reviewer saw
    journal = workdir / "state" / "journal.jsonl"
    records = read_journal(journal, missing_ok=True).records
    assert not [record for record in records if record.call is not None]


def test_target_with_a_saved_plan_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "plan", "spec.yaml", "--out", "plan.json").code == 0
    result = cli(capsys, "apply", "plan.json", "--target", "example.net", "--auto-approve")
    assert result.code == 1
    assert error_lines(result) == [
        "error: --target is for planning; plan.json is a saved plan, applied as it was made"
    ]


# --- the planner: rules across entries still see the whole spec ----------------------------


def test_a_target_is_judged_against_the_entries_it_does_not_plan() -> None:
    """Terminating a parent whose child another entry keeps is refused even when only the
    parent is targeted; and the child's own entry, not targeted, gets nothing."""
    spec = spec_of(
        {
            "services": {
                "hosting": {
                    "name": "example.com",
                    "type": "hosting/web",
                    "lifecycle": "terminate_at_expiry",
                },  # fmt: skip
                "domain": {"name": "example.com", "type": "domain", "lifecycle": "renew"},
            }
        }
    )
    account = live_account(
        [
            {"id": 1, "name": "example.com", "type": "hosting/web"},
            {"id": 2, "name": "example.com", "type": "domain", "parent": 1},
            {"id": 3, "name": "elsewhere.example", "type": "domain"},
        ]
    )
    now = datetime(2027, 1, 15, 12, tzinfo=UTC)
    made = make_plan(spec, account, now=now, endpoint="sandbox", targets=["hosting"])
    assert made.targets == ("hosting",)
    assert [refusal.rule for refusal in made.refused] == [RuleCode.LINKED_SERVICE_CONFLICT]
    assert made.actions == ()
    assert made.unmanaged == ()
    whole = make_plan(spec, account, now=now, endpoint="sandbox")
    assert whole.targets is None
    assert [action.action for action in whole.actions] == [ActionKind.NO_OP]
    assert [u.name for u in whole.unmanaged] == ["elsewhere.example"]
