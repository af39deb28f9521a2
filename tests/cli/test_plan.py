"""``reconciler plan`` end to end: against the embedded sandbox (a temporary
RECONCILER_STATE_DIR, the demo account) and the real sandbox server (its clock moved),
exit codes 0/1/2/3, --out, --format, several specs, GITHUB_STEP_SUMMARY, colour, and
errors as one clear line."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from child_process import on_terminal, python, user_env
from cli_helpers import RENEW_CAMPAIGN, RENEW_EXAMPLE_COM, Result, clean_workdir, cli, error_lines
from conftest import SandboxServer
from demo_spec import FOUR_SERVICES, demo_spec
from sandbox_env import use_sandbox_keys

from reconciler.core import planfile

SUMMARY = re.compile(
    r"^Plan: \d+ to terminate at expiry, \d+ to cancel, \d+ to delete now, "
    r"\d+ to change renewal, \d+ refused\.$"
)
DEMO_SECRETS = ("demo-as", "demo-ck")  # the demo account's application secret, consumer key

# example.com as the demo account has it, and old-brand.fr's termination already asked.
IN_SYNC = (
    RENEW_EXAMPLE_COM + "  old-brand.fr:\n    type: domain\n    lifecycle: terminate_at_expiry\n"
)

CHANGES = demo_spec(FOUR_SERVICES, endpoint="sandbox")

# Refused twice: renewing campaign-2025.example.com (cancel-window-closed) and an
# xDSL line, which is not managed from here (unmanageable-service).
REFUSED = RENEW_CAMPAIGN + "  xdsl-ab12345-1:\n    lifecycle: terminate_at_expiry\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated working directory: its own state directory (embedded sandbox), no
    OVH_* variables, no ovh.conf from the real home, no CI summary file."""
    return clean_workdir(tmp_path, monkeypatch)


def spec(directory: Path, name: str, content: str) -> str:
    (directory / name).write_text(content, encoding="utf-8")
    return name


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    return cli(capsys, "plan", *args)


# --- exit codes ---------------------------------------------------------------------------


def test_in_sync_exits_0_and_says_so(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = spec(workdir, "sync.yaml", IN_SYNC)
    for flags in ((), ("--detailed-exitcode",)):
        result = invoke(capsys, path, *flags)
        assert result.code == 0, result.err
        assert result.out.splitlines()[-1] == "No changes. The account matches the spec."
        assert result.err == ""


def test_changes_exit_0_or_2_with_detailed_exitcode(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = spec(workdir, "changes.yaml", CHANGES)
    plain = invoke(capsys, path)
    assert plain.code == 0
    assert plain.out.splitlines()[-1] == (
        "Plan: 1 to terminate at expiry, 1 to cancel, 1 to delete now, 1 to change renewal, "
        "0 refused."
    )
    assert "! old-shop.example.org (hosting/web, #120000202): DELETE NOW" in plain.out
    assert invoke(capsys, path, "--detailed-exitcode").code == 2


def test_refused_exits_3_with_one_error_line_and_the_refusals_shown(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = spec(workdir, "refused.yaml", REFUSED)
    plain = invoke(capsys, path)
    assert plain.code == 0  # a plan was made; only --detailed-exitcode reports refusals
    assert "[cancel-window-closed]" in plain.out
    assert plain.err.splitlines()[-1] == (
        "note: 2 refused changes: apply would refuse this plan "
        "(exit code 3 with --detailed-exitcode)"
    )
    for flags in (("--detailed-exitcode",),):
        result = invoke(capsys, path, *flags)
        assert result.code == 3
        assert "[cancel-window-closed]" in result.out
        assert "[unmanageable-service]" in result.out
        assert error_lines(result) == [
            "error: refused.yaml: the spec asks for 2 changes the lifecycle rules refuse; "
            "nothing would be applied"
        ]
        assert "hint: " in result.err


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        (
            "version: 1\nservices:\n  a:\n    lifecycle: bogus\n",
            (),
            "error: bad.yaml:4:16: unknown lifecycle 'bogus'",
        ),
        (None, (), "error: absent.yaml"),
        (IN_SYNC, ("--endpoint", "http://example.com/1.0"), "error: endpoint 'http://exam"),
        (IN_SYNC, ("--format", "yaml"), "error: Invalid value for '--format'"),
        (IN_SYNC, ("--formt", "json", "--detailed-exitcode"), "error: No such option"),
        (IN_SYNC, ("--concurrency", "0"), "error: Invalid value for '--concurrency'"),
    ],
    ids=["invalid-spec", "missing-spec", "bad-endpoint", "bad-format", "typo", "concurrency"],
)
def test_errors_exit_1_with_one_clear_line(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    args: tuple[str, ...],
    expected: str,
) -> None:
    name = "absent.yaml" if content is None else spec(workdir, "bad.yaml", content)
    result = invoke(capsys, name, *args)
    assert result.code == 1, "never 2, which --detailed-exitcode reads as 'changes'"
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith(expected), result.err
    assert result.out == ""


@pytest.fixture
def server(
    workdir: Path, sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> SandboxServer:
    """The real sandbox server, its demo keys in OVH_* (they sign every request)."""
    use_sandbox_keys(monkeypatch, sandbox_server)
    return sandbox_server


def test_wrong_credentials_exit_1_with_the_query_id(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: SandboxServer,
) -> None:
    monkeypatch.setenv("OVH_APPLICATION_SECRET", "not-the-secret")
    monkeypatch.setenv("OVH_CONSUMER_KEY", "not-a-consumer-key")
    path = spec(workdir, "sync.yaml", IN_SYNC)
    result = invoke(capsys, path, "--endpoint", server.url, "--detailed-exitcode")
    assert result.code == 1
    (line,) = error_lines(result)
    assert re.search(r"\b(400|403)\b", line) and "query id" in line, line
    assert "not-the-secret" not in result.err and "not-a-consumer-key" not in result.err
    assert result.out == ""


def test_a_read_only_key_is_enough_to_plan(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: SandboxServer,
) -> None:
    monkeypatch.setenv("OVH_CONSUMER_KEY", "demo-readonly-ck")
    path = spec(workdir, "changes.yaml", CHANGES)
    result = invoke(capsys, path, "--endpoint", server.url, "--detailed-exitcode")
    assert result.code == 2, result.err


# --- formats and --out ---------------------------------------------------------------------


def validate(document: object) -> None:
    schema = json.loads(planfile.SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)


def test_out_saves_the_json_plan_stdout_shows_the_chosen_format(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = spec(workdir, "changes.yaml", CHANGES)
    text = invoke(capsys, path, "--out", "plan.json")
    assert text.code == 0
    assert SUMMARY.match(text.out.splitlines()[-1])
    assert "Saved the plan to plan.json; apply it with `reconciler apply plan.json`." in text.err
    saved = planfile.load_plan(workdir / "plan.json")
    validate(json.loads((workdir / "plan.json").read_text(encoding="utf-8")))
    assert saved.spec_source == "changes.yaml" and saved.endpoint == "sandbox"
    assert {a.service for a in saved.changes} == {
        "example.net",
        "old-brand.fr",
        "old-shop.example.org",
        "vps-1a2b3c4d.vps.ovh.net",
    }
    assert not list(workdir.glob(".plan.json.*.tmp")), "no temporary file left behind"

    as_json = invoke(capsys, path, "--format", "json")
    document = json.loads(as_json.out)
    validate(document)
    assert document["format_version"] == "1"
    assert document["summary"]["delete_now"] == 1
    assert as_json.err == ""


def test_markdown_format(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = invoke(capsys, spec(workdir, "changes.yaml", CHANGES), "--format", "markdown")
    first = result.out.splitlines()[0]
    assert first.startswith("**Changes** · Plan: 1 to terminate at expiry, 1 to cancel")
    assert "### Changes" in result.out and "> [!CAUTION]" in result.out
    assert "`old-shop.example.org` (**deleted now**)" in result.out


def test_out_into_a_missing_directory_is_one_clear_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke(capsys, spec(workdir, "sync.yaml", IN_SYNC), "--out", "no/such/dir/p.json")
    assert result.code == 1
    (line,) = error_lines(result)
    assert line.startswith("error: cannot save the plan to no/such/dir/p.json")


# --- several specs -------------------------------------------------------------------------


def test_several_specs_are_sections_and_the_most_severe_exit_wins(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sync = spec(workdir, "sync.yaml", IN_SYNC)
    changes = spec(workdir, "changes.yaml", CHANGES)
    refused = spec(workdir, "refused.yaml", REFUSED)

    both = invoke(capsys, sync, changes, "--detailed-exitcode", "--out", "plan.json")
    assert both.code == 2
    assert both.out.index("── sync.yaml") < both.out.index("── changes.yaml")
    summaries = [line for line in both.out.splitlines() if SUMMARY.match(line) or "No ch" in line]
    assert summaries[0] == "No changes. The account matches the spec."
    assert summaries[1].startswith("Plan: 1 to terminate at expiry")
    assert planfile.load_plan(workdir / "plan.sync.json").spec_source == "sync.yaml"
    assert planfile.load_plan(workdir / "plan.changes.json").spec_source == "changes.yaml"
    assert not (workdir / "plan.json").exists()
    assert "Saved the plan to plan.sync.json; there is nothing to apply." in both.err

    refused_saved = invoke(capsys, refused, "--out", "r.json")
    assert "Saved the plan to r.json; it cannot be applied while changes are refused." in (
        refused_saved.err
    )
    assert planfile.load_plan(workdir / "r.json").has_refusals

    assert invoke(capsys, sync, changes, refused).code == 0
    assert invoke(capsys, sync, changes, refused, "--detailed-exitcode").code == 3
    assert invoke(capsys, refused, sync, "--detailed-exitcode").code == 3

    as_json = json.loads(invoke(capsys, sync, changes, "--format", "json").out)
    assert [plan["spec_source"] for plan in as_json] == ["sync.yaml", "changes.yaml"]

    markdown = invoke(capsys, sync, refused, "--format", "markdown").out
    assert markdown.startswith("**Refused** · 2 specs planned: `sync.yaml`: no changes")
    assert "## `refused.yaml`" in markdown


def test_several_specs_sharing_a_name_cannot_share_a_plan_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "a").mkdir()
    (workdir / "b").mkdir()
    first, second = spec(workdir, "a/prod.yaml", IN_SYNC), spec(workdir, "b/prod.yaml", CHANGES)
    result = invoke(capsys, first, second, "--out", "plan.json")
    assert result.code == 1
    (line,) = error_lines(result)
    assert "a/prod.yaml and b/prod.yaml would both be saved to plan.prod.json" in line
    assert result.out == ""


def test_every_problem_of_several_invalid_specs_is_reported(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = "version: 1\nservices:\n  a:\n    lifecycle: bogus\n"
    result = invoke(capsys, spec(workdir, "one.yaml", bad), spec(workdir, "two.yaml", bad))
    assert result.code == 1
    lines = error_lines(result)
    assert [line.split(":")[1].strip() for line in lines] == ["one.yaml", "two.yaml"]


# --- CI integration ------------------------------------------------------------------------


def test_github_step_summary_gets_the_markdown_appended(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = workdir / "step-summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    changes = spec(workdir, "changes.yaml", CHANGES)
    assert invoke(capsys, changes, "--format", "json").code == 0
    assert invoke(capsys, spec(workdir, "refused.yaml", REFUSED)).code == 0
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("# Earlier step\n")
    assert written.count("**Changes** · Plan: 1 to terminate at expiry") == 1
    assert written.count("**Refused** · Plan: 0 to terminate at expiry") == 1
    assert written.index("**Changes**") < written.index("**Refused**")


def test_an_unwritable_step_summary_is_a_warning_not_a_failure(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(workdir / "missing" / "summary.md"))
    result = invoke(capsys, spec(workdir, "changes.yaml", CHANGES), "--detailed-exitcode")
    assert result.code == 2
    assert "warning: cannot append the plan to GITHUB_STEP_SUMMARY" in result.err


def test_no_secret_reaches_any_output(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: SandboxServer,
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(workdir / "summary.md"))
    path = spec(workdir, "changes.yaml", CHANGES)
    outputs = []
    for output_format in ("text", "markdown", "json"):
        result = invoke(
            capsys, path, "--endpoint", server.url, "--format", output_format, "--out", "p.json"
        )
        assert result.code == 0, result.err
        outputs += [result.out, result.err, (workdir / "p.json").read_text(encoding="utf-8")]
    outputs.append((workdir / "summary.md").read_text(encoding="utf-8"))
    for output in outputs:
        for secret in (server.application_secret, server.consumer_key):
            assert secret not in output
        assert not re.search(r"\$1\$[0-9a-f]{40}", output), "no request signature"


# --- endpoint ------------------------------------------------------------------------------


def test_the_spec_endpoint_wins_over_ovh_endpoint_with_a_note(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVH_ENDPOINT", "ovh-eu")
    result = invoke(capsys, spec(workdir, "sync.yaml", IN_SYNC))
    assert result.code == 0
    assert result.out.startswith("Plan for sync.yaml on endpoint sandbox")
    assert "note: sync.yaml is planned on its own endpoint 'sandbox', not 'ovh-eu'" in result.err


def test_endpoint_option_overrides_the_spec(
    workdir: Path, capsys: pytest.CaptureFixture[str], server: SandboxServer
) -> None:
    path = spec(workdir, "changes.yaml", CHANGES)
    result = invoke(capsys, path, "--endpoint", server.url, "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["endpoint"] == server.url


def test_plans_are_judged_by_the_api_clock(
    workdir: Path, capsys: pytest.CaptureFixture[str], server: SandboxServer
) -> None:
    """old-brand.fr expires 40 days after the sandbox epoch: cancelling its termination
    is a change until 24 hours before expiry, refused after — by the sandbox's clock."""
    keep = spec(
        workdir,
        "keep.yaml",
        "version: 1\nunmanaged: ignore\nservices:\n"
        "  old-brand.fr:\n    type: domain\n    lifecycle: renew\n",
    )
    args = (keep, "--endpoint", server.url, "--detailed-exitcode")
    assert invoke(capsys, *args).code == 2
    server.advance(timedelta(days=39, minutes=1))
    late = invoke(capsys, *args)
    assert late.code == 3
    assert "[cancel-window-closed]" in late.out


# --- a real process: colour only on a terminal, never with NO_COLOR --------------------------


def test_colour_only_on_a_terminal_and_never_with_no_color(workdir: Path) -> None:
    path = spec(workdir, "changes.yaml", CHANGES)
    env = user_env()
    code, shown, _ = on_terminal("plan", path, cwd=workdir, env=env)
    assert code == 0 and "\033[1;31m!\033[0m" in shown
    code, shown, _ = on_terminal("plan", path, cwd=workdir, env={**env, "NO_COLOR": "1"})
    assert code == 0 and "\033[" not in shown and "DELETE NOW" in shown
    code, shown, _ = on_terminal("plan", path, "--no-color", cwd=workdir, env=env)
    assert "\033[" not in shown
    piped = python("-m", "reconciler", "plan", path, "--detailed-exitcode", cwd=workdir, env=env)
    assert piped.returncode == 2
    assert "\033[" not in piped.stdout and piped.stdout.rstrip().endswith("0 refused.")


def test_plan_imports_nothing_heavy() -> None:
    """Start-up time counts: planning against a real endpoint never loads the sandbox
    server, rich or Pulumi (the embedded sandbox imports its server lazily)."""
    code = (
        "import sys\n"
        "import reconciler.cli.plan\n"
        "from reconciler.render import json, markdown, text\n"
        "heavy = {'rich', 'starlette', 'uvicorn', 'pulumi', 'jsonschema', 'markdown_it'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = python("-c", code)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
