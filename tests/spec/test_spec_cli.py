"""``reconciler validate``: exit codes, one line per problem, JSON, no traceback, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import main

FILES = Path(__file__).resolve().parent / "files"
GOOD = FILES / "valid" / "brief-example.yaml"
ONE_SERVICE = b"version: 1\nservices:\n  www.example.com: {lifecycle: renew}\n"
BAD = b"""\
version: 1
services:
  a.example.com:
    lifecyle: renew
  b.example.com:
    lifecycle: terminate
"""
BAD_LINES = [
    "error: bad.yaml:4:5: unknown key 'lifecyle' in service 'a.example.com' — "
    "did you mean `lifecycle`?",
    "error: bad.yaml:6:16: unknown lifecycle 'terminate' — "
    "expected renew, terminate_at_expiry, terminate_at_commitment_end or delete_now",
]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_bytes(BAD)
    (tmp_path / "one.yaml").write_bytes(ONE_SERVICE)
    (tmp_path / "good.yaml").write_bytes(GOOD.read_bytes())
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    captured = capsys.readouterr()
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, captured.out, captured.err


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return cli(capsys, "validate", *args)


def test_a_valid_spec_says_ok_with_its_service_count(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate(capsys, "good.yaml") == (0, "good.yaml: ok (4 services)\n", "")
    assert validate(capsys, "one.yaml") == (0, "one.yaml: ok (1 service)\n", "")


def test_an_invalid_spec_prints_every_problem_on_its_own_line_and_exits_1(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = validate(capsys, "bad.yaml")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        *BAD_LINES,
        "hint: fix the spec and run `reconciler validate` again",
    ]


def test_several_specs_are_each_reported_and_any_failure_exits_1(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = validate(capsys, "good.yaml", "bad.yaml", "one.yaml", "missing.yaml")
    assert code == 1
    assert out.splitlines() == ["good.yaml: ok (4 services)", "one.yaml: ok (1 service)"]
    assert err.splitlines() == [
        *BAD_LINES,
        "error: missing.yaml:1:1: cannot read the spec: No such file or directory — "
        "give the path of a readable spec file (YAML)",
        "2 of 4 specs are invalid",
        "hint: fix the spec and run `reconciler validate` again",
    ]


def test_each_of_several_specs_errors_goes_through_the_one_error_printer(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file's name is quoted in its errors: a control character in it is shown escaped,
    # never sent to the terminal, for every spec as for the last (plan's and validate's).
    hostile = "bad\x1b[2J.yaml"
    (in_tmp / hostile).write_bytes(BAD)
    for command in ("validate", "plan"):
        code, _, err = cli(capsys, command, hostile, "bad.yaml")
        assert code == 1
        assert "\x1b" not in err
        assert "bad\\x1b[2J.yaml:4:5: unknown key 'lifecyle'" in err


def test_several_valid_specs_exit_0(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(capsys, "good.yaml", "one.yaml")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 2


def test_json_format_gives_every_problem_with_its_position(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = validate(capsys, "--format", "json", "good.yaml", "bad.yaml")
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert report["format_version"] == "1"
    assert report["valid"] is False
    good, bad = report["specs"]
    assert good["valid"] is True and good["services"] == 4 and good["endpoint"] == "ovh-eu"
    assert good["digest"].startswith("sha256:") and good["problems"] == []
    assert bad["valid"] is False
    assert [(p["line"], p["column"]) for p in bad["problems"]] == [(4, 5), (6, 16)]
    assert bad["problems"][1] == {
        "file": "bad.yaml",
        "line": 6,
        "column": 16,
        "message": "unknown lifecycle 'terminate'",
        "fix": "expected renew, terminate_at_expiry, terminate_at_commitment_end or delete_now",
    }


def test_json_format_of_valid_specs_exits_0(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = validate(capsys, "--format", "json", "one.yaml")
    assert code == 0
    assert json.loads(out)["valid"] is True


def test_no_spec_given_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = validate(capsys)
    assert code == 1  # usage errors exit 1: 2 means "changes present"
    assert "Missing argument" in err


def test_a_directory_is_one_clear_error(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = validate(capsys, str(in_tmp))
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: {in_tmp}:1:1: cannot read the spec: Is a directory — "
        "give the path of a readable spec file (YAML)"
    )


def run(
    *args: str, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The real command, as a user runs it, with no OVH credentials in sight."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVH_")}
    env["HOME"] = str(cwd or Path.cwd())
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        input=stdin,
        capture_output=True,
        check=False,
        cwd=cwd,
        env=env,
    )


def test_end_to_end_stdin_no_traceback_no_credentials(in_tmp: Path) -> None:
    ok = run("validate", "-", stdin=ONE_SERVICE, cwd=in_tmp)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, b"<stdin>: ok (1 service)\n", b"")
    bad = run("validate", "-", stdin=b"version: 1\nservices: [\x07]\n", cwd=in_tmp)
    assert bad.returncode == 1
    assert bad.stdout == b""
    lines = bad.stderr.decode().splitlines()
    assert lines[0] == (
        "error: <stdin>:2:12: control character U+0007 is not allowed in a spec — remove it"
    )
    assert "Traceback" not in bad.stderr.decode()


def test_validate_imports_nothing_that_talks_to_the_network() -> None:
    code = (
        "import sys, reconciler.cli.validate;"
        "bad = [m for m in ('httpx', 'reconciler.ovh', 'reconciler.observe', 'pulumi',"
        " 'starlette', 'uvicorn', 'rich') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert result.returncode == 0, result.stdout
