"""``Pulumi.yaml`` and ``stacks/``, as the Pulumi CLI will read them (it cannot be
installed here: the files are checked against what Pulumi's project schema allows, as
documented in docs/pulumi.md), and the specs the stacks name, as `reconciler` reads
them."""

from __future__ import annotations

import ast
import importlib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import main
from reconciler.core.spec import load_spec
from reconciler.pulumi.settings import CREDENTIAL_KEYS

ROOT = Path(__file__).resolve().parents[2]
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
# What Pulumi's project schema allows in a config declaration, and its simple types.
DECLARATION_KEYS = {"type", "description", "secret", "default", "items", "value"}
CONFIG_TYPES = {"string", "integer", "boolean", "array"}


def test_the_project_file_runs_the_program_in_the_projects_virtualenv() -> None:
    assert PROJECT["name"] == "reconciler"
    assert PROJECT["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }
    assert PROJECT["stackConfigDir"] == "stacks"
    assert (ROOT / PROJECT["stackConfigDir"]).is_dir()
    main_file = ROOT / PROJECT["main"]
    assert main_file.is_file() and main_file.suffix == ".py"
    # Pulumi runs `main` as __main__; imported, it does nothing but call the program.
    tree = ast.parse(main_file.read_text(encoding="utf-8"))
    guarded = [node for node in tree.body if isinstance(node, ast.If)]
    assert len(guarded) == 1 and ast.unparse(guarded[0].test) == "__name__ == '__main__'"
    assert "run()" in ast.unparse(guarded[0])
    assert set(PROJECT) <= {
        "name", "runtime", "description", "main", "stackConfigDir", "config",
    }  # fmt: skip


def test_every_config_key_is_declared_as_pulumi_allows() -> None:
    config: dict[str, Any] = PROJECT["config"]
    for key, declaration in config.items():
        assert ":" not in key, f"{key}: the project's own keys are written without namespace"
        assert set(declaration) <= DECLARATION_KEYS, key
        assert declaration["type"] in CONFIG_TYPES, key
        assert declaration["description"].strip(), key
    # Every key the program or the provider reads is declared; secrets are marked so.
    read = {"spec", "services", "endpoint", "journal", "tokenTimeout", "readCacheSeconds"}
    assert read | set(CREDENTIAL_KEYS) == set(config)
    secret = {key for key, declaration in config.items() if declaration.get("secret")}
    assert secret == {"applicationSecret", "consumerKey", "clientSecret"}


def test_the_stacks_name_valid_specs_and_hold_no_secret_in_clear() -> None:
    assert [path.name for path in STACK_FILES] == ["Pulumi.dev.yaml", "Pulumi.prod.yaml"]
    declared = set(PROJECT["config"])
    endpoints = {}
    for path in STACK_FILES:
        settings = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(settings) <= {"config", "secretsprovider", "encryptedkey", "encryptionsalt"}
        for key, value in settings["config"].items():
            namespace, _, name = key.partition(":")
            assert namespace == "reconciler" and name in declared, key
            if PROJECT["config"][name].get("secret"):
                assert isinstance(value, dict) and set(value) == {"secure"}, key
        spec = load_spec(ROOT / settings["config"]["reconciler:spec"])
        assert spec.services, path
        endpoints[path.name] = spec.endpoint
    assert endpoints == {"Pulumi.dev.yaml": "sandbox", "Pulumi.prod.yaml": "ovh-eu"}


def specs_under_stacks() -> list[str]:
    """What `stacks/*.yaml` means to the recipes: the specs, Pulumi's settings left out
    (bash's GLOBIGNORE="stacks/Pulumi.*.yaml", examples/ci/)."""
    return sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "stacks").glob("*.yaml")
        if not path.name.startswith("Pulumi.")
    )


def test_reconciler_validates_and_plans_the_stacks_specs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    for name in list(os.environ):
        if name.startswith(("OVH_", "RECONCILER_")):
            monkeypatch.delenv(name)
    specs = specs_under_stacks()
    assert specs == ["stacks/dev.yaml", "stacks/prod.yaml"]
    with pytest.raises(SystemExit) as validated:
        main(["validate", *specs])
    assert validated.value.code == 0, capsys.readouterr().err
    assert capsys.readouterr().out.splitlines() == [
        "stacks/dev.yaml: ok (6 services)",
        "stacks/prod.yaml: ok (4 services)",
    ]
    # The dev stack's spec plans on the embedded sandbox, refusing nothing: `pulumi up
    # --stack dev` can apply it.
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as planned:
        main(["plan", "stacks/dev.yaml", "--detailed-exitcode", "--no-color"])
    out = capsys.readouterr().out
    assert planned.value.code == 2, out
    assert "0 refused" in out


def test_the_pulumi_package_stays_above_apply_and_is_the_only_one_importing_pulumi() -> None:
    """docs/architecture.md: the Pulumi adapter may import apply and below, never the
    command line; nothing but the adapter imports pulumi (tests/test_layers.py)."""
    package = ROOT / "reconciler" / "pulumi"
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("reconciler.cli"), path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("reconciler.cli") for a in node.names), path
    for name in ("inputs", "settings", "operations"):
        module = importlib.import_module(f"reconciler.pulumi.{name}")
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        assert "import pulumi" not in source and "from pulumi" not in source, name
