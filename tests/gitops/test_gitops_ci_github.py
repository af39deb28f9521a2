"""The GitHub recipes' jobs, run: their bash steps as the runner runs them, the real
``reconciler`` against a served sandbox holding one key per role, and a fake GitHub
(pull requests, workflow runs, artifacts, comments) behind a stand-in ``gh``.

The trust chain end to end: the plan of a pull request is commented and saved as its
run's artifact, with the read-only key; on merge, exactly that plan is applied with the
apply key, through the protected environment when it holds a termination or a deletion;
a plan the account no longer agrees with, a missing artifact, a push without a reviewed
pull request, a failed plan, a spec changed on main since the review — each applies
nothing, and says how to review again; the fresh review then applies. The pull request
and main are two checkouts, as on GitHub. The sandbox's request log tells what was
sent, and with which key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ci_helpers import (
    CI,
    IN_SYNC,
    KEEP,
    MARKER,
    REFUSED,
    TERMINATE,
    GitHub,
    WorkflowRun,
    checkouts,
    role_account,
    terminating,
)

from reconciler.core.access import Role
from reconciler.sandbox.testing import SandboxServer

__all__ = ["terminating"]  # the fixture, imported for pytest

PLAN = CI / "github" / "reconciler-plan.yml"
APPLY = CI / "github" / "reconciler-apply.yml"
DRIFT = CI / "github" / "reconciler-drift.yml"
NET, BRAND = 120000102, 120000103

PULUMI_STACK_CONFIG = "config:\n  reconciler:spec: stacks/prod.yaml\n"
PR, BRANCH = 7, "retire-example-net"


@dataclass
class Repo:
    """The sandbox, the fake GitHub, and two checkouts: the pull request's and main."""

    server: SandboxServer
    github: GitHub
    pr: Path
    main: Path
    key_ids: dict[Role, int]

    def stacks(self, checkout: Path, **specs: str) -> None:
        """The specs of stacks/ in a checkout, beside a Pulumi stack config (the
        recipes must skip it)."""
        folder = checkout / "stacks"
        for old in folder.glob("*.yaml"):
            old.unlink()
        (folder / "Pulumi.prod.yaml").write_text(PULUMI_STACK_CONFIG, encoding="utf-8")
        for name, text in specs.items():
            (folder / f"{name}.yaml").write_text(text.format(url=self.server.url), "utf-8")

    def both(self, **specs: str) -> None:
        self.stacks(self.pr, **specs)
        self.stacks(self.main, **specs)

    def plan(self, run_id: int = 4242, head_sha: str = "0123456789abcdef") -> WorkflowRun:
        return self.github.run(
            PLAN,
            self.pr,
            run_id=run_id,
            event="pull_request",
            context={
                "github.event.pull_request.number": str(PR),
                "github.event.pull_request.head.sha": head_sha,
                "github.head_ref": BRANCH,
                "github.sha": head_sha,
            },
        )

    def merge_and_apply(self, merge_sha: str = "feedface" * 5) -> WorkflowRun:
        self.github.merge(PR, merge_sha)
        return self.apply(event="push", sha=merge_sha)

    def apply(
        self, *, event: str, sha: str = "feedface" * 5, inputs: dict[str, str] | None = None
    ) -> WorkflowRun:
        return self.github.run(
            APPLY,
            self.main,
            run_id=5000 + len(self.github.state()["runs"]),
            event=event,
            context={"github.sha": sha, "github.ref_name": "main"},
            inputs=inputs,
        )

    def mark(self) -> int:
        requests = self.server.admin.requests()
        return int(requests[-1]["seq"]) if requests else 0

    def sent(self, since: int) -> list[dict[str, Any]]:
        return self.server.admin.requests(since=since)

    def changes(self, since: int) -> list[tuple[str, int | None, Role]]:
        """The mutating requests since ``since``: method, service, and the key's role."""
        roles = {ident: role for role, ident in self.key_ids.items()}
        return [
            (e["method"], e["service_id"], roles[e["credential_id"]])
            for e in self.sent(since)
            if e["method"] != "GET"
        ]


@pytest.fixture
def repo(
    sandbox_server: SandboxServer, make_ovh_client: Callable[..., Any], tmp_path: Path
) -> Repo:
    key_ids = role_account(sandbox_server, make_ovh_client)
    pr, main = checkouts(tmp_path, "pr", "main")
    return Repo(sandbox_server, GitHub(tmp_path / "github"), pr, main, key_ids)


# --- plan on a pull request ---------------------------------------------------------------


@pytest.mark.slow
def test_a_pull_request_is_planned_commented_once_and_its_plan_saved(repo: Repo) -> None:
    repo.github.open_pull(PR, BRANCH, "0123456789abcdef")
    repo.stacks(repo.pr, prod=TERMINATE, shop=KEEP, other=IN_SYNC)
    mark = repo.mark()
    run = repo.plan()
    assert run.succeeded and run.jobs["plan"].codes == {
        "Plan": 0,
        "Comment the plan on the pull request": 0,
        "Keep the saved plans": 0,
        "Fail on a refused change or an error": 0,
    }
    sent = repo.sent(mark)
    assert sent and {e["method"] for e in sent} == {"GET"}  # the read-only key reads only
    assert {e["credential_id"] for e in sent if e["credential_id"]} == {repo.key_ids[Role.PLAN]}

    (comment,) = repo.github.state()["comments"]
    body = comment["body"]
    assert body.startswith(MARKER + "\n**Changes** · 3 specs planned")
    assert "**Merge and apply before 2026-04-10 09:00 UTC**" in body  # old-brand.fr
    assert "On merge, exactly this plan is applied (artifact `reconciler-plan` of this run)" in body
    assert (
        "Planned at 0123456 · [workflow run](https://github.com/acme/infra/actions/runs/4242)"
        in body
    )
    saved = Path(repo.github.state()["artifacts"]["4242"]["reconciler-plan"])
    assert sorted(p.name for p in saved.iterdir()) == [
        "plan.md",
        "plan.other.json",
        "plan.prod.json",
        "plan.shop.json",
    ]
    assert json.loads((saved / "plan.prod.json").read_text())["spec_source"] == "stacks/prod.yaml"
    assert "**Changes**" in run.summary  # the job summary too

    repo.stacks(repo.pr, prod=REFUSED)  # a push that asks for a refused change
    run = repo.plan()
    assert not run.succeeded
    assert run.jobs["plan"].codes["Fail on a refused change or an error"] == 1
    (comment,) = repo.github.state()["comments"]  # the same comment, edited
    assert comment["id"] == 1000 and comment["body"].startswith(MARKER + "\n**Refused**")
    assert "unmanageable-service" in comment["body"]
    assert "exactly this plan is applied" not in comment["body"]
    assert repo.github.state()["runs"][-1]["conclusion"] == "failure"

    repo.stacks(repo.pr, prod="version: 1\nservices:\n  a.example.com: {{lifecycle: renw}}\n")
    run = repo.plan()
    (comment,) = repo.github.state()["comments"]
    assert "**reconciler plan failed** (exit 1)" in comment["body"]
    assert "error: stacks/prod.yaml:3:30: unknown lifecycle 'renw'" in comment["body"]


# --- apply on merge: the reviewed plan, or nothing ------------------------------------------


@pytest.mark.slow
def test_merge_applies_the_reviewed_plan_through_the_protected_environment(
    repo: Repo, terminating: Callable[[int], bool]
) -> None:
    repo.github.open_pull(PR, BRANCH, "0123456789abcdef")
    repo.both(prod=TERMINATE, other=IN_SYNC)
    assert repo.plan().succeeded
    mark = repo.mark()
    run = repo.merge_and_apply()
    reviewed, apply = run.jobs["reviewed"], run.jobs["apply"]
    assert reviewed.outputs["pull-request"] == str(PR) and reviewed.outputs["run-id"] == "4242"
    assert reviewed.outputs["irreversible"] == "true"
    assert apply.environment == "ovh-production-irreversible"  # required reviewers
    assert run.succeeded, apply.log
    assert "Applying the plan reviewed on pull request #7 (run 4242)." in reviewed.log
    assert "- stacks/prod.yaml: example.net: terminate_at_expiry" in run.summary
    assert repo.changes(mark) == [("PUT", NET, Role.APPLY)]  # the apply key, once
    assert terminating(NET)
    assert (repo.main / ".reconciler" / "journal.jsonl").exists()


@pytest.mark.slow
def test_a_reversible_plan_applies_in_the_routine_environment(
    repo: Repo, terminating: Callable[[int], bool]
) -> None:
    repo.github.open_pull(PR, BRANCH, "0123456789abcdef")
    repo.both(shop=KEEP)
    assert repo.plan().succeeded
    mark = repo.mark()
    run = repo.merge_and_apply()
    assert run.jobs["reviewed"].outputs["irreversible"] == "false"
    assert run.jobs["apply"].environment == "ovh-production"
    assert run.succeeded, run.jobs["apply"].log
    assert repo.changes(mark) == [("PUT", BRAND, Role.APPLY)]
    assert not terminating(BRAND)


@pytest.mark.slow
def test_a_plan_the_account_no_longer_agrees_with_is_refused_then_reviewed_again(
    repo: Repo, make_ovh_client: Callable[..., Any], terminating: Callable[[int], bool]
) -> None:
    """Between review and merge, someone renews example.net by hand in the control
    panel: its reviewed termination no longer holds. The other account's plan still
    holds and is applied; the job fails and says how to review again. Re-running the
    plan (a fresh review), then applying by hand with the pull request's number,
    applies the fresh plan."""
    repo.github.open_pull(PR, BRANCH, "0123456789abcdef")
    repo.both(prod=TERMINATE, shop=KEEP)
    assert repo.plan().succeeded
    make_ovh_client().put(f"/services/{NET}", renew={"period": "P24M"})  # by hand
    mark = repo.mark()
    run = repo.merge_and_apply()
    apply = run.jobs["apply"]
    assert apply.codes["Apply the reviewed plan"] == 1
    assert "error: the account changed since this plan was made" in apply.log
    assert (
        "::error::the plan reviewed on pull request #7 was not applied in full (see above): "
        "re-run its plan workflow run, review the new comment, then run this workflow by "
        "hand with pull-request 7"
    ) in apply.log
    assert repo.changes(mark) == [("PUT", BRAND, Role.APPLY)]  # shop's plan held
    assert not terminating(NET)

    assert repo.plan().succeeded  # re-run: the comment and the artifact are replaced
    (comment,) = repo.github.state()["comments"]
    assert "`stacks/prod.yaml`: changes, `stacks/shop.yaml`: no changes" in comment["body"]
    mark = repo.mark()
    again = repo.apply(event="workflow_dispatch", inputs={"pull-request": str(PR)})
    assert again.succeeded, again.jobs["apply"].log
    assert repo.changes(mark) == [("PUT", NET, Role.APPLY)]
    assert terminating(NET)


@pytest.mark.slow
def test_a_missing_artifact_applies_nothing_and_sends_nothing(repo: Repo) -> None:
    repo.github.open_pull(PR, BRANCH, "0123456789abcdef")
    repo.both(prod=TERMINATE)
    assert repo.plan().succeeded
    repo.github.drop_artifacts(4242)  # expired
    mark = repo.mark()
    run = repo.merge_and_apply()
    reviewed = run.jobs["reviewed"]
    assert reviewed.codes["Download the reviewed plan"] == 1
    assert "apply" not in run.jobs
    assert (
        "::error::the plan of pull request #7 (run 4242) is gone (its artifact expired?): "
        "nothing is applied"
    ) in reviewed.log
    assert repo.sent(mark) == []


@pytest.mark.slow
def test_nothing_reviewed_means_nothing_applied(repo: Repo) -> None:
    repo.both(prod=TERMINATE)
    mark = repo.mark()
    cases: list[tuple[Callable[[], WorkflowRun], str]] = [
        (
            lambda: repo.apply(event="push", sha="badc0ffee" * 4),
            "::error::badc0ff reached main without a merged pull request",
        ),
        (
            lambda: repo.apply(event="workflow_dispatch", inputs={"pull-request": "7; rm -rf /"}),
            "::error::pull-request must be a pull request's number, not '7; rm -rf /'",
        ),
        (
            lambda: repo.apply(event="workflow_dispatch", inputs={"pull-request": "8"}),
            "gh: Not Found (HTTP 404)",
        ),
    ]
    for attempt, words in cases:
        run = attempt()
        assert not run.succeeded and "apply" not in run.jobs
        assert words in run.jobs["reviewed"].log, run.jobs["reviewed"].log

    repo.github.open_pull(PR, BRANCH, "0123456789abcdef")
    run = repo.apply(event="workflow_dispatch", inputs={"pull-request": str(PR)})
    assert "::error::pull request #7 is not merged" in run.jobs["reviewed"].log
    run = repo.merge_and_apply()  # merged, but never planned
    assert "::error::pull request #7 has no reconciler-plan.yml run" in run.jobs["reviewed"].log

    repo.stacks(repo.pr, prod=REFUSED)
    assert not repo.plan().succeeded
    run = repo.apply(event="push")
    assert "apply" not in run.jobs
    assert (
        "::error::the last plan of pull request #7 (run 4242) ended in failure (a refused "
        "change or an error): nothing is applied"
    ) in run.jobs["reviewed"].log
    apply_key = repo.key_ids[Role.APPLY]  # only the plans read, with the read-only key
    assert [
        e for e in repo.sent(mark) if e["method"] != "GET" or e["credential_id"] == apply_key
    ] == []


@pytest.mark.slow
def test_stacks_changed_on_main_since_the_review_applies_nothing(repo: Repo) -> None:
    """Another pull request changed stacks/prod.yaml on main after this one's plan was
    reviewed: the reviewed plan is not the spec at hand, refused before any request."""
    repo.github.open_pull(PR, BRANCH, "0123456789abcdef")
    repo.both(prod=TERMINATE)
    assert repo.plan().succeeded
    repo.stacks(repo.main, prod=TERMINATE.replace("unmanaged: ignore", "unmanaged: report"))
    mark = repo.mark()
    run = repo.merge_and_apply()
    apply = run.jobs["apply"]
    assert apply.codes["Apply the reviewed plan"] == 1
    assert (
        "error: stacks/prod.yaml is not the spec reviewed/plan.json was made from (unmanaged: "
        "report in the spec, ignore in the plan)"
    ) in apply.log
    assert repo.sent(mark) == []


@pytest.mark.slow
def test_a_spec_no_reviewed_plan_holds_is_left_alone(repo: Repo) -> None:
    repo.github.open_pull(PR, BRANCH, "0123456789abcdef")
    repo.both(prod=TERMINATE)
    assert repo.plan().succeeded
    repo.stacks(repo.main, prod=TERMINATE, later=KEEP)  # merged after this plan was made
    mark = repo.mark()
    run = repo.merge_and_apply()
    assert run.succeeded, run.jobs["apply"].log
    assert "::warning::stacks/later.yaml is in no plan reviewed on pull request #7" in (
        run.jobs["apply"].log
    )
    assert repo.changes(mark) == [("PUT", NET, Role.APPLY)]


# --- the nightly drift check ---------------------------------------------------------------


@pytest.mark.slow
def test_the_drift_check_keeps_one_issue_and_fails_on_drift(repo: Repo) -> None:
    def drift() -> WorkflowRun:
        return repo.github.run(DRIFT, repo.main, run_id=9000, event="schedule", context={})

    repo.stacks(repo.main, prod=IN_SYNC)
    run = drift()
    assert run.jobs["drift"].codes["Fail on drift"] == 0
    assert "Open or update the drift issue" not in run.jobs["drift"].codes
    repo.stacks(repo.main, prod=TERMINATE)
    assert drift().jobs["drift"].codes["Fail on drift"] == 1
    assert drift().jobs["drift"].codes["Fail on drift"] == 1
    (issue,) = repo.github.state()["issues"]
    assert issue["state"] == "open" and "exited 2" in issue["body"]
    repo.stacks(repo.main, prod=IN_SYNC)
    assert drift().jobs["drift"].codes["Close the drift issue once in sync"] == 0
    assert repo.github.state()["issues"][0]["state"] == "closed"
