"""Habits users bring from Terraform and the shell (issue 17): global options before or
after the command, ``--version``, click's shell completion, one duration grammar,
``services --type`` typos and ``--search`` by display name. Against the embedded
sandbox (a temporary RECONCILER_STATE_DIR, the demo account)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import RENEW_EXAMPLE_COM, TERMINATE_EXAMPLE_NET, clean_workdir, cli

from reconciler import __version__
from reconciler.cli import hoist_global_flags

ANSI = re.compile(r"\x1b\[")

IN_SYNC = RENEW_EXAMPLE_COM

CHANGES = TERMINATE_EXAMPLE_NET


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return clean_workdir(tmp_path, monkeypatch, sync_yaml=IN_SYNC, changes_yaml=CHANGES)


# --- global options ------------------------------------------------------------------------


def test_global_flags_move_to_the_front_but_not_past_a_double_dash() -> None:
    assert hoist_global_flags(["plan", "s.yaml", "--debug", "--no-color"]) == [
        "--debug",
        "--no-color",
        "plan",
        "s.yaml",
    ]
    assert hoist_global_flags(["validate", "--", "--debug"]) == ["validate", "--", "--debug"]


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "sync.yaml", "--debug"),
        ("--debug", "plan", "sync.yaml"),
        ("plan", "--no-color", "sync.yaml"),
        ("--no-color", "plan", "sync.yaml"),
        ("services", "--no-color"),
        ("services", "--debug", "--limit", "1"),
        ("validate", "sync.yaml", "--no-color"),
        ("journal", "--no-color"),
    ],
)
def test_debug_and_no_color_are_accepted_before_or_after_the_command(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    result = cli(capsys, *args)
    assert result.code == 0, result.err
    assert "No such option" not in result.err and "Traceback" not in result.err
    assert not ANSI.search(result.out)


def test_color_forced_anywhere_and_no_color_wins_over_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ANSI.search(cli(capsys, "plan", "changes.yaml", "--color").out)
    assert ANSI.search(cli(capsys, "--color", "plan", "changes.yaml").out)
    assert not ANSI.search(cli(capsys, "plan", "changes.yaml").out)  # not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert not ANSI.search(cli(capsys, "plan", "changes.yaml").out)
    assert ANSI.search(cli(capsys, "plan", "changes.yaml", "--color").out)  # asked: wins


@pytest.mark.parametrize(
    "args",
    [
        ("--endpoint", "nowhere-eu", "services"),
        ("services", "--endpoint", "nowhere-eu"),
        ("--endpoint", "nowhere-eu", "plan", "sync.yaml"),
        ("plan", "sync.yaml", "--endpoint", "nowhere-eu"),
    ],
)
def test_endpoint_before_or_after_the_command(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    result = cli(capsys, *args)
    assert result.code == 1
    assert "'nowhere-eu'" in result.err and "(from --endpoint)" in result.err


def test_version(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(capsys, "--version")
    assert result.code == 0
    assert result.out == f"reconciler, version {__version__}\n"


def test_shell_completion_is_clicks(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What README.md tells users to put in their shell's start-up file.
    monkeypatch.setenv("_RECONCILER_COMPLETE", "bash_source")
    script = cli(capsys, "--help")  # the arguments are ignored when completing
    assert script.code == 0 and "_reconciler_completion()" in script.out
    monkeypatch.setenv("_RECONCILER_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "reconciler pl")
    monkeypatch.setenv("COMP_CWORD", "1")
    words = cli(capsys)
    assert words.code == 0 and "plain,plan" in words.out


# --- durations -------------------------------------------------------------------------------


def test_token_timeout_takes_days_and_refuses_the_ambiguous_m(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Accepted: the command goes on to ask for approval, which no terminal can give.
    accepted = cli(capsys, "apply", "changes.yaml", "--token-timeout", "1d")
    assert "--token-timeout" not in accepted.err and "no terminal" in accepted.err
    iso = cli(capsys, "apply", "changes.yaml", "--token-timeout", "PT30M")
    assert "--token-timeout" not in iso.err
    terms = cli(capsys, "apply", "changes.yaml", "--max-read-age", "1min 30s")
    assert "--max-read-age" not in terms.err and "no terminal" in terms.err
    refused = cli(capsys, "apply", "changes.yaml", "--token-timeout", "30m")
    assert refused.code == 1
    assert refused.err.splitlines() == [
        "error: --token-timeout '30m' is ambiguous: 'm' is a minute to some and a month to others",
        "hint: write 30min for minutes or 30mo for months",
    ]
    months = cli(capsys, "apply", "changes.yaml", "--lock-timeout", "1mo")
    assert months.code == 1 and "calendar months" in months.err
    # A sign is for moving a sandbox's clock back, nothing else.
    back = cli(capsys, "apply", "changes.yaml", "--lock-timeout", "-1h")
    assert back.code == 1 and back.err.startswith("error: --lock-timeout '-1h' is not a duration")


def test_expiring_within_one_grammar(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused = cli(capsys, "services", "--expiring-within", "1m")
    assert refused.code == 1 and "1min" in refused.err and "1mo" in refused.err
    month = cli(capsys, "services", "--expiring-within", "P1M", "--format", "csv")
    assert month.code == 0 and "vps-1a2b3c4d.vps.ovh.net" in month.out
    assert "forgotten-project.io" not in month.out  # expired ten days ago
    expired = cli(
        capsys, "services", "--expiring-within", "1mo", "--include-expired", "--format", "csv"
    )
    assert "forgotten-project.io" in expired.out


# --- services: --type and --search ------------------------------------------------------------


def test_a_misspelt_type_is_refused_with_the_known_types(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "services", "--type", "hostng")
    assert result.code == 1
    error, hint = result.err.splitlines()
    assert error == "error: --type 'hostng' is no service type"
    assert hint.startswith("hint: did you mean ") and "hosting" in hint
    assert cli(capsys, "services", "--type", "hosting").code == 0
    assert cli(capsys, "services", "--type", "web_hosting").code == 0
    # A known type the account has none of is an empty answer, not a typo.
    assert cli(capsys, "services", "--type", "nutanix").code == 0


def test_search_says_what_matched_by_display_name(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "services", "--search", "api-prod", "--format", "csv")
    assert result.code == 0
    assert "vps-1a2b3c4d.vps.ovh.net" in result.out
    assert result.err == (
        "note: vps-1a2b3c4d.vps.ovh.net matches --search 'api-prod' by its display name "
        "'api-prod-1'\n"
    )
    by_name = cli(capsys, "services", "--search", "vps-1a2b", "--format", "csv")
    assert by_name.err == ""


# --- journal --------------------------------------------------------------------------------


def test_journal_before_any_apply_says_so_and_exits_0(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli(capsys, "journal")
    assert result.code == 0, result.err
    assert result.out == (
        f"No apply has run yet: there is no journal at {workdir / 'state' / 'journal.jsonl'}.\n"
    )
    as_json = cli(capsys, "journal", "--format", "json")
    assert as_json.code == 0 and as_json.out == ""  # no run: no line, for jq
