"""``reconciler apply --max-read-age``: the option reaches the executor. With the
default, the reversible termination is decided on the run's read of the account; with
``0`` every action re-reads its service alone; a deletion re-reads either way (the
journal's ``action`` records say which read decided each one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import TERMINATE_AND_DELETE, clean_workdir, cli, error_lines

from reconciler.journal import Phase, read_journal


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return clean_workdir(tmp_path, monkeypatch, changes_yaml=TERMINATE_AND_DELETE)


def decided_on(workdir: Path) -> dict[str | None, object]:
    records = read_journal(workdir / "state" / "journal.jsonl").records
    return {r.service: r.detail.get("read") for r in records if r.phase == Phase.ACTION}


@pytest.mark.parametrize(
    ("given", "termination"), [((), "account"), (("--max-read-age", "0"), "service")]
)
def test_the_read_age_decides_what_a_reversible_action_is_decided_on(
    workdir: Path, capsys: pytest.CaptureFixture[str], given: tuple[str, ...], termination: str
) -> None:
    result = cli(capsys, "apply", "changes.yaml", "--auto-approve", *given)
    assert result.code == 0, result.err
    assert decided_on(workdir) == {"example.net": termination, "old-shop.example.org": "service"}


def test_a_read_age_that_is_no_duration_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "changes.yaml", "--auto-approve", "--max-read-age", "soon")
    assert result.code != 0
    (line,) = error_lines(result)
    assert "--max-read-age" in line
    assert not (workdir / "state" / "journal.jsonl").exists()
