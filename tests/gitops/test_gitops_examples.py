"""The example specs of ``examples/``: each one validates, plans against the demo account
of the embedded sandbox as its comments say, and — where it asks for changes — applies
and then plans no changes. And ``reconciler plan stacks/*.yaml`` over several accounts
(one spec per account, each on its own endpoint with its own keys): a labelled section
each, the most severe exit code."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitops_helpers import EXAMPLES, isolated
from sandbox_env import cli

from reconciler.sandbox import create_app, demo_seed, open_state
from reconciler.sandbox.seed import seed_from_mapping
from reconciler.sandbox.server import ServerThread
from reconciler.sandbox.testing import SANDBOX_EPOCH, SandboxServer

__all__ = ["isolated"]

SPECS = sorted(EXAMPLES.glob("*.yaml"))


def plan_json(capsys: pytest.CaptureFixture[str], spec: Path | str) -> dict[str, Any]:
    result = cli(capsys, "plan", str(spec), "--format", "json")
    assert result.code in (0, 3), result.err
    found: dict[str, Any] = json.loads(result.out)
    return found


def kinds(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["service"], a["action"]) for a in plan["actions"] if a["action"] != "no_op"]


def test_the_examples_are_the_common_cases() -> None:
    assert [p.name for p in SPECS] == [
        "delete-web-hosting-now.yaml",
        "imported-account.yaml",
        "let-old-services-expire.yaml",
        "quickstart.yaml",
    ]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_example_validates(
    spec: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "validate", str(spec))
    assert result.code == 0, result.err
    assert result.out.startswith(f"{spec}: ok (")


def test_quickstart_shows_one_change_of_each_kind_and_two_refusals(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = plan_json(capsys, EXAMPLES / "quickstart.yaml")
    assert sorted(action for _, action in kinds(plan)) == [
        "cancel_termination",
        "delete_now",
        "set_renew",
        "terminate_at_expiry",
    ]
    assert sorted((r["service"], r["rule"]) for r in plan["refused"]) == [
        ("campaign-2025.example.com", "cancel-window-closed"),
        ("xdsl-ab12345-1", "unmanageable-service"),
    ]
    assert cli(capsys, "plan", str(EXAMPLES / "quickstart.yaml")).code == 0  # a plan was made
    refused = cli(capsys, "plan", str(EXAMPLES / "quickstart.yaml"), "--detailed-exitcode")
    assert refused.code == 3


def test_quickstart_without_its_refused_entries_applies(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As its comments say: delete the two refused entries, and apply goes through."""
    text = (EXAMPLES / "quickstart.yaml").read_text(encoding="utf-8")
    kept = text.split("  # --- Refused: cancel-window-closed")[0]
    Path("quickstart.yaml").write_text(kept, encoding="utf-8")
    applied = cli(capsys, "apply", "quickstart.yaml", "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert "Apply complete: 4 done" in applied.out
    assert cli(capsys, "plan", "quickstart.yaml", "--detailed-exitcode").code == 0


def test_letting_old_services_expire(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = EXAMPLES / "let-old-services-expire.yaml"
    plan = plan_json(capsys, spec)
    assert kinds(plan) == [
        ("example.net", "terminate_at_expiry"),
        ("example.org", "terminate_at_expiry"),
        ("vps-1a2b3c4d.vps.ovh.net", "terminate_at_expiry"),
    ]
    assert plan["refused"] == []
    (org,) = [a for a in plan["actions"] if a["service"] == "example.org"]
    assert org["linked"] == ["example.org"]  # its MX Plan goes along
    # Protected services cannot be retired by a careless edit.
    edited = Path("edited.yaml")
    edited.write_text(
        spec.read_text(encoding="utf-8").replace(
            "    lifecycle: renew\n    protect: true",
            "    lifecycle: terminate_at_expiry\n    protect: true",
            1,
        ),
        encoding="utf-8",
    )
    refused = plan_json(capsys, edited)
    assert [(r["service"], r["rule"]) for r in refused["refused"]] == [
        ("example.com domain", "linked-service-conflict"),  # its hosting is kept, too
        ("example.com domain", "protected"),
    ]


def test_letting_old_services_expire_applies_then_plans_no_changes(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = EXAMPLES / "let-old-services-expire.yaml"
    applied = cli(capsys, "apply", str(spec), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert cli(capsys, "plan", str(spec), "--detailed-exitcode").code == 0


def test_deleting_a_web_hosting_now(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = EXAMPLES / "delete-web-hosting-now.yaml"
    plan = plan_json(capsys, spec)
    assert kinds(plan) == [("old-shop.example.org", "delete_now")]
    (action,) = plan["actions"]
    assert action["irreversible"] is True
    applied = cli(capsys, "apply", str(spec), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    again = plan_json(capsys, spec)
    assert again["actions"][0]["action"] == "no_op"
    assert again["actions"][0]["reason"].startswith(("already gone", "already done"))


def test_the_imported_account_is_what_import_writes_and_plans_no_changes(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = EXAMPLES / "imported-account.yaml"
    planned = cli(capsys, "plan", str(example), "--detailed-exitcode")
    assert planned.code == 0, planned.out + planned.err
    fresh = cli(capsys, "import", "--endpoint", "sandbox")
    assert fresh.code == 0
    # The same spec (the comments' dates differ with the day it is run).
    assert yaml.safe_load(fresh.out) == yaml.safe_load(example.read_text(encoding="utf-8"))
    entries = [line for line in fresh.out.splitlines() if not line.lstrip().startswith("#")]
    committed = example.read_text(encoding="utf-8").splitlines()
    assert entries == [line for line in committed if not line.lstrip().startswith("#")]
    # Its comments too, but for their dates: a comment import no longer writes (the old
    # "cancellable until 24 h before") would otherwise stay in the example unseen.
    written = [_undated(line) for line in fresh.out.splitlines()]
    assert [_undated(line) for line in committed[-len(written) :]] == written


def _undated(line: str) -> str:
    return re.sub(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2} UTC)?", "DATE", line)


# --- several accounts ---------------------------------------------------------------------


@pytest.fixture
def second_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """Another OVH account: a second sandbox server, with keys of its own."""
    seed = demo_seed().to_mapping()
    seed["credentials"] = [
        {
            "application_key": "ca-ak",
            "application_secret": "ca-as",
            "consumer_key": "ca-ck",
            "rules": [{"method": "GET", "path": "/*"}],
        }
    ]
    backend = open_state(tmp_path_factory.mktemp("ca") / "state.db", seed=seed_from_mapping(seed))
    app = create_app(backend)
    server = ServerThread(app).start()
    try:
        handle = SandboxServer(url=server.url, root=server.root, admin=None, app=app)  # type: ignore[arg-type]
        yield handle
    finally:
        server.stop()
        backend.close()


def test_plan_stacks_plans_each_account_with_its_own_keys(
    sandbox_server: SandboxServer,
    second_account: SandboxServer,
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox_server.reset(demo_seed().to_mapping(), now=SANDBOX_EPOCH)
    Path("ovh.conf").write_text(
        f"[{sandbox_server.url}]\napplication_key=demo-ak\napplication_secret=demo-as\n"
        f"consumer_key=demo-readonly-ck\n\n"
        f"[{second_account.url}]\napplication_key=ca-ak\napplication_secret=ca-as\n"
        "consumer_key=ca-ck\n",
        encoding="utf-8",
    )
    Path("stacks").mkdir()
    Path("stacks/eu.yaml").write_text(
        f"version: 1\nendpoint: {sandbox_server.url}\nunmanaged: ignore\nservices:\n"
        "  example.net: {type: domain, lifecycle: terminate_at_expiry}\n",
        encoding="utf-8",
    )
    Path("stacks/ca.yaml").write_text(
        f"version: 1\nendpoint: {second_account.url}\nunmanaged: ignore\nservices:\n"
        "  example.org: {type: domain, lifecycle: renew}\n",
        encoding="utf-8",
    )
    Path("stacks/lab.yaml").write_text(
        "version: 1\nendpoint: sandbox\nunmanaged: ignore\nservices:\n"
        "  xdsl-ab12345-1: {lifecycle: terminate_at_expiry}\n",
        encoding="utf-8",
    )
    stack_files = sorted(str(p) for p in Path("stacks").glob("*.yaml"))  # as the shell expands
    summary = isolated / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    both = cli(capsys, "plan", *stack_files[:2], "--detailed-exitcode")
    assert both.code == 2, both.err
    assert both.out.index("── stacks/ca.yaml") < both.out.index("── stacks/eu.yaml")
    every = cli(capsys, "plan", *stack_files, "--detailed-exitcode", "--format", "markdown")
    assert every.code == 3  # the most severe: lab.yaml asks for a refused change
    for name in ("ca", "eu", "lab"):
        assert f"## `stacks/{name}.yaml`" in every.out
    assert summary.read_text(encoding="utf-8").count("## `stacks/lab.yaml`") == 1
    as_json = json.loads(cli(capsys, "plan", *stack_files, "--format", "json").out)
    assert [p["endpoint"] for p in as_json] == [second_account.url, sandbox_server.url, "sandbox"]
    assert [p["summary"]["refused"] for p in as_json] == [0, 0, 1]


def test_examples_directory_is_copyable(tmp_path: Path) -> None:
    """The recipes and specs stand on their own: copied elsewhere, nothing dangles."""
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target)
    assert (target / "ci" / "gitlab" / ".gitlab-ci.yml").exists()
    for path in target.rglob("*.y*ml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8")) is not None, path
