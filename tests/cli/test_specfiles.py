"""`reconciler plan stacks/*.yaml` and `validate stacks/*.yaml` with Pulumi's stack
settings beside the specs (Pulumi.yaml's stackConfigDir is stacks/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_env import cli, isolate

from reconciler.cli.specfiles import is_pulumi_stack_file

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "pulumi"),
    [
        ("stacks/Pulumi.dev.yaml", True),
        ("Pulumi.prod.yml", True),
        ("stacks/prod.yaml", False),
        ("Pulumi.yaml", False),  # the project file is not a stack file (nor a spec)
        ("stacks/pulumi.dev.yaml", False),
    ],
)
def test_pulumi_stack_files_are_recognised(name: str, pulumi: bool) -> None:
    assert is_pulumi_stack_file(name) is pulumi


@pytest.fixture
def stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    isolate(tmp_path, monkeypatch)
    (tmp_path / "stacks").mkdir()
    for path in sorted((REPO / "stacks").iterdir()):
        (tmp_path / "stacks" / path.name).write_bytes(path.read_bytes())
    names = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "stacks").glob("*.yaml"))
    assert any(is_pulumi_stack_file(n) for n in names), "the repository's stacks/ has both"
    return names


def test_validate_and_plan_the_whole_stacks_directory(
    stacks: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "validate", *stacks)
    assert code == 0, err
    assert "note: skipped stacks/Pulumi.dev.yaml" in err
    assert "Pulumi" not in out
    code, out, err = cli(capsys, "plan", *stacks, "--endpoint", "sandbox")
    assert code == 0, err
    assert "note: skipped stacks/Pulumi.dev.yaml" in err


def test_only_pulumi_files_is_one_clear_error(
    stacks: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "plan", "stacks/Pulumi.dev.yaml")
    assert code == 1
    assert "error: no spec among the files given: only Pulumi stack settings" in err
