"""The GitLab recipe's jobs, run: each job's script with bash as the runner runs it, the
real ``reconciler`` against a served sandbox holding one key per role, and a fake GitLab
API (merge request notes, merge requests, their pipelines and jobs, job artifacts).

The trust chain end to end, as on GitHub: the merge request's plan is noted and kept as
its job's artifact; on the default branch, reconciler:reviewed fetches exactly that
artifact, reconciler:apply applies a reversible plan and leaves an irreversible one to
reconciler:apply-irreversible (a protected environment with required approvals, run by
hand); a plan the account no longer agrees with, a spec changed on the default branch
since the review, an expired artifact, a push without a merged merge request, a failed
plan apply nothing and say how to review again; a spec no reviewed plan holds is left
alone, with a warning.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ci_helpers import (
    GITLAB_RECIPE,
    IN_SYNC,
    KEEP,
    MARKER,
    REFUSED,
    SECRETS,
    TERMINATE,
    FakeGitLab,
    GitLab,
    checkouts,
    gitlab_jobs,
    load,
    role_account,
    serve,
    terminating,
)

from reconciler.core.access import Role
from reconciler.sandbox.testing import SandboxServer

__all__ = ["terminating"]  # the fixture, imported for pytest

NET, BRAND = 120000102, 120000103
IID, MERGE_SHA = 5, "feedface" * 5
PLAN_PATTERNS = gitlab_jobs(load(GITLAB_RECIPE))["reconciler:plan"]["artifacts"]["paths"]


@dataclass
class Project:
    server: SandboxServer
    api: FakeGitLab
    mr: Path
    main: Path
    key_ids: dict[Role, int]
    pipelines: int = 0

    def stacks(self, checkout: Path, **specs: str) -> None:
        for old in (checkout / "stacks").glob("*.yaml"):
            old.unlink()
        for name, text in specs.items():
            (checkout / "stacks" / f"{name}.yaml").write_text(
                text.format(url=self.server.url), encoding="utf-8"
            )

    def both(self, **specs: str) -> None:
        self.stacks(self.mr, **specs)
        self.stacks(self.main, **specs)

    def plan(self, *, retry_of: int | None = None) -> subprocess.CompletedProcess[str]:
        """The merge request's pipeline: its reconciler:plan job, recorded with its
        artifacts (``retry_of``: a retry of that pipeline's job, which replaces it)."""
        runner = GitLab(self.api)
        done = runner.run_job(self.mr, "reconciler:plan")
        job_id = 3000 + len(self.api.artifacts)
        job = {"id": job_id, "name": "reconciler:plan",
               "status": "success" if done.returncode == 0 else "failed"}  # fmt: skip
        if retry_of is None:
            self.pipelines += 1
            self.api.add_pipeline(IID, 900 + self.pipelines, [job])
        else:
            self.api.jobs[retry_of] = [job]
        self.api.keep_artifacts(job_id, self.mr, PLAN_PATTERNS)
        return done

    def merge(self) -> None:
        self.api.merge_requests[IID] = {"iid": IID, "state": "merged"}
        self.api.commit_merge_requests[MERGE_SHA] = [IID]

    def default_branch(self, **variables: str) -> dict[str, subprocess.CompletedProcess[str]]:
        """A default-branch pipeline: reconciler:reviewed, then (if it succeeded) both
        apply jobs — the irreversible one as a person approving and running it would."""
        runner = GitLab(self.api)
        done = {"reviewed": runner.run_job(self.main, "reconciler:reviewed",
                                           CI_COMMIT_SHA=MERGE_SHA, **variables)}  # fmt: skip
        if done["reviewed"].returncode == 0:
            done["apply"] = runner.run_job(self.main, "reconciler:apply")
            done["irreversible"] = runner.run_job(self.main, "reconciler:apply-irreversible")
        return done

    def mark(self) -> int:
        requests = self.server.admin.requests()
        return int(requests[-1]["seq"]) if requests else 0

    def changes(self, since: int) -> list[tuple[str, int | None, Role]]:
        roles = {ident: role for role, ident in self.key_ids.items()}
        return [
            (e["method"], e["service_id"], roles[e["credential_id"]])
            for e in self.server.admin.requests(since=since)
            if e["method"] != "GET"
        ]


@pytest.fixture
def api() -> Iterator[FakeGitLab]:
    server = FakeGitLab()
    serve(server)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def project(
    sandbox_server: SandboxServer,
    make_ovh_client: Callable[..., Any],
    api: FakeGitLab,
    tmp_path: Path,
) -> Project:
    key_ids = role_account(sandbox_server, make_ovh_client)
    mr, main = checkouts(tmp_path, "mr", "main")
    return Project(sandbox_server, api, mr, main, key_ids)


@pytest.mark.slow
def test_a_merge_request_is_planned_noted_once_and_its_plan_kept(project: Project) -> None:
    project.stacks(project.mr, prod=TERMINATE)
    mark = project.mark()
    first = project.plan()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Changes planned" in first.stdout
    (note,) = project.api.notes
    assert note["body"].startswith(MARKER + "\n**Changes** · Plan: 1 to terminate at expiry")
    assert "On merge, exactly this plan is applied (this job's artifact)" in note["body"]
    assert "Planned at 0123abcd" in note["body"]
    assert set(project.api.tokens) == {"api-token-value"}
    sent = project.server.admin.requests(since=mark)
    assert {e["method"] for e in sent} == {"GET"}
    assert {e["credential_id"] for e in sent if e["credential_id"]} == {project.key_ids[Role.PLAN]}

    project.stacks(project.mr, prod=REFUSED)
    second = project.plan()
    assert second.returncode == 1
    assert "a spec asks for a change the lifecycle rules refuse" in second.stdout
    (note,) = project.api.notes
    assert note["id"] == 500 and note["body"].startswith(MARKER + "\n**Refused**")
    for secret in (*SECRETS.values(), "api-token-value"):
        assert secret not in note["body"]


@pytest.mark.slow
def test_an_irreversible_plan_waits_for_the_approved_job(
    project: Project, terminating: Callable[[int], bool]
) -> None:
    project.both(prod=TERMINATE, other=IN_SYNC)
    assert project.plan().returncode == 0
    project.merge()
    mark = project.mark()
    done = project.default_branch()
    assert done["reviewed"].returncode == 0, done["reviewed"].stdout + done["reviewed"].stderr
    assert "- stacks/prod.yaml: example.net: terminate_at_expiry" in done["reviewed"].stdout
    assert (project.main / "reviewed.env").read_text() == (
        "RECONCILER_REVIEWED_MR=5\nRECONCILER_REVIEWED_JOB=3000\nRECONCILER_IRREVERSIBLE=true\n"
    )
    assert done["apply"].returncode == 0
    assert "reconciler:apply-irreversible applies it, once approved" in done["apply"].stdout
    assert done["irreversible"].returncode == 0, done["irreversible"].stdout
    assert project.changes(mark) == [("PUT", NET, Role.APPLY)]  # by the approved job only
    assert terminating(NET)


@pytest.mark.slow
def test_a_reversible_plan_is_applied_at_once(
    project: Project, terminating: Callable[[int], bool]
) -> None:
    project.both(shop=KEEP)
    assert project.plan().returncode == 0
    project.merge()
    mark = project.mark()
    done = project.default_branch()
    assert done["apply"].returncode == 0, done["apply"].stdout + done["apply"].stderr
    assert "The reviewed plan holds nothing irreversible" in done["irreversible"].stdout
    assert project.changes(mark) == [("PUT", BRAND, Role.APPLY)]
    assert not terminating(BRAND)


@pytest.mark.slow
def test_a_plan_the_account_no_longer_agrees_with_is_refused_then_reviewed_again(
    project: Project, make_ovh_client: Callable[..., Any], terminating: Callable[[int], bool]
) -> None:
    project.both(prod=TERMINATE)
    assert project.plan().returncode == 0
    make_ovh_client().put(f"/services/{NET}", renew={"period": "P24M"})  # by hand, meanwhile
    project.merge()
    mark = project.mark()
    done = project.default_branch()
    irreversible = done["irreversible"]
    assert irreversible.returncode == 1
    assert "error: the account changed since this plan was made" in irreversible.stderr
    assert (
        "ERROR: the plan reviewed on !5 was not applied in full (see above): retry its "
        "reconciler:plan job, review the new note, then run a pipeline on main with "
        "RECONCILER_MERGE_REQUEST=5"
    ) in irreversible.stdout
    assert project.changes(mark) == []

    assert project.plan(retry_of=901).returncode == 0  # the fresh review
    done = project.default_branch(RECONCILER_MERGE_REQUEST=str(IID))
    assert done["irreversible"].returncode == 0, done["irreversible"].stderr
    assert "RECONCILER_REVIEWED_JOB=3001" in (project.main / "reviewed.env").read_text()
    assert project.changes(mark) == [("PUT", NET, Role.APPLY)]
    assert terminating(NET)


@pytest.mark.slow
def test_nothing_reviewed_means_nothing_applied(project: Project) -> None:
    project.both(prod=TERMINATE)
    mark = project.mark()
    refused = project.default_branch()  # a push no merge request brought
    assert "apply" not in refused
    assert "reached the default branch without a merged merge request" in (
        refused["reviewed"].stdout
    )
    refused = project.default_branch(RECONCILER_MERGE_REQUEST="5 or 6")
    assert "RECONCILER_MERGE_REQUEST must be a merge request's IID, not '5 or 6'" in (
        refused["reviewed"].stdout
    )
    project.api.merge_requests[IID] = {"iid": IID, "state": "opened"}
    refused = project.default_branch(RECONCILER_MERGE_REQUEST=str(IID))
    assert "merge request !5 is not merged" in refused["reviewed"].stdout

    project.merge()
    refused = project.default_branch()
    assert "merge request !5 has no reconciler:plan job" in refused["reviewed"].stdout
    assert project.plan().returncode == 0
    project.api.artifacts.clear()  # expired
    refused = project.default_branch()
    assert "apply" not in refused
    assert "the plan of !5 (job 3000) is gone (its artifact expired?)" in refused["reviewed"].stdout

    project.stacks(project.mr, prod=REFUSED)
    assert project.plan().returncode == 1  # a newer pipeline whose plan failed
    refused = project.default_branch()
    assert "the last plan of !5 (job 3000) is failed" in refused["reviewed"].stdout
    apply_key = project.key_ids[Role.APPLY]
    sent = project.server.admin.requests(since=mark)
    assert [e for e in sent if e["method"] != "GET" or e["credential_id"] == apply_key] == []


@pytest.mark.slow
def test_stacks_changed_on_main_since_the_review_applies_nothing(project: Project) -> None:
    """Another merge request changed stacks/prod.yaml on the default branch after this
    one's plan was reviewed: the reviewed plan is not the spec at hand, refused before the
    apply key sends a single request (the trust chain's third link, as on GitHub)."""
    project.both(prod=TERMINATE)
    assert project.plan().returncode == 0
    project.stacks(project.main, prod=TERMINATE.replace("unmanaged: ignore", "unmanaged: report"))
    project.merge()
    mark = project.mark()
    done = project.default_branch()
    irreversible = done["irreversible"]
    assert irreversible.returncode == 1
    assert (
        "is not the spec reviewed/plan.json was made from (unmanaged: report in the spec, "
        "ignore in the plan)"
    ) in irreversible.stderr
    assert "ERROR: the plan reviewed on !5 was not applied in full" in irreversible.stdout
    apply_key = project.key_ids[Role.APPLY]
    sent = project.server.admin.requests(since=mark)
    assert [e for e in sent if e["credential_id"] == apply_key] == []


@pytest.mark.slow
def test_a_spec_no_reviewed_plan_holds_is_left_alone(project: Project) -> None:
    project.both(prod=TERMINATE)
    assert project.plan().returncode == 0
    project.stacks(project.main, prod=TERMINATE, later=KEEP)  # merged after this plan
    project.merge()
    mark = project.mark()
    done = project.default_branch()
    irreversible = done["irreversible"]
    assert irreversible.returncode == 0, irreversible.stdout + irreversible.stderr
    assert (
        "WARNING: stacks/later.yaml is in no plan reviewed on the merge request: left alone"
    ) in irreversible.stdout
    assert project.changes(mark) == [("PUT", NET, Role.APPLY)]  # old-brand.fr untouched


@pytest.mark.slow
def test_the_drift_job_fails_on_drift(project: Project) -> None:
    project.stacks(project.main, prod=TERMINATE)
    runner = GitLab(project.api)
    assert runner.run_job(project.main, "reconciler:drift").returncode == 2
    project.stacks(project.main, prod=IN_SYNC)
    assert runner.run_job(project.main, "reconciler:drift").returncode == 0
