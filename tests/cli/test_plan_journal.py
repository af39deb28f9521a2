"""``reconciler plan --journal PATH``: the apply journal whose record of a deletion makes
an entry for a service the account no longer lists "already done" — the same option, with
the same meaning, as apply's ``--journal``. Run on the embedded sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.clock import ManualClock
from reconciler.journal import JournalWriter, Outcome, Phase, RunContext

_OVH_ENV = (
    "OVH_ENDPOINT",
    "OVH_APPLICATION_KEY",
    "OVH_APPLICATION_SECRET",
    "OVH_CONSUMER_KEY",
    "OVH_CLIENT_ID",
    "OVH_CLIENT_SECRET",
)
GONE = "gone-shop.example.org"  # on no account: deleted by an earlier apply
SPEC = f"version: 1\nunmanaged: ignore\nservices:\n  {GONE}:\n    lifecycle: delete_now\n"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The embedded sandbox (no OVH_* set), a private state directory."""
    for name in _OVH_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC)
    return tmp_path


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


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_plan_reads_the_journal_it_is_given(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = isolated / "ci-cache" / "journal.jsonl"
    elsewhere.parent.mkdir()
    record_deletion(elsewhere)
    # The default journal (the state directory's) has no record of it: a name that
    # matches nothing, refused.
    code, out, _ = cli(capsys, "plan", "spec.yaml", "--detailed-exitcode")
    assert code == 3 and "unknown-service" in out
    # The journal given: the deletion it records makes the entry already done.
    code, out, err = cli(
        capsys, "plan", "spec.yaml", "--journal", str(elsewhere), "--detailed-exitcode"
    )
    assert code == 0, out + err
    assert "already done" in out.lower() and "unknown-service" not in out
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


def test_apply_plans_with_the_journal_it_appends_to(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``apply SPEC --journal PATH`` plans with PATH's evidence, as ``plan --journal PATH``
    does: the same verdict before and at apply time."""
    elsewhere = isolated / "ci-cache" / "journal.jsonl"
    elsewhere.parent.mkdir()
    record_deletion(elsewhere)
    code, out, _ = cli(capsys, "apply", "spec.yaml", "--auto-approve")
    assert code == 3 and "unknown-service" in out
    code, out, err = cli(
        capsys, "apply", "spec.yaml", "--journal", str(elsewhere), "--auto-approve"
    )
    assert code == 0, out + err
    assert "already done" in out.lower() and "unknown-service" not in out


def test_plan_help_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "plan", "--help")
    assert code == 0 and "--journal PATH" in out
