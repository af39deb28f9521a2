"""Running the CI recipes of ``examples/ci`` in the tests, as their platforms would.

- ``load`` / ``triggers`` / ``scripts`` / ``gitlab_job``: the recipes as data (GitLab
  jobs with their ``extends`` merged as GitLab merges them).
- ``GitHub``: a fake GitHub (pull requests, workflow runs, artifacts, comments, issues)
  behind a stand-in ``gh`` (``fake_gh.py``), and ``GitHub.run``, which runs a
  workflow's jobs in order as the runner does — each ``run`` step with bash
  (``-eo pipefail``), expressions in ``env``/``if``/``outputs``/``environment``
  evaluated, ``needs`` outputs passed on, ``actions/upload-artifact`` saving into the
  fake's artifacts (the other actions are the runner's business: skipped).
- ``FakeGitLab``: the REST API the GitLab recipe calls (notes, merge requests, their
  pipelines and jobs, job artifacts as zip files), and ``GitLab.run_job``, which runs a
  job's script with bash, its variables expanded, the dotenv report of the jobs it
  needs loaded.
- The accounts are a served sandbox (``sandbox_server``) holding one key per role: the
  plan jobs must read with the read-only key, the apply jobs change with the apply key.
"""

from __future__ import annotations

import copy
import glob
import io
import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from gitops_helpers import DEMO, EXAMPLES, ROLE_KEYS, seed_with_role_keys

from reconciler.core.access import Role
from reconciler.sandbox.testing import SANDBOX_EPOCH

CI = EXAMPLES / "ci"
GITHUB_RECIPES = sorted((CI / "github").glob("*.yml"))
GITLAB_RECIPE = CI / "gitlab" / ".gitlab-ci.yml"
RECIPES = [*GITHUB_RECIPES, GITLAB_RECIPE]
BIN = Path(sys.executable).parent  # the virtualenv's bin: `reconciler` is there
FAKE_GH = Path(__file__).resolve().parent / "fake_gh.py"
MARKER = "<!-- reconciler-plan -->"

SECRETS = {
    "OVH_APPLICATION_KEY": DEMO.application_key,
    "OVH_APPLICATION_SECRET": DEMO.application_secret,
    "OVH_PLAN_CONSUMER_KEY": ROLE_KEYS[Role.PLAN],
    "OVH_APPLY_CONSUMER_KEY": ROLE_KEYS[Role.APPLY],
}


def _job_spec(entry: str) -> str:
    """A spec of the job tests holding one service (a flow mapping), for the account at
    ``{url}`` (the served sandbox, filled in by the test)."""
    braced = entry.replace("{", "{{").replace("}", "}}")
    return f"version: 1\nendpoint: {{url}}\nunmanaged: ignore\nservices:\n  {braced}\n"


# example.net terminated at expiry: irreversible once it expires.
TERMINATE = _job_spec("example.net: {type: domain, lifecycle: terminate_at_expiry}")
# old-brand.fr kept: its pending termination cancelled (reversible), before a deadline.
KEEP = _job_spec("old-brand.fr: {type: domain, lifecycle: renew}")
IN_SYNC = _job_spec("example.org: {type: domain, lifecycle: renew}")
REFUSED = _job_spec("xdsl-ab12345-1: {lifecycle: terminate_at_expiry}")

# --- the account and checkouts of a job test -----------------------------------------


def role_account(server: Any, make_ovh_client: Callable[..., Any]) -> dict[Role, int]:
    """Reset the served sandbox to the demo account with one key per role; the
    credential id of each role's key (how the request log tells who sent what)."""
    server.reset(seed_with_role_keys(), now=SANDBOX_EPOCH)
    return {
        role: make_ovh_client(consumer_key=key).get("/auth/currentCredential")["credentialId"]
        for role, key in ROLE_KEYS.items()
    }


def checkouts(root: Path, *names: str) -> list[Path]:
    """One checkout per name under ``root``: a ``stacks/`` folder and a home of its own."""
    made = []
    for name in names:
        (root / name / "stacks").mkdir(parents=True)
        (root / name / ".home").mkdir()
        made.append(root / name)
    return made


@pytest.fixture
def terminating(make_ovh_client: Callable[..., Any]) -> Callable[[int], bool]:
    """Whether a service is set to terminate at expiry, as the API shows it."""
    official = make_ovh_client()

    def check(service_id: int) -> bool:
        now = official.get(f"/services/{service_id}")["billing"]["lifecycle"]["current"]
        return "terminateAtExpirationDate" in (now["pendingActions"] or [])

    return check


# --- the recipes as data ---------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    """A workflow's `on:` (YAML 1.1 reads the bare key as the boolean true)."""
    found = workflow.get("on", workflow.get(True))
    assert isinstance(found, dict)
    return found


def gitlab_job(pipeline: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A job with what it ``extends`` merged in (hashes deeply, everything else
    replaced), as GitLab merges them."""
    job = pipeline[name]
    merged: dict[str, Any] = {}
    parents = job.get("extends", [])
    for parent in [parents] if isinstance(parents, str) else parents:
        merged = _deep_merge(merged, gitlab_job(pipeline, parent))
    merged = _deep_merge(merged, {k: v for k, v in job.items() if k != "extends"})
    return merged


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def gitlab_jobs(pipeline: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The pipeline's real jobs (hidden ``.templates`` and keywords left out)."""
    keywords = {"variables", "stages", "default", "include", "workflow"}
    return {
        name: gitlab_job(pipeline, name)
        for name, value in pipeline.items()
        if isinstance(value, dict) and name not in keywords and not name.startswith(".")
    }


def scripts(path: Path) -> Iterator[str]:
    """Every shell script of a recipe: GitHub steps' `run`, GitLab jobs' scripts."""
    data = load(path)
    if path.name.endswith(".gitlab-ci.yml"):
        for job in gitlab_jobs(data).values():
            for key in ("before_script", "script", "after_script"):
                yield from job.get(key, [])
    else:
        for job in data["jobs"].values():
            for step in job["steps"]:
                if "run" in step:
                    yield step["run"]


# --- GitHub Actions expressions (the subset the recipes use) -----------------------------

_TOKEN = re.compile(
    r"\s*(\(|\)|==|!=|&&|\|\||!|'(?:[^']|'')*'|[A-Za-z_][\w.-]*\(\)|[A-Za-z_][\w.-]*)"
)


def evaluate(expression: str, lookup: Mapping[str, str]) -> Any:
    """``a == 'x' && 'y' || 'z'``, ``always()``, ``!``, parentheses: JavaScript-like
    ``&&``/``||`` (they return an operand), comparisons of strings. A name not in
    ``lookup`` is a test bug (``KeyError``)."""
    tokens = _TOKEN.findall(expression)
    assert "".join(tokens).replace(" ", "") == expression.replace(" ", ""), expression
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def primary() -> Any:
        token = take()
        if token == "(":
            value = either()
            assert take() == ")"
            return value
        if token == "!":
            return not primary()
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        if token in ("always()", "success()"):
            return True
        if token in ("true", "false"):
            return token == "true"
        return lookup[token]

    def comparison() -> Any:
        left = primary()
        while peek() in ("==", "!="):
            operator = take()
            right = primary()
            left = (str(left) == str(right)) == (operator == "==")
        return left

    def both() -> Any:
        left = comparison()
        while peek() == "&&":
            take()
            right = comparison()
            left = right if left else left
        return left

    def either() -> Any:
        left = both()
        while peek() == "||":
            take()
            right = both()
            left = left if left else right
        return left

    value = either()
    assert position == len(tokens), expression
    return value


_EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


class Context(dict[str, str]):
    """The values expressions read. A step output, a job output or an input never set
    reads as the empty string, as on GitHub; any other unknown name is a test bug."""

    def __missing__(self, key: str) -> str:
        if key.startswith(("steps.", "needs.", "inputs.")):
            return ""
        raise KeyError(key)


def substitute(text: str, lookup: Mapping[str, str]) -> str:
    return _EXPRESSION.sub(lambda m: str(evaluate(m[1], lookup)), text)


# --- a fake GitHub -------------------------------------------------------------------------


@dataclass
class JobRun:
    name: str
    codes: dict[str, int] = field(default_factory=dict)  # by step name
    outputs: dict[str, str] = field(default_factory=dict)
    environment: str | None = None
    log: str = ""  # every step's stdout and stderr

    @property
    def succeeded(self) -> bool:
        return all(code == 0 for code in self.codes.values())


@dataclass
class WorkflowRun:
    run_id: int
    jobs: dict[str, JobRun]
    summary: str

    @property
    def succeeded(self) -> bool:
        return all(job.succeeded for job in self.jobs.values())


class GitHub:
    """The fake GitHub of one repository (``acme/infra``): its state, a ``gh`` that
    answers from it, and workflow runs."""

    REPOSITORY = "acme/infra"

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.state_path = root / "github-state.json"
        self.write(
            {"comments": [], "issues": [], "pulls": {}, "runs": [], "artifacts": {}, "calls": []}
        )
        fake_bin = root / "bin"
        fake_bin.mkdir(exist_ok=True)
        gh = fake_bin / "gh"
        gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_GH}" "$@"\n', encoding="utf-8")
        gh.chmod(0o755)
        self.path = f"{fake_bin}{os.pathsep}{BIN}{os.pathsep}/usr/bin:/bin"

    def state(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.state_path.read_text(encoding="utf-8"))
        return found

    def write(self, state: Mapping[str, Any]) -> None:
        self.state_path.write_text(json.dumps(state), encoding="utf-8")

    def open_pull(self, number: int, branch: str, head_sha: str) -> None:
        state = self.state()
        state["pulls"][str(number)] = {
            "number": number,
            "merged_at": None,
            "merge_commit_sha": None,
            "head": {"ref": branch, "sha": head_sha},
        }
        self.write(state)

    def merge(self, number: int, merge_sha: str) -> None:
        state = self.state()
        state["pulls"][str(number)].update(
            merged_at="2026-03-02T10:00:00Z", merge_commit_sha=merge_sha
        )
        self.write(state)

    def drop_artifacts(self, run_id: int) -> None:
        """The artifacts of a run expire."""
        state = self.state()
        state["artifacts"].pop(str(run_id), None)
        self.write(state)

    def run(
        self,
        workflow: Path,
        workdir: Path,
        *,
        run_id: int,
        event: str,
        context: Mapping[str, str],
        inputs: Mapping[str, str] | None = None,
        skip: tuple[str, ...] = ("Install reconciler",),
    ) -> WorkflowRun:
        """Run every job of ``workflow`` (in ``needs`` order) in ``workdir``, as run
        ``run_id`` of ``event``; the run is recorded in the fake (a re-run with the same
        id replaces it), for later runs to find."""
        data = load(workflow)
        base = Context(
            {
                "github.workspace": str(workdir),
                "github.run_id": str(run_id),
                "github.run_attempt": "1",
                "github.token": "fake-github-token",
                **context,
                **{
                    f"inputs.{key}": ""
                    for key in triggers(data).get("workflow_dispatch", {}).get("inputs", {}) or {}
                },
                **{f"inputs.{key}": value for key, value in (inputs or {}).items()},
                **{f"secrets.{key}": value for key, value in SECRETS.items()},
            }
        )
        summary = workdir / ".step-summary.md"
        summary.write_text("", encoding="utf-8")
        jobs: dict[str, JobRun] = {}
        for name, job in data["jobs"].items():
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            if any(not jobs[need].succeeded for need in needs):
                continue
            lookup = Context(base)
            for need in needs:
                lookup.update(
                    {f"needs.{need}.outputs.{k}": v for k, v in jobs[need].outputs.items()}
                )
            jobs[name] = self._run_job(data, name, job, workdir, lookup, run_id, skip)
        record = {
            "id": run_id,
            "path": f".github/workflows/{workflow.name}",
            "event": event,
            "head_branch": context.get("github.head_ref", context.get("github.ref_name", "main")),
            "head_sha": context.get("github.sha", ""),
            "status": "completed",
            "conclusion": "success" if all(j.succeeded for j in jobs.values()) else "failure",
        }
        state = self.state()
        state["runs"] = [r for r in state["runs"] if r["id"] != run_id] + [record]
        self.write(state)
        return WorkflowRun(run_id, jobs, summary.read_text(encoding="utf-8"))

    def _run_job(
        self,
        data: Mapping[str, Any],
        name: str,
        job: Mapping[str, Any],
        workdir: Path,
        lookup: Context,
        run_id: int,
        skip: tuple[str, ...],
    ) -> JobRun:
        result = JobRun(name)
        environment = job.get("environment")
        if environment is not None:
            result.environment = substitute(str(environment), lookup)
        top_env = {k: substitute(str(v), lookup) for k, v in data.get("env", {}).items()}
        failed = False
        for index, step in enumerate(job["steps"]):
            step_name = step.get("name") or step.get("uses") or f"step {index}"
            if step_name in skip:
                continue
            condition = str(step.get("if", "")).strip()
            if failed and "always()" not in condition:
                continue
            if condition and not evaluate(condition.removeprefix("${{").removesuffix("}}"), lookup):
                continue
            if "uses" in step:
                code = self._uses(step, workdir, run_id, lookup)
                if code is not None:
                    result.codes[step_name] = code
                    failed = failed or code != 0
                continue
            output = workdir / ".github-output"
            output.write_text("", encoding="utf-8")
            env = {
                "PATH": self.path,
                "HOME": str(workdir / ".home"),
                "GITHUB_REPOSITORY": self.REPOSITORY,
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_RUN_ID": str(run_id),
                "GITHUB_REF_NAME": "main",
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(workdir / ".step-summary.md"),
                "FAKE_GITHUB_STATE": str(self.state_path),
                **top_env,
            }
            for key, raw in step.get("env", {}).items():
                env[key] = substitute(str(raw), lookup)
            completed = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            result.codes[step_name] = completed.returncode
            result.log += completed.stdout + completed.stderr
            for secret in SECRETS.values():
                assert secret not in completed.stdout + completed.stderr, step_name
            if "id" in step:
                lines = output.read_text(encoding="utf-8").splitlines()
                for key, value in (line.split("=", 1) for line in lines if "=" in line):
                    lookup[f"steps.{step['id']}.outputs.{key}"] = value
            failed = failed or completed.returncode != 0
        for key, raw in job.get("outputs", {}).items():
            result.outputs[key] = substitute(str(raw), lookup)
        return result

    def _uses(
        self, step: Mapping[str, Any], workdir: Path, run_id: int, lookup: Mapping[str, str]
    ) -> int | None:
        """``actions/upload-artifact`` saves into the fake's artifacts; other actions are
        the runner's own (checkout, Python, caches): nothing to do here (``None``)."""
        action = str(step["uses"]).split("@", 1)[0]
        if action != "actions/upload-artifact":
            return None
        given = {k: substitute(str(v), lookup) for k, v in step.get("with", {}).items()}
        files = sorted(
            {
                Path(found)
                for pattern in given["path"].split()
                for found in glob.glob(str(workdir / pattern))
                if Path(found).is_file()
            }
        )
        if not files:
            return 0 if str(given.get("if-no-files-found")) == "ignore" else 1
        state = self.state()
        saved = state["artifacts"].setdefault(str(run_id), {})
        if given["name"] in saved and str(given.get("overwrite")).lower() != "true":
            return 1  # an artifact's name is taken for the run
        target = self.root / "artifacts" / str(run_id) / given["name"]
        if target.exists():
            for old in target.iterdir():
                old.unlink()
        target.mkdir(parents=True, exist_ok=True)
        for path in files:
            (target / path.name).write_bytes(path.read_bytes())
        saved[given["name"]] = str(target)
        self.write(state)
        return 0


# --- a fake GitLab -----------------------------------------------------------------------


class FakeGitLab(ThreadingHTTPServer):
    """The REST API of one project (id 42) as the GitLab recipe calls it, from
    ``/api/v4``: merge request notes; a commit's merge requests; a merge request; its
    pipelines (newest first); a pipeline's jobs; a job's artifacts (a zip)."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        self.merge_requests: dict[int, dict[str, Any]] = {}
        self.commit_merge_requests: dict[str, list[int]] = {}
        self.pipelines: dict[int, list[dict[str, Any]]] = {}  # by merge request, newest last
        self.jobs: dict[int, list[dict[str, Any]]] = {}  # by pipeline
        self.artifacts: dict[int, bytes] = {}  # by job
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _GitLabHandler)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v4"

    def answer(self, path: str) -> Any:
        prefix = "/api/v4/projects/42"
        assert path.startswith(prefix), path
        route = urlsplit(path).path.removeprefix(prefix)
        if match := re.fullmatch(r"/repository/commits/(\w+)/merge_requests", route):
            return [self.merge_requests[i] for i in self.commit_merge_requests.get(match[1], [])]
        if match := re.fullmatch(r"/merge_requests/(\d+)", route):
            return self.merge_requests.get(int(match[1]))
        if match := re.fullmatch(r"/merge_requests/(\d+)/pipelines", route):
            return list(reversed(self.pipelines.get(int(match[1]), [])))
        if match := re.fullmatch(r"/pipelines/(\d+)/jobs", route):
            return self.jobs.get(int(match[1]), [])
        if match := re.fullmatch(r"/jobs/(\d+)/artifacts", route):
            return self.artifacts.get(int(match[1]))
        if re.fullmatch(r"/merge_requests/\d+/notes", route):
            return self.notes
        raise AssertionError(f"fake GitLab: no route {path}")

    def add_pipeline(self, merge_request: int, pipeline: int, jobs: list[dict[str, Any]]) -> None:
        self.pipelines.setdefault(merge_request, []).append({"id": pipeline})
        self.jobs[pipeline] = jobs

    def keep_artifacts(self, job_id: int, workdir: Path, patterns: list[str]) -> None:
        """A job's ``artifacts:paths``, zipped as GitLab serves them."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for pattern in patterns:
                for found in sorted(glob.glob(str(workdir / pattern))):
                    archive.write(found, Path(found).relative_to(workdir).as_posix())
        self.artifacts[job_id] = buffer.getvalue()


class _GitLabHandler(BaseHTTPRequestHandler):
    server: FakeGitLab

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        return found

    def do_GET(self) -> None:  # noqa: N802
        self.server.tokens.append(self.headers.get("PRIVATE-TOKEN", ""))
        self.server.requests.append(self.path)
        found = self.server.answer(self.path)
        if found is None:
            self._send(404, b'{"message":"404 Not found"}')
        elif isinstance(found, bytes):
            self._send(200, found, "application/zip")
        else:
            self._send(200, json.dumps(found).encode())

    def do_POST(self) -> None:  # noqa: N802
        self.server.tokens.append(self.headers.get("PRIVATE-TOKEN", ""))
        note = {"id": 500 + len(self.server.notes), "body": self._body()["body"]}
        self.server.notes.append(note)
        self._send(201, json.dumps(note).encode())

    def do_PUT(self) -> None:  # noqa: N802
        self.server.tokens.append(self.headers.get("PRIVATE-TOKEN", ""))
        note_id = int(self.path.rsplit("/", 1)[1])
        for note in self.server.notes:
            if note["id"] == note_id:
                note["body"] = self._body()["body"]
        self._send(200, json.dumps({"id": note_id}).encode())


@dataclass
class GitLab:
    """Runs the GitLab recipe's jobs against ``api`` (a ``FakeGitLab``)."""

    server: FakeGitLab
    token: str = "api-token-value"
    dotenv: dict[str, str] = field(default_factory=dict)  # of the jobs run so far

    def run_job(
        self, workdir: Path, name: str, **variables: str
    ) -> subprocess.CompletedProcess[str]:
        """A job's script in one bash, errexit on, as the runner does (without its
        `before_script`, which installs reconciler); the dotenv reports of earlier jobs
        are loaded, and the job's own is kept for later ones."""
        pipeline = load(GITLAB_RECIPE)
        job = gitlab_jobs(pipeline)[name]
        env = {
            "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin",
            "HOME": str(workdir / ".home"),
            "CI_PROJECT_DIR": str(workdir),
            "CI_API_V4_URL": self.server.api,
            "CI_PROJECT_ID": "42",
            "CI_MERGE_REQUEST_IID": "5",
            "CI_COMMIT_SHORT_SHA": "0123abcd",
            "CI_COMMIT_SHA": "0123abcd" * 5,
            "CI_DEFAULT_BRANCH": "main",
            "CI_PIPELINE_URL": "https://gitlab.example.com/acme/infra/-/pipelines/9",
            "RECONCILER_API_TOKEN": self.token,
            **SECRETS,
        }
        declared = {k: str(v) for k, v in pipeline["variables"].items()}
        declared.update({k: str(v) for k, v in job.get("variables", {}).items()})
        for key, value in declared.items():  # GitLab expands variables in variables
            env[key] = re.sub(r"\$(\w+)", lambda m: env.get(m[1], ""), value)
        env.update(self.dotenv)  # dotenv variables win over the job's own
        env.update(variables)  # then pipeline variables (Run pipeline)
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(job["script"])],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for secret in (*SECRETS.values(), self.token):
            assert secret not in completed.stdout + completed.stderr, name
        report = job.get("artifacts", {}).get("reports", {}).get("dotenv")
        if report and (workdir / report).exists():
            lines = (workdir / report).read_text(encoding="utf-8").splitlines()
            self.dotenv.update(line.split("=", 1) for line in lines if "=" in line)
        return completed


def serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread
