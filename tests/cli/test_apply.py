"""``reconciler apply`` and ``reconciler journal`` as users meet them: on the embedded
sandbox (a temporary RECONCILER_STATE_DIR, the demo account), with confirmation I/O
driven by the test, and on real processes (a pipe, a pseudo-terminal). Exit codes, one
clear error line, confirmation, --auto-approve, --token, saved plans (other endpoint,
altered), the journal command in text and JSON, and secrets kept out of every output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from child_process import on_terminal, python, user_env
from cli_helpers import (
    DELETE_OLD_SHOP,
    TERMINATE_AND_DELETE,
    TERMINATE_AND_REFUSED,
    ScriptedIO,
    clean_workdir,
    cli,
    error_lines,
    pending,
)

from reconciler.cli.apply import ApplyRequest, run_apply
from reconciler.errors import ReconcilerError

CHANGES = TERMINATE_AND_DELETE

REFUSED = TERMINATE_AND_REFUSED


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return clean_workdir(tmp_path, monkeypatch, changes_yaml=CHANGES)


# --- approval ---------------------------------------------------------------------------


def test_without_a_terminal_nor_auto_approve_nothing_is_applied(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "changes.yaml")
    assert result.code == 1
    assert error_lines(result) == [
        "error: no terminal to confirm on, and --auto-approve not given: nothing was applied"
    ]
    assert "DELETE NOW" in result.out  # the plan is shown first
    assert pending(capsys) == 2


def test_on_a_terminal_each_deletion_is_typed_back_then_yes(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    io = ScriptedIO(["old-shop.example.org", "yes"])
    report = run_apply(ApplyRequest(target=Path("changes.yaml")), io=io)
    assert report is not None and not report.failed
    assert len(io.asked) == 2
    assert "old-shop.example.org is deleted NOW" in io.asked[0]
    assert io.asked[1] == "Apply 2 changes to endpoint sandbox? Only 'yes' is accepted: "
    outcomes = [line for line in io.lines if line.startswith(("done ", "FAILED", "skipped"))]
    assert len(outcomes) == 2
    assert pending(capsys) == 0


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (["old-shop.example.org.", "yes"], "is not 'old-shop.example.org'"),
        (["old-shop.example.org", "y"], "apply cancelled: nothing was applied"),
        # Ctrl-D at the name's prompt is no answer, not the answer "nothing".
        ([], "apply cancelled: end of input before 'old-shop.example.org' was typed; nothing"),
        ([""], "apply cancelled: no name typed for 'old-shop.example.org'; nothing was"),
        (["old-shop.example.org"], "apply cancelled: nothing was applied"),  # then Ctrl-D
    ],
)
def test_a_wrong_answer_cancels_everything(
    workdir: Path, capsys: pytest.CaptureFixture[str], answers: list[str], message: str
) -> None:
    with pytest.raises(ReconcilerError, match=message) as raised:
        run_apply(ApplyRequest(target=Path("changes.yaml")), io=ScriptedIO(answers))
    assert raised.value.exit_code == 1
    assert pending(capsys) == 2
    assert not (workdir / "state" / "journal.jsonl").read_text()


def test_auto_approve_applies_with_one_line_per_action(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "changes.yaml", "--auto-approve")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert (
        "done    example.net (#120000102): terminate at expiry: set to terminate at expiry "
        "(its data is deleted then)"
    ) in lines
    assert any(
        line.startswith("done    old-shop.example.org (#120000202): delete now: deleted now")
        for line in lines
    )
    assert lines[-1].startswith("Apply complete: 2 done, 0 already as wanted, 0 failed (run ")
    # Approved, not "applying": the re-read at apply time may still refuse the plan.
    assert result.err == "note: --auto-approve: 2 changes approved without confirmation\n"
    again = cli(capsys, "apply", "changes.yaml", "--auto-approve")
    assert again.code == 0 and again.out.rstrip().endswith(
        "No changes. The account matches the spec."
    )


def test_refusals_exit_3_and_apply_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "refused.yaml").write_text(REFUSED, encoding="utf-8")
    result = cli(capsys, "apply", "refused.yaml", "--auto-approve")
    assert result.code == 3
    (line,) = error_lines(result)
    assert "1 change refused" in line and "nothing was applied" in line
    assert "[cancel-window-closed]" in result.out
    assert pending(capsys, "refused.yaml") == 1  # example.net was not terminated either
    assert not (workdir / "state" / "journal.jsonl").exists()


# --- tokens and options -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--token", "old-shop.example.org"), "error: --token old-shop.example.org=...: expected"),
        (("--token", "=abc"), "error: --token ?=...: expected NAME=TOKEN"),
        (("--token", "example.net=abc"), "error: --token example.net=...: the plan deletes no"),
        (("--request-again", "example.net"), "error: --request-again example.net: the plan"),
        (("--token-timeout", "soon"), "error: --token-timeout 'soon' is not a duration"),
        (("--concurrency", "0"), "error: Invalid value for '--concurrency'"),
    ],
)
def test_bad_options_are_one_line_and_exit_1(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    result = cli(capsys, "apply", "changes.yaml", "--auto-approve", *args)
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith(expected), line
    assert pending(capsys) == 2


def test_a_refused_token_fails_its_action_only_and_exits_1(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "NotTheRightToken0000000000000000000000000"
    result = cli(
        capsys, "apply", "changes.yaml", "--auto-approve", "--token",
        f"old-shop.example.org={secret}",
    )  # fmt: skip
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith("error: 1 of 2 actions failed (old-shop.example.org: the token given")
    assert line.endswith("; the other was applied")
    assert "FAILED  old-shop.example.org (#120000202): delete now:" in result.out
    assert pending(capsys) == 1  # example.net was terminated anyway
    for text in (result.out, result.err, (workdir / "state" / "journal.jsonl").read_text()):
        assert secret not in text and "demo-as" not in text and "demo-ck" not in text


def test_when_every_action_fails_none_is_said_applied(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "delete.yaml").write_text(DELETE_OLD_SHOP, encoding="utf-8")
    result = cli(
        capsys, "apply", "delete.yaml", "--auto-approve", "--token",
        "old-shop.example.org=NotTheRightToken0000000000000000000000000",
    )  # fmt: skip
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith("error: 1 of 1 action failed (old-shop.example.org: the token given")
    assert line.endswith(")") and "applied" not in line


# --- saved plans ------------------------------------------------------------------------------


def save(capsys: pytest.CaptureFixture[str]) -> Path:
    assert cli(capsys, "plan", "changes.yaml", "--out", "plan.json").code == 0
    return Path("plan.json")


def test_a_saved_plan_is_applied_on_its_own_endpoint_only(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save(capsys)
    other = cli(capsys, "apply", "plan.json", "--auto-approve", "--endpoint", "ovh-eu")
    assert other.code == 1
    assert error_lines(other) == [
        "error: plan.json was made for endpoint 'sandbox', and --endpoint names 'ovh-eu'; "
        "nothing was sent"
    ]
    result = cli(capsys, "apply", "plan.json", "--auto-approve")
    assert result.code == 0, result.err
    assert pending(capsys) == 0


def aim_at_another_service(document: dict[str, Any]) -> None:
    for action in document["actions"]:
        if action["service"] == "example.net":  # aim the PUT at another service
            action["calls"][0]["path"] = "/services/120000101"


def protect_an_embedded_entry(document: dict[str, Any]) -> None:
    document["spec"][0]["protect"] = True


@pytest.mark.parametrize(
    ("alter", "start", "words"),
    [
        (
            aim_at_another_service,
            "error: plan.json contradicts itself: its action for 'example.net'",
            "altered",
        ),
        (
            protect_an_embedded_entry,
            "error: plan.json carries the digest of changes.yaml but embeds",
            "the plan file was altered; nothing was sent",
        ),
    ],
    ids=["action", "embedded-spec"],
)
def test_an_altered_plan_file_is_refused(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    alter: Callable[[dict[str, Any]], None],
    start: str,
    words: str,
) -> None:
    path = save(capsys)
    document = json.loads(path.read_text())
    alter(document)
    path.write_text(json.dumps(document, indent=2))
    result = cli(capsys, "apply", "plan.json", "--auto-approve")
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith(start) and words in line
    assert pending(capsys) == 2


def test_a_spec_edited_since_the_plan_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    save(capsys)
    Path("changes.yaml").write_text(CHANGES.replace("delete_now", "renew"), encoding="utf-8")
    result = cli(capsys, "apply", "plan.json", "--auto-approve")
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith("error: changes.yaml is not the spec plan.json was made from")
    assert "the spec changed since the plan was reviewed" in line
    Path("changes.yaml").write_text(CHANGES, encoding="utf-8")
    assert pending(capsys) == 2  # nothing was applied


def test_a_plan_file_that_is_not_a_plan(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("plan.json").write_text('{"format_version": "1"')
    result = cli(capsys, "apply", "plan.json", "--auto-approve")
    assert result.code == 1 and len(error_lines(result)) == 1


# --- the journal command ------------------------------------------------------------------


def test_the_journal_shows_runs_and_records(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "journal").code == 0  # no journal yet: said, not an error
    assert cli(capsys, "apply", "changes.yaml", "--auto-approve").code == 0
    listed = cli(capsys, "journal")
    assert listed.code == 0
    (run_line,) = listed.out.splitlines()
    run_id = run_line.split()[0]
    assert "2 done" in run_line and "endpoint sandbox" in run_line

    last = cli(capsys, "journal", "--last")
    by_prefix = cli(capsys, "journal", "--run", run_id[:18])
    assert last.out == by_prefix.out and last.code == 0
    assert "POST /services/120000202/terminate/confirm" in last.out
    assert '{"token":"<redacted>"}' in last.out

    as_json = cli(capsys, "journal", "--last", "--service", "old-shop.example.org",
                     "--format", "json")  # fmt: skip
    records = [json.loads(line) for line in as_json.out.splitlines()]
    assert records and {r["service"] for r in records} == {"old-shop.example.org"}
    assert records[-1]["phase"] == "action" and records[-1]["outcome"] == "done"
    runs_json = cli(capsys, "journal", "--format", "json")
    assert json.loads(runs_json.out)["actions"] == {"done": 2}

    unknown = cli(capsys, "journal", "--run", "nope")
    assert unknown.code == 1 and error_lines(unknown)[0].startswith("error: ")


def test_the_journal_notes_a_torn_line_and_refuses_a_corrupt_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "apply", "changes.yaml", "--auto-approve").code == 0
    path = workdir / "state" / "journal.jsonl"
    text = path.read_text()
    path.write_text(text + '{"v":1,"time":"2026')
    torn = cli(capsys, "journal", "--last")
    assert torn.code == 0
    count = text.count("\n") + 1
    assert torn.err == (f"note: {path}:{count} is torn (a write interrupted by a crash); skipped\n")
    lines = text.splitlines(keepends=True)
    lines[2] = "garbage\n"
    path.write_text("".join(lines))
    corrupt = cli(capsys, "journal")
    assert corrupt.code == 1
    assert error_lines(corrupt) == [
        f"error: {path}:3: not a journal record (not JSON: Expecting value at column 1)"
    ]


# --- real processes -----------------------------------------------------------------------


def test_a_real_terminal_confirms_and_draws_progress(workdir: Path) -> None:
    typed = b"old-shop.example.org\nyes\n"  # typed ahead
    code, shown, err = on_terminal(
        "apply", "changes.yaml", "--no-color", cwd=workdir, env=user_env(), typed=typed
    )
    assert code == 0, shown + err
    assert "Type its name to confirm:" in shown
    assert "Only 'yes' is accepted:" in shown
    assert "done    old-shop.example.org (#120000202)" in shown
    assert "Apply complete: 2 done" in shown


def test_in_ci_logs_no_rich_is_imported(workdir: Path) -> None:
    code = (
        "import sys\n"
        "from reconciler.cli import main\n"
        "try:\n"
        "    main(['apply', 'changes.yaml', '--auto-approve'])\n"
        "except SystemExit as exit:\n"
        "    print('exit', exit.code, 'rich' in sys.modules, file=sys.stderr)\n"
    )
    process = python("-c", code, cwd=workdir, env=user_env())
    assert process.stderr.splitlines()[-1] == "exit 0 False", process.stderr
    assert "done    example.net (#120000102)" in process.stdout


def test_usage_errors_are_not_click_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "apply", "changes.yaml", "--no-such-option")
    assert result.code == 1 and len(error_lines(result)) == 1


def test_an_ovh_endpoint_left_in_the_shell_never_redirects_a_spec(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """plan and apply follow the same rule: --endpoint, else the spec's own endpoint.
    OVH_ENDPOINT names another account (here an address where nothing listens): had
    apply followed it, it would fail to connect; it applies to the spec's sandbox."""
    monkeypatch.setenv("OVH_ENDPOINT", "http://127.0.0.1:9/1.0")
    result = cli(capsys, "apply", "changes.yaml", "--auto-approve")
    assert result.code == 0, result.err
    assert pending(capsys) == 0
