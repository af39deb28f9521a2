"""``-`` is standard input for every command that reads a spec: ``plan -``,
``validate -`` and ``apply - --auto-approve`` read it alike (``specfiles.read_spec``), and
its problems name ``<stdin>:line:col``. ``apply -`` without ``--auto-approve`` is refused
before anything is read: the confirmation would be typed on that same input."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import TERMINATE_EXAMPLE_NET, clean_workdir, cli, piped

SPEC = TERMINATE_EXAMPLE_NET

BAD = SPEC.replace("terminate_at_expiry", "terminate_at_expiryy")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return clean_workdir(tmp_path, monkeypatch, spec_yaml=SPEC)


def test_plan_reads_the_spec_from_standard_input_as_from_its_file(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from_file = cli(capsys, "plan", "spec.yaml")
    piped(monkeypatch, SPEC)
    from_stdin = cli(capsys, "plan", "-")
    assert from_stdin.code == from_file.code == 0, from_stdin.err
    assert from_stdin.out.startswith("Plan for <stdin> on endpoint sandbox\n")
    # The same plan but for the name and the clock's line.
    assert _no_clock(from_stdin.out.replace("<stdin>", "spec.yaml")) == _no_clock(from_file.out)
    assert "Plan: 1 to terminate at expiry" in from_stdin.out
    assert "No such file" not in from_stdin.err


def _no_clock(text: str) -> list[str]:
    return [line for line in text.splitlines() if "computed at" not in line]


@pytest.mark.parametrize("command", ["plan", "validate"])
def test_a_spec_error_on_standard_input_names_stdin_line_and_column(
    command: str,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piped(monkeypatch, BAD)
    failed = cli(capsys, command, "-")
    assert failed.code == 1
    first = failed.err.splitlines()[0]
    assert first.startswith("error: <stdin>:7:16: "), failed.err
    assert "terminate_at_expiryy" in first
    assert "cannot read the spec" not in failed.err


def test_apply_from_standard_input_with_auto_approve_applies_the_spec(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    piped(monkeypatch, SPEC)
    applied = cli(capsys, "apply", "-", "--auto-approve")
    assert applied.code == 0, applied.err
    assert "Plan: 1 to terminate at expiry" in applied.out
    again = cli(capsys, "plan", "spec.yaml")  # the same account, changed
    assert "No changes. The account matches the spec." in again.out


def test_apply_from_standard_input_without_auto_approve_is_refused_unread(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = piped(monkeypatch, SPEC)
    refused = cli(capsys, "apply", "-")
    assert refused.code == 1
    lines = refused.err.splitlines()
    assert lines[0].startswith("error: apply -: standard input is where the confirmation is")
    assert "--auto-approve" in lines[1] and lines[1].startswith("hint: ")
    assert raw.tell() == 0  # not a byte of the spec was read
    assert not (workdir / "state").exists()  # nor the account


def test_standard_input_given_twice_is_a_usage_error(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    piped(monkeypatch, SPEC)
    for command in ("plan", "validate"):
        twice = cli(capsys, command, "-", "spec.yaml", "-")
        assert twice.code == 1
        assert "'-' is given more than once" in twice.err.splitlines()[0]


def test_a_plan_made_from_standard_input_is_applied_with_the_spec_piped_again(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    piped(monkeypatch, SPEC)
    planned = cli(capsys, "plan", "-", "--out", "plan.json")
    assert planned.code == 0, planned.err
    # No file holds the plan's spec: the line says how to hold the plan to it.
    assert "`reconciler apply plan.json --spec - --auto-approve`" in planned.err

    piped(monkeypatch, SPEC)  # the same text: the plan is held to it as to a file
    applied = cli(capsys, "apply", "plan.json", "--spec", "-", "--auto-approve")
    assert applied.code == 0, applied.err
    assert "Apply complete: 1 done" in applied.out


def test_a_spec_piped_with_spec_dash_is_held_to_the_plan_and_named_stdin(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(capsys, "plan", "spec.yaml", "--out", "plan.json").code == 0
    piped(monkeypatch, SPEC.replace("terminate_at_expiry", "renew"))
    refused = cli(capsys, "apply", "plan.json", "--spec", "-", "--auto-approve")
    assert refused.code == 1
    assert refused.err.startswith("error: <stdin> is not the spec plan.json was made from")


def test_spec_dash_without_auto_approve_is_refused_unread(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli(capsys, "plan", "spec.yaml", "--out", "plan.json").code == 0
    raw = piped(monkeypatch, SPEC)
    refused = cli(capsys, "apply", "plan.json", "--spec", "-")
    assert refused.code == 1
    assert refused.err.startswith("error: --spec -: standard input is where the confirmation")
    assert "`... | reconciler apply plan.json --spec - --auto-approve`" in refused.err
    assert raw.tell() == 0
