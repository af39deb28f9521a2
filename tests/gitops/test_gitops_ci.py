"""The CI recipes of ``examples/ci``: every ``reconciler ...`` command line in them parses
with the real command line (click's parser, no ``--help``), they hold the flows they
promise, and their scripts really behave: run with bash, the real ``reconciler`` on the
embedded sandbox, and a stand-in for ``gh`` (GitHub) or the GitLab notes API, the plan
is posted as one comment updated in place, the job fails on a refused change, apply
applies every stack, the drift check fails on drift and keeps one issue."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from gitops_helpers import EXAMPLES, parse, reconciler_commands

CI = EXAMPLES / "ci"
GITHUB = sorted((CI / "github").glob("*.yml"))
GITLAB = CI / "gitlab" / ".gitlab-ci.yml"
RECIPES = [*GITHUB, GITLAB]
BIN = Path(sys.executable).parent  # the virtualenv's bin: `reconciler` is there

MARKER = "<!-- reconciler-plan -->"
SECRETS = {
    "OVH_APPLICATION_KEY": "app-key-from-the-secret-store",
    "OVH_APPLICATION_SECRET": "app-secret-from-the-secret-store",
    "OVH_PLAN_CONSUMER_KEY": "plan-ck-from-the-secret-store",
    "OVH_APPLY_CONSUMER_KEY": "apply-ck-from-the-secret-store",
}

CHANGES = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  example.net: {type: domain, lifecycle: terminate_at_expiry}
"""
IN_SYNC = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  example.org: {type: domain, lifecycle: renew}
"""
REFUSED = """\
version: 1
endpoint: sandbox
unmanaged: ignore
services:
  xdsl-ab12345-1: {lifecycle: terminate_at_expiry}
"""


# --- reading the recipes ---------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    """A workflow's `on:` (YAML 1.1 reads the bare key as the boolean true)."""
    found = workflow.get("on", workflow.get(True))
    assert isinstance(found, dict)
    return found


def scripts(path: Path) -> Iterator[str]:
    """Every shell script of a recipe: GitHub steps' `run`, GitLab jobs' scripts."""
    data = load(path)
    if path.name.endswith(".gitlab-ci.yml"):
        for job in data.values():
            if isinstance(job, dict):
                for key in ("before_script", "script", "after_script"):
                    yield from job.get(key, [])
    else:
        for job in data["jobs"].values():
            for step in job["steps"]:
                if "run" in step:
                    yield step["run"]


COMMANDS = [
    pytest.param(path, argv, id=f"{path.name}: reconciler {' '.join(argv)}")
    for path in RECIPES
    for script in scripts(path)
    for argv in reconciler_commands(script)
]


def test_every_recipe_is_there_and_calls_reconciler() -> None:
    assert [p.name for p in GITHUB] == [
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
        ["apply", "a.yaml", "b.yaml"],
        ["credentials", "request"],
        ["plans", "stacks/*.yaml"],
    ):
        with pytest.raises((click.ClickException, Exception)):
            parse(wrong)
    assert reconciler_commands("x=1; reconciler plan a.yaml > p.md 2> p.err || true") == [
        ["plan", "a.yaml"]
    ]


def commands_of(path: Path) -> list[list[str]]:
    return [argv for script in scripts(path) for argv in reconciler_commands(script)]


def test_github_plan_runs_on_pull_requests_touching_stacks() -> None:
    workflow = load(CI / "github" / "reconciler-plan.yml")
    assert triggers(workflow) == {"pull_request": {"paths": ["stacks/**"]}}
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
    (plan,) = commands_of(CI / "github" / "reconciler-plan.yml")
    assert plan[:2] == ["plan", "stacks/*.yaml"]
    assert {"--detailed-exitcode", "markdown"} <= set(plan)
    text = (CI / "github" / "reconciler-plan.yml").read_text(encoding="utf-8")
    assert "secrets.OVH_PLAN_CONSUMER_KEY" in text and "OVH_APPLY_CONSUMER_KEY" not in text


def test_github_apply_runs_on_merge_to_main_with_auto_approve() -> None:
    workflow = load(CI / "github" / "reconciler-apply.yml")
    assert triggers(workflow)["push"] == {"branches": ["main"], "paths": ["stacks/**"]}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["jobs"]["apply"]["environment"] == "ovh-production"
    (apply,) = commands_of(CI / "github" / "reconciler-apply.yml")
    assert apply[0] == "apply" and "--auto-approve" in apply
    text = (CI / "github" / "reconciler-apply.yml").read_text(encoding="utf-8")
    assert "secrets.OVH_APPLY_CONSUMER_KEY" in text


def test_github_drift_runs_nightly_with_detailed_exitcode() -> None:
    workflow = load(CI / "github" / "reconciler-drift.yml")
    assert "schedule" in triggers(workflow)
    (plan,) = commands_of(CI / "github" / "reconciler-drift.yml")
    assert plan[0] == "plan" and "--detailed-exitcode" in plan


def test_gitlab_has_the_same_three_flows() -> None:
    pipeline = load(GITLAB)
    plan, apply, drift = (
        pipeline["reconciler:plan"],
        pipeline["reconciler:apply"],
        pipeline["reconciler:drift"],
    )
    assert plan["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert plan["rules"][0]["changes"] == ["stacks/**/*"]
    assert plan["variables"] == {"OVH_CONSUMER_KEY": "$OVH_PLAN_CONSUMER_KEY"}
    assert "$CI_DEFAULT_BRANCH" in apply["rules"][0]["if"]
    assert apply["variables"] == {"OVH_CONSUMER_KEY": "$OVH_APPLY_CONSUMER_KEY"}
    assert apply["environment"]["name"] == "ovh-production" and apply["resource_group"]
    assert drift["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    by_job = {
        name: [argv for s in job["script"] for argv in reconciler_commands(s)]
        for name, job in pipeline.items()
        if isinstance(job, dict) and "script" in job
    }
    assert {"--detailed-exitcode", "markdown"} <= set(by_job["reconciler:plan"][0])
    assert "--auto-approve" in by_job["reconciler:apply"][0]
    assert "--detailed-exitcode" in by_job["reconciler:drift"][0]


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


# --- running the scripts ----------------------------------------------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


class Runner:
    """Runs a GitHub job's `run` steps with bash, as the runner would, the real
    reconciler on PATH and a fake `gh` that keeps comments and issues in a JSON file."""

    def __init__(self, workdir: Path, github: Mapping[str, str]) -> None:
        self.workdir = workdir
        self.github = dict(github)
        self.outputs: dict[str, dict[str, str]] = {}
        fake_bin = workdir / ".fake-bin"
        fake_bin.mkdir(exist_ok=True)
        gh = fake_bin / "gh"
        gh.write_text(f"#!{sys.executable}\n{FAKE_GH}", encoding="utf-8")
        gh.chmod(0o755)
        self.state = workdir / ".fake-github.json"
        self.state.write_text(json.dumps({"comments": [], "issues": [], "calls": []}))
        self.path = f"{fake_bin}{os.pathsep}{BIN}{os.pathsep}/usr/bin:/bin"

    def value(self, expression: str) -> str:
        if expression.startswith("secrets."):
            return SECRETS[expression.removeprefix("secrets.")]
        if expression.startswith("steps."):
            _, step, _, name = expression.split(".")
            return self.outputs.get(step, {}).get(name, "")
        return self.github[expression]

    def run_job(self, workflow: Path, job: str, skip: tuple[str, ...] = ()) -> dict[str, int]:
        """Every `run` step in order (``uses`` steps and those in ``skip`` left out);
        the exit code of each, by name. Steps after a failure run only with
        ``if: always()`` — as on GitHub."""
        data = load(workflow)
        env_top = {
            k: _EXPRESSION.sub(lambda m: self.value(m[1]), str(v))
            for k, v in data.get("env", {}).items()
        }
        codes: dict[str, int] = {}
        failed = False
        for step in data["jobs"][job]["steps"]:
            if "run" not in step or step.get("name") in skip:
                continue
            condition = str(step.get("if", ""))
            if failed and "always()" not in condition:
                continue
            if not self.condition_holds(condition):
                continue
            env = {
                "PATH": self.path,
                "HOME": str(self.workdir / ".home"),
                "GITHUB_REPOSITORY": "acme/infra",
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_RUN_ID": "4242",
                "GITHUB_REF_NAME": "main",
                "GITHUB_OUTPUT": str(self.workdir / ".github-output"),
                "GITHUB_STEP_SUMMARY": str(self.workdir / ".step-summary.md"),
                "FAKE_GITHUB_STATE": str(self.state),
                **env_top,
            }
            for key, raw in step.get("env", {}).items():
                env[key] = _EXPRESSION.sub(lambda m: self.value(m[1]), str(raw))
            (self.workdir / ".github-output").write_text("")
            completed = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=self.workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            codes[step["name"]] = completed.returncode
            if "id" in step:
                lines = (self.workdir / ".github-output").read_text().splitlines()
                self.outputs[step["id"]] = dict(line.split("=", 1) for line in lines if "=" in line)
            failed = failed or completed.returncode != 0
            for secret in SECRETS.values():
                assert secret not in completed.stdout + completed.stderr
        return codes

    def condition_holds(self, condition: str) -> bool:
        """The few conditions the recipes use: always(), and comparisons of a step
        output with a quoted value, joined by &&."""
        for part in condition.split("&&"):
            part = part.strip()
            if not part or part == "always()":
                continue
            match = re.fullmatch(r"(steps\.\S+)\s*(==|!=)\s*'([^']*)'", part)
            assert match, f"unsupported condition {part!r}"
            equal = self.value(match[1]) == match[3]
            if equal != (match[2] == "=="):
                return False
        return True

    def github_state(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.state.read_text())
        return found


FAKE_GH = r"""
import json, os, sys
state_path = os.environ["FAKE_GITHUB_STATE"]
state = json.load(open(state_path))
args = sys.argv[1:]
state["calls"].append(args)

def option(name, default=None):
    return args[args.index(name) + 1] if name in args else default

def body_from_field():
    field = option("-F")
    assert field.startswith("body=@"), field
    return open(field.removeprefix("body=@")).read()

out = ""
if args[0] == "api":
    method = option("--method", "GET")
    path = next(a for a in args[1:] if a.startswith("repos/"))
    if method == "GET":
        assert path.endswith("/comments")
        marker = "<!-- reconciler-plan -->"
        out = "".join(f"{c['id']}\n" for c in state["comments"] if c["body"].startswith(marker))
    elif method == "POST":
        state["comments"].append({"id": 1000 + len(state["comments"]), "body": body_from_field()})
    elif method == "PATCH":
        comment_id = int(path.rsplit("/", 1)[1])
        for comment in state["comments"]:
            if comment["id"] == comment_id:
                comment["body"] = body_from_field()
elif args[:2] == ["issue", "list"]:
    open_issues = [i for i in state["issues"] if i["state"] == "open"]
    out = f"{open_issues[0]['number']}\n" if open_issues else "\n"
elif args[:2] == ["issue", "create"]:
    state["issues"].append({"number": 7 + len(state["issues"]), "state": "open",
                            "body": open(option("--body-file")).read()})
elif args[:2] == ["issue", "edit"]:
    for issue in state["issues"]:
        if issue["number"] == int(args[2]):
            issue["body"] = open(option("--body-file")).read()
elif args[:2] == ["issue", "close"]:
    for issue in state["issues"]:
        if issue["number"] == int(args[2]):
            issue["state"] = "closed"
elif args[:2] == ["label", "create"]:
    pass
else:
    sys.exit(f"fake gh: unexpected {args}")
json.dump(state, open(state_path, "w"))
sys.stdout.write(out)
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / ".home").mkdir()
    return tmp_path


PULUMI_STACK_CONFIG = "config:\n  reconciler:spec: stacks/prod.yaml\n"


def stacks(workdir: Path, **specs: str) -> None:
    """The specs of stacks/, beside a Pulumi stack config (the recipes must skip it)."""
    for old in (workdir / "stacks").glob("*.yaml"):
        old.unlink()
    (workdir / "stacks" / "Pulumi.prod.yaml").write_text(PULUMI_STACK_CONFIG, "utf-8")
    for name, text in specs.items():
        (workdir / "stacks" / f"{name}.yaml").write_text(text, encoding="utf-8")


GITHUB_CONTEXT = {
    "github.event.pull_request.number": "7",
    "github.event.pull_request.head.sha": "0123456789abcdef",
    "github.token": "fake-github-token",
    "github.run_id": "4242",
    "github.run_attempt": "1",
}


@pytest.mark.slow
def test_github_plan_job_comments_once_updates_in_place_and_fails_on_refusal(
    workdir: Path,
) -> None:
    runner = Runner(workdir, {**GITHUB_CONTEXT, "github.workspace": str(workdir)})
    workflow = CI / "github" / "reconciler-plan.yml"
    skip = ("Install reconciler",)

    stacks(workdir, prod=CHANGES, shop=IN_SYNC)
    codes = runner.run_job(workflow, "plan", skip)
    assert codes == {
        "Plan": 0,
        "Comment the plan on the pull request": 0,
        "Fail on a refused change or an error": 0,
    }
    assert runner.outputs["plan"]["exitcode"] == "2"
    (comment,) = runner.github_state()["comments"]
    assert comment["body"].startswith(MARKER + "\n**Changes** · 2 specs planned")
    assert (
        "Planned at 0123456 · [workflow run](https://github.com/acme/infra/actions/runs/4242)"
        in (comment["body"])
    )
    assert (workdir / "plan.prod.json").exists() and (workdir / "plan.shop.json").exists()
    assert "**Changes**" in (workdir / ".step-summary.md").read_text()

    stacks(workdir, prod=REFUSED)  # a push that asks for a refused change
    codes = runner.run_job(workflow, "plan", skip)
    assert codes["Fail on a refused change or an error"] == 1
    assert runner.outputs["plan"]["exitcode"] == "3"
    (comment,) = runner.github_state()["comments"]  # the same comment, edited
    assert comment["id"] == 1000 and comment["body"].startswith(MARKER + "\n**Refused**")
    assert "unmanageable-service" in comment["body"]

    stacks(workdir, prod="version: 1\nservices:\n  a.example.com: {lifecycle: renw}\n")
    codes = runner.run_job(workflow, "plan", skip)
    assert codes["Fail on a refused change or an error"] == 1
    (comment,) = runner.github_state()["comments"]
    assert "**reconciler plan failed** (exit 1)" in comment["body"]
    assert "error: stacks/prod.yaml:3:30: unknown lifecycle 'renw'" in comment["body"]
    patches = [c for c in runner.github_state()["calls"] if "PATCH" in c]
    assert len(patches) == 2


@pytest.mark.slow
def test_github_apply_job_applies_every_stack_and_fails_if_one_fails(workdir: Path) -> None:
    runner = Runner(workdir, {**GITHUB_CONTEXT, "github.workspace": str(workdir)})
    workflow = CI / "github" / "reconciler-apply.yml"
    stacks(workdir, a_refused=REFUSED, b_prod=CHANGES)
    codes = runner.run_job(workflow, "apply", ("Install reconciler",))
    assert codes == {"Apply": 1}  # the refused stack fails the job...
    journal = (workdir / ".reconciler" / "journal.jsonl").read_text(encoding="utf-8")
    assert '"example.net"' in journal  # ...after the other one was applied
    stacks(workdir, b_prod=CHANGES)
    assert runner.run_job(workflow, "apply", ("Install reconciler",)) == {"Apply": 0}


@pytest.mark.slow
def test_github_drift_job_keeps_one_issue_and_fails_on_drift(workdir: Path) -> None:
    runner = Runner(workdir, {**GITHUB_CONTEXT, "github.workspace": str(workdir)})
    workflow = CI / "github" / "reconciler-drift.yml"
    skip = ("Install reconciler",)
    stacks(workdir, prod=IN_SYNC)
    codes = runner.run_job(workflow, "drift", skip)
    assert codes["Fail on drift"] == 0 and "Open or update the drift issue" not in codes
    stacks(workdir, prod=CHANGES)
    assert runner.run_job(workflow, "drift", skip)["Fail on drift"] == 1
    assert runner.run_job(workflow, "drift", skip)["Fail on drift"] == 1
    (issue,) = runner.github_state()["issues"]
    assert issue["state"] == "open" and "exited 2" in issue["body"]
    stacks(workdir, prod=IN_SYNC)
    codes = runner.run_job(workflow, "drift", skip)
    assert codes["Close the drift issue once in sync"] == 0
    assert runner.github_state()["issues"][0]["state"] == "closed"


# --- GitLab ---------------------------------------------------------------------------------


class FakeGitLab(ThreadingHTTPServer):
    """The notes API of one merge request."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        super().__init__(("127.0.0.1", 0), _NotesHandler)


class _NotesHandler(BaseHTTPRequestHandler):
    server: FakeGitLab

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        return found

    def do_GET(self) -> None:  # noqa: N802
        self.server.tokens.append(self.headers.get("PRIVATE-TOKEN", ""))
        self._answer(self.server.notes)

    def do_POST(self) -> None:  # noqa: N802
        note = {"id": 500 + len(self.server.notes), "body": self._body()["body"]}
        self.server.notes.append(note)
        self._answer(note)

    def do_PUT(self) -> None:  # noqa: N802
        note_id = int(self.path.rsplit("/", 1)[1])
        for note in self.server.notes:
            if note["id"] == note_id:
                note["body"] = self._body()["body"]
        self._answer({"id": note_id})


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    server = FakeGitLab()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def run_gitlab_job(workdir: Path, job: str, api: str) -> subprocess.CompletedProcess[str]:
    """A GitLab job's script in one bash, errexit on, as the runner does (without the
    `before_script`, which installs reconciler)."""
    pipeline = load(GITLAB)
    variables = {k: str(v) for k, v in pipeline["variables"].items()}
    variables.update({k: str(v) for k, v in pipeline[job].get("variables", {}).items()})
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": str(workdir / ".home"),
        "CI_PROJECT_DIR": str(workdir),
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "5",
        "CI_COMMIT_SHORT_SHA": "0123abcd",
        "CI_PIPELINE_URL": "https://gitlab.example.com/acme/infra/-/pipelines/9",
        "RECONCILER_NOTE_TOKEN": "note-token-value",
        **SECRETS,
    }
    for key, value in variables.items():  # GitLab expands variables in variables
        env[key] = re.sub(r"\$(\w+)", lambda m: env.get(m[1], ""), value)
    script = "\n".join(pipeline[job]["script"])
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_gitlab_plan_job_notes_once_updates_in_place_and_fails_on_refusal(
    workdir: Path, gitlab: FakeGitLab
) -> None:
    api = f"http://127.0.0.1:{gitlab.server_address[1]}/api/v4"
    stacks(workdir, prod=CHANGES)
    first = run_gitlab_job(workdir, "reconciler:plan", api)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Changes planned" in first.stdout
    (note,) = gitlab.notes
    assert note["body"].startswith(MARKER + "\n**Changes** · Plan: 1 to terminate at expiry")
    assert "Planned at 0123abcd" in note["body"]
    assert set(gitlab.tokens) == {"note-token-value"}

    stacks(workdir, prod=REFUSED)
    second = run_gitlab_job(workdir, "reconciler:plan", api)
    assert second.returncode == 1
    assert "a spec asks for a change the lifecycle rules refuse" in second.stdout
    (note,) = gitlab.notes
    assert note["id"] == 500 and note["body"].startswith(MARKER + "\n**Refused**")
    for secret in (*SECRETS.values(), "note-token-value"):
        assert secret not in second.stdout + second.stderr + note["body"]


@pytest.mark.slow
def test_gitlab_apply_and_drift_jobs(workdir: Path) -> None:
    stacks(workdir, prod=CHANGES)
    drift = run_gitlab_job(workdir, "reconciler:drift", "http://unused.invalid")
    assert drift.returncode == 2  # the job fails on drift
    applied = run_gitlab_job(workdir, "reconciler:apply", "http://unused.invalid")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (workdir / ".reconciler" / "journal.jsonl").exists()
    assert run_gitlab_job(workdir, "reconciler:drift", "http://unused.invalid").returncode == 0
