"""The embedded sandbox's state follows the spec's project, not the working directory:
a plan saved in one directory and applied from another meets the same demo account.
``RECONCILER_STATE_DIR`` still wins; the state directory is named on stderr only when a
fresh demo account is created away from the working directory, or with ``--debug``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import DELETE_OLD_SHOP, TERMINATE_EXAMPLE_NET, clean_workdir, cli

from reconciler.cli.common import Target, journal_for
from reconciler.cli.options import JOURNAL_DEFAULT, SPEC_JOURNAL_DEFAULT
from reconciler.endpoints import resolve_endpoint
from reconciler.ovh.embedded import DATABASE, spec_state_dir, working_state_dir

SPEC = TERMINATE_EXAMPLE_NET

FRESH = "a fresh demo account is created in"


@pytest.fixture
def projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``a/spec.yaml`` and an empty ``b/``, no RECONCILER_STATE_DIR, cwd ``tmp_path``."""
    clean_workdir(tmp_path, monkeypatch)
    monkeypatch.delenv("RECONCILER_STATE_DIR")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def test_a_plan_saved_in_one_directory_is_applied_from_another_on_the_same_account(
    projects: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(projects / "a")
    planned = cli(capsys, "plan", "spec.yaml", "--out", "plan.json")
    assert planned.code == 0, planned.err
    assert planned.err.count("note:") == 0  # the working directory's state: nothing to say

    monkeypatch.chdir(projects / "b")
    applied = cli(capsys, "apply", "../a/plan.json", "--spec", "../a/spec.yaml", "--auto-approve")
    assert applied.code == 0, applied.err
    assert "account changed" not in applied.err
    assert "example.net (#120000102): terminate at expiry" in applied.out
    assert FRESH not in applied.err  # the account the plan was made on
    assert not (projects / "b" / ".reconciler" / DATABASE).exists()

    # And the change is on the account of a/, as the next plan there sees it.
    monkeypatch.chdir(projects / "a")
    again = cli(capsys, "plan", "spec.yaml")
    assert again.code == 0, again.err
    assert "No changes. The account matches the spec." in again.out


def test_a_fresh_account_away_from_the_working_directory_is_said_once(
    projects: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(projects / "b")
    first = cli(capsys, "plan", "../a/spec.yaml")
    assert first.code == 0, first.err
    state = (projects / "a" / ".reconciler").resolve()
    assert first.err.splitlines() == [
        f"note: {FRESH} {state}, the embedded sandbox's state of the spec's project "
        "(set RECONCILER_STATE_DIR to choose another)"
    ]
    assert (state / DATABASE).is_file()

    second = cli(capsys, "plan", "../a/spec.yaml")
    assert second.err == ""  # the account is where the last command left it

    debug = cli(capsys, "--debug", "plan", "../a/spec.yaml")
    assert f"note: the embedded sandbox's state of the spec's project: {state}" in debug.err


def test_the_environment_variable_still_wins(
    projects: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(projects / "state"))
    monkeypatch.chdir(projects / "b")
    result = cli(capsys, "plan", "../a/spec.yaml")
    assert result.code == 0, result.err
    assert result.err == ""
    assert (projects / "state" / DATABASE).is_file()
    assert not (projects / "a" / ".reconciler").exists()


def test_two_specs_of_two_projects_are_planned_on_two_accounts(
    projects: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (projects / "b" / "spec.yaml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(projects / "a")
    assert cli(capsys, "apply", "spec.yaml", "--auto-approve").code == 0

    monkeypatch.chdir(projects)
    (projects / "c").mkdir()
    monkeypatch.chdir(projects / "c")
    both = cli(capsys, "plan", "../a/spec.yaml", "../b/spec.yaml")
    assert both.code == 0, both.err
    # a/'s account has the change applied; b/'s is a fresh demo account without it.
    first, second = both.out.split("── ../b/spec.yaml")
    assert "No changes. The account matches the spec." in first
    assert "Plan: 1 to terminate at expiry" in second


DELETE = DELETE_OLD_SHOP


def test_the_journal_goes_with_the_account_it_records(
    projects: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deletion applied from elsewhere is journalled beside the account it was done
    on: a plan made in the spec's directory sees it done, not an unknown service."""
    (projects / "a" / "delete.yaml").write_text(DELETE, encoding="utf-8")
    monkeypatch.chdir(projects / "a")
    assert cli(capsys, "plan", "delete.yaml", "--out", "plan.json").code == 0
    monkeypatch.chdir(projects / "b")
    applied = cli(capsys, "apply", "../a/plan.json", "--spec", "../a/delete.yaml", "--auto-approve")
    assert applied.code == 0, applied.err
    journal = (projects / "a" / ".reconciler" / "journal.jsonl").resolve()
    assert f"journal {journal})." in applied.out
    assert not (projects / "b" / ".reconciler").exists()

    monkeypatch.chdir(projects / "a")
    again = cli(capsys, "plan", "delete.yaml", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert "Already done, no longer on the account: old-shop.example.org" in again.out


def test_the_help_says_where_each_command_finds_its_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--journal``'s help says the default ``journal_for`` and ``journal`` use: the
    spec's project's on the embedded sandbox (as the test above applies it), the working
    directory's on OVH, ``RECONCILER_STATE_DIR`` over both."""
    for command in ("plan", "apply"):
        shown = " ".join(cli(capsys, command, "--help").out.split())
        assert SPEC_JOURNAL_DEFAULT in shown, command
    assert JOURNAL_DEFAULT in " ".join(cli(capsys, "journal", "--help").out.split())

    on_ovh = Target(resolve_endpoint("ovh-eu"), "--endpoint")
    assert journal_for(on_ovh, None, environ={}, cwd=tmp_path) == (
        tmp_path / ".reconciler" / "journal.jsonl"
    )
    state = {"RECONCILER_STATE_DIR": str(tmp_path / "state")}
    assert journal_for(on_ovh, None, environ=state, cwd=tmp_path) == (
        tmp_path / "state" / "journal.jsonl"
    )


def test_a_hint_naming_the_journal_command_names_that_journal(
    projects: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (projects / "a" / "delete.yaml").write_text(DELETE, encoding="utf-8")
    monkeypatch.chdir(projects / "b")
    failed = cli(
        capsys, "apply", "../a/delete.yaml", "--auto-approve", "--token",
        "old-shop.example.org=NotTheRightToken0000000000000000000000000",
    )  # fmt: skip
    assert failed.code == 1
    journal = (projects / "a" / ".reconciler" / "journal.jsonl").resolve()
    (hint,) = [line for line in failed.err.splitlines() if line.startswith("hint: ")]
    run = hint.split("--run ")[1].split()[0]
    assert f"`reconciler journal --run {run} --journal {journal}` shows every call" in hint
    shown = cli(capsys, "journal", "--run", run, "--journal", str(journal))
    assert shown.code == 0 and "old-shop.example.org" in shown.out

    monkeypatch.chdir(projects / "a")  # from the spec's directory: the default journal
    again = cli(
        capsys, "apply", "delete.yaml", "--auto-approve", "--token",
        "old-shop.example.org=NotTheRightToken0000000000000000000000000",
    )  # fmt: skip
    assert again.code == 1
    assert re.search(r"`reconciler journal --run \S+` shows every call", again.err)


# --- where the state directory is found -------------------------------------------------


def _dirs(root: Path, *names: str) -> None:
    for name in names:
        (root / name).mkdir(parents=True)


def test_inside_the_working_directory_the_nearest_state_up_to_it(tmp_path: Path) -> None:
    _dirs(tmp_path, "repo/stacks/dev", "repo/.reconciler")
    spec = Path("stacks/dev/spec.yaml")
    cwd = tmp_path / "repo"
    # None: the working directory's own, as before.
    assert spec_state_dir({}, cwd, spec) is None
    (cwd / "stacks" / ".reconciler").mkdir()
    assert spec_state_dir({}, cwd, spec) == (cwd / "stacks" / ".reconciler").resolve()
    # Never above the working directory when the spec is inside it.
    _dirs(tmp_path, "outer/.reconciler", "outer/inner")
    assert spec_state_dir({}, tmp_path / "outer" / "inner", Path("spec.yaml")) is None


def test_outside_the_working_directory_up_to_the_top_of_the_project(tmp_path: Path) -> None:
    _dirs(tmp_path, "project/.git", "project/stacks", "elsewhere", "loose")
    cwd = tmp_path / "elsewhere"
    top = (tmp_path / "project").resolve()
    # None there yet: created at the top of the project (where Pulumi keeps it too).
    found = spec_state_dir({}, cwd, Path("../project/stacks/dev.yaml"))
    assert found == top / ".reconciler"
    (top / "stacks" / ".reconciler").mkdir()
    assert spec_state_dir({}, cwd, Path("../project/stacks/dev.yaml")) == (
        top / "stacks" / ".reconciler"
    )
    # No project marker: the spec's directory only, never a stray one above it.
    (tmp_path / ".reconciler").mkdir()
    assert spec_state_dir({}, cwd, Path("../loose/spec.yaml")) == (
        (tmp_path / "loose" / ".reconciler").resolve()
    )


def test_the_variable_leaves_the_choice_to_it(tmp_path: Path) -> None:
    _dirs(tmp_path, "a/.reconciler", "b")
    environ = {"RECONCILER_STATE_DIR": "state"}
    assert spec_state_dir(environ, tmp_path / "b", Path("../a/spec.yaml")) is None
    assert spec_state_dir({"RECONCILER_STATE_DIR": " "}, tmp_path / "b", Path("../a/s.yaml"))


# --- commands without a spec: the working directory's project ---------------------------


def test_a_command_without_a_spec_run_in_a_subdirectory_meets_the_projects_account(
    projects: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``services``, ``journal`` and ``sandbox ...`` find the project's ``.reconciler/``
    upwards from a subdirectory, as git finds ``.git``, instead of a fresh one there."""
    project = projects / "project"
    _dirs(project, ".git", ".reconciler", "stacks/dev")
    (project / "spec.yaml").write_text(SPEC, encoding="utf-8")
    state = (project / ".reconciler").resolve()
    below = project / "stacks" / "dev"

    monkeypatch.chdir(below)  # the project's state has no account yet: it is made there
    listed = cli(capsys, "services")
    assert listed.code == 0, listed.err
    assert listed.err.splitlines() == [
        f"note: {FRESH} {state}, the embedded sandbox's state of the working directory's "
        "project (set RECONCILER_STATE_DIR to choose another)"
    ]
    assert (state / DATABASE).is_file()

    monkeypatch.chdir(project)
    assert cli(capsys, "apply", "spec.yaml", "--auto-approve").code == 0
    assert cli(capsys, "sandbox", "clock", "--set", "2027-01-01").code == 0

    monkeypatch.chdir(below)
    clock = cli(capsys, "sandbox", "clock")
    assert clock.code == 0 and "sandbox clock: 2027-01-01T00:00:00" in clock.out, clock.out
    shown = cli(capsys, "journal", "--last")
    assert shown.code == 0 and "example.net" in shown.out, shown.out + shown.err
    again = cli(capsys, "services")
    assert again.code == 0 and again.err == "", again.err  # found where it was left
    assert not (below / ".reconciler").exists()
    assert not (project / "stacks" / ".reconciler").exists()


def test_without_a_spec_the_nearest_state_up_to_the_top_of_the_project(tmp_path: Path) -> None:
    _dirs(tmp_path, "project/.git", "project/.reconciler", "project/stacks/dev", "loose/deep")
    below = tmp_path / "project" / "stacks" / "dev"
    top = (tmp_path / "project").resolve()
    assert working_state_dir({}, below) == top / ".reconciler"
    (below.parent / ".reconciler").mkdir()
    assert working_state_dir({}, below) == top / "stacks" / ".reconciler"  # the nearest
    # No project marker: the working directory's own, never a stray one above it.
    (tmp_path / ".reconciler").mkdir()
    deep = tmp_path / "loose" / "deep"
    assert working_state_dir({}, deep) == deep / ".reconciler"
    assert working_state_dir({"RECONCILER_STATE_DIR": "state"}, below) == Path("state")
