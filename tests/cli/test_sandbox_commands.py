"""``reconciler sandbox clock|emails|reset``: UTC dates, and the served sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.sandbox import open_state


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def embedded_now(state_dir: Path) -> datetime:
    backend = open_state(state_dir / "sandbox.db")
    try:
        return backend.now()
    finally:
        backend.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # a bare date is midnight UTC, not Paris midnight (2026-12-31T23:00:00Z)
        ("2027-01-01", datetime(2027, 1, 1, tzinfo=UTC)),
        # a date-time without an offset is UTC, not refused and not local
        ("2027-01-01T09:30:00", datetime(2027, 1, 1, 9, 30, tzinfo=UTC)),
        ("2027-01-01T09:30", datetime(2027, 1, 1, 9, 30, tzinfo=UTC)),
        # an explicit offset is honoured
        ("2027-01-01T10:00:00+01:00", datetime(2027, 1, 1, 9, 0, tzinfo=UTC)),
        ("2027-07-01T00:00:00Z", datetime(2027, 7, 1, tzinfo=UTC)),
    ],
)
def test_clock_set_reads_utc(
    state_dir: Path, capsys: pytest.CaptureFixture[str], given: str, expected: datetime
) -> None:
    code, out, err = run(capsys, "sandbox", "clock", "--set", given)
    assert code == 0, err
    assert embedded_now(state_dir) == expected
    shown = expected.isoformat().replace("+00:00", "Z")
    assert out == f"sandbox clock: {shown} (UTC, stopped)\n"


def test_clock_set_refuses_what_is_not_a_date(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sandbox", "clock", "--set", "next monday")
    assert (code, out) == (1, "")
    assert "'next monday' is not an ISO 8601 date" in err and "UTC" in err


def test_clock_without_options_says_utc(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "sandbox", "clock", "--set", "2027-03-01")
    code, out, _ = run(capsys, "sandbox", "clock")
    assert (code, out) == (0, "sandbox clock: 2027-03-01T00:00:00Z (UTC, stopped)\n")
