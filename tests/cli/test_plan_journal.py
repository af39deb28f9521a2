"""``reconciler plan --journal PATH``: the apply journal whose record of a deletion makes
an entry for a service the account no longer lists "already done" — the same option, with
the same meaning, as apply's ``--journal``. Run on the embedded sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import clean_workdir, cli

from reconciler.clock import ManualClock
from reconciler.journal import JournalWriter, Outcome, Phase, RunContext

GONE = "gone-shop.example.org"  # on no account: deleted by an earlier apply
SPEC = f"version: 1\nunmanaged: ignore\nservices:\n  {GONE}:\n    lifecycle: delete_now\n"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The embedded sandbox (no OVH_* set), a private state directory, the spec."""
    return clean_workdir(tmp_path, monkeypatch, spec_yaml=SPEC)


def record_deletion(path: Path, *, endpoint: str = "sandbox") -> None:
    """A journal as apply leaves it after deleting GONE: its action done."""
    context = RunContext(
        run="20260302T090000Z-j0urn1", plan="sha256:" + "c" * 64, endpoint=endpoint
    )
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    with JournalWriter(path, context, clock=clock) as journal:
        journal.write(
            phase=Phase.ACTION,
            outcome=Outcome.DONE,
            service=GONE,
            service_id=120009999,
            action="delete_now",
        )


def journal_elsewhere(isolated: Path) -> Path:
    """A journal away from the state directory, recording GONE's deletion."""
    elsewhere = isolated / "ci-cache" / "journal.jsonl"
    elsewhere.parent.mkdir()
    record_deletion(elsewhere)
    return elsewhere


@pytest.mark.parametrize(
    "command", [("plan", "--detailed-exitcode"), ("apply", "--auto-approve")], ids=["plan", "apply"]
)
def test_the_journal_given_is_the_evidence(
    isolated: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    """``plan SPEC --journal PATH`` and ``apply SPEC --journal PATH`` (the journal it
    appends to) plan with PATH's evidence: the same verdict before and at apply time."""
    verb, *flags = command
    elsewhere = journal_elsewhere(isolated)
    # The default journal (the state directory's) has no record of it: a name that
    # matches nothing, refused.
    code, out, _ = cli(capsys, verb, "spec.yaml", *flags)
    assert code == 3 and "unknown-service" in out
    # The journal given: the deletion it records makes the entry already done.
    code, out, err = cli(capsys, verb, "spec.yaml", "--journal", str(elsewhere), *flags)
    assert code == 0, out + err
    assert "already done" in out.lower() and "unknown-service" not in out


def test_the_plan_names_the_run_that_deleted_it(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = journal_elsewhere(isolated)
    code, out, _ = cli(capsys, "plan", "spec.yaml", "--journal", str(elsewhere), "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["refused"] == [] and document["summary"]["refused"] == 0
    (action,) = document["actions"]
    # The run that deleted it, as evidence.
    assert "deleted by apply run 20260302T090000Z-j0urn1" in action["reason"]


def test_a_journal_of_another_endpoint_is_no_evidence(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = isolated / "other.jsonl"
    record_deletion(other, endpoint="ovh-eu")
    code, out, _ = cli(capsys, "plan", "spec.yaml", "--journal", str(other), "--detailed-exitcode")
    assert code == 3 and "unknown-service" in out


def test_a_missing_journal_is_said_and_proves_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record_deletion(isolated / "state" / "journal.jsonl")  # the default one would prove it
    code, out, err = cli(
        capsys, "plan", "spec.yaml", "--journal", "typo.jsonl", "--detailed-exitcode"
    )
    assert code == 3 and "unknown-service" in out
    assert "note: --journal typo.jsonl does not exist" in err


def test_plan_help_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "plan", "--help")
    assert code == 0 and "--journal PATH" in out
