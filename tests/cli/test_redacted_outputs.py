"""Secrets the command knows never reach a rendered plan, a saved plan or a debug log,
whatever an API echoed into them (docs/reliability.md, "Secrets" and "Hostile API")."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import plan as plan_command
from reconciler.cli.common import run
from reconciler.redaction import Secrets
from tests.render.plan_factory import plan, refusal

CK = "CK-SECRET-echoed-5d1e77"


def echoed_plan() -> plan_command.Plan:
    """A plan whose refusal quotes what an API said, consumer key included."""
    said = f"the API answered: Invalid request from {CK}"
    return plan((), (refusal(message=said),))


def test_a_saved_plan_holds_no_known_secret(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    plan_command.save(target, echoed_plan(), Secrets([CK]))
    saved = target.read_text()
    assert CK not in saved
    assert "<redacted>" in saved


def test_the_plan_command_blanks_secrets_on_stdout_and_in_its_plan_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = echoed_plan()

    async def fake_plan_all(jobs: object, concurrency: int) -> list[plan_command.Plan]:
        return [made]

    monkeypatch.setattr(plan_command, "plan_all", fake_plan_all)
    monkeypatch.setattr(plan_command, "load_specs", lambda paths: [object()])
    monkeypatch.setattr(plan_command, "target_for_spec", lambda spec, endpoint: None)
    monkeypatch.setattr(plan_command, "_note_ignored_endpoint", lambda jobs, endpoint: None)
    monkeypatch.setattr(plan_command, "spec_files", lambda specs, note: list(specs))
    out = tmp_path / "plan.json"
    for output_format in ("text", "markdown", "json"):
        result = CliRunner().invoke(
            plan_command.plan,
            ["spec.yaml", "--format", output_format, "--out", str(out)],
            obj={"secrets": Secrets([CK])},
        )
        assert CK not in result.output, output_format
        assert "<redacted>" in result.output, output_format
        assert CK not in out.read_text()


def test_debug_logs_of_every_reconciler_logger_are_blanked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secrets = Secrets([CK])

    async def logs_a_secret() -> None:
        logging.getLogger("reconciler.ovh").debug("GET /me answered %s", CK)

    @click.command()
    def command() -> None:
        run(logs_a_secret())

    group = click.Group(commands={"command": command})
    with caplog.at_level(logging.DEBUG, logger="reconciler"):
        result = CliRunner().invoke(group, ["command"], obj={"secrets": secrets, "debug": True})
    assert result.exit_code == 0, result.output
    assert "GET /me answered <redacted>" in caplog.text
    assert CK not in caplog.text
