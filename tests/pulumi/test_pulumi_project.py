"""``Pulumi.yaml`` and ``stacks/``, as the Pulumi CLI reads them (it cannot be installed
here: ``pulumi_rules`` applies its rules — the project file's checks, the stack files,
the validation of a stack's configuration), and the specs the stacks name, as
`reconciler` reads them."""

from __future__ import annotations

import ast
import importlib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_rules import (
    PulumiRefusal,
    find_project,
    load_project,
    load_stack,
    merged_config,
    program_directory,
    program_file,
    program_virtualenv,
    provider_virtualenv,
    stack_file,
)

from reconciler.cli import main
from reconciler.core.spec import load_spec
from reconciler.pulumi.program import SECRET_KEYS
from reconciler.pulumi.settings import CREDENTIAL_KEYS, TOKENS_KEY, Settings

ROOT = Path(__file__).resolve().parents[2]
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))


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
    # Pulumi runs the program, and starts the dynamic provider's host, in `main`'s
    # directory; the language host finds `virtualenv` from the project directory, the
    # provider's host from its own working directory: the two agree only when `main`
    # sits beside Pulumi.yaml. Elsewhere, the provider's host finds no virtualenv.
    project = load_project(ROOT / "Pulumi.yaml")
    pwd, entry = program_directory(project)
    assert (pwd, entry) == (ROOT, "__main__.py")
    assert program_file(pwd, entry) == main_file
    assert provider_virtualenv(project, pwd) == program_virtualenv(project) == ROOT / ".venv"
    assert set(PROJECT) <= {
        "name", "runtime", "description", "main", "stackConfigDir", "config",
    }  # fmt: skip


def test_every_config_key_is_declared_as_pulumi_allows() -> None:
    project = load_project(ROOT / "Pulumi.yaml")  # Pulumi's own checks of the file
    config: dict[str, Any] = PROJECT["config"]
    for key, declaration in config.items():
        assert ":" not in key, f"{key}: the project's own keys are written without namespace"
        assert declaration["description"].strip(), key
        # Every key has a default: a stack sets only what it needs.
        assert project.config[key].default is not None, key
    # Every key the program or the provider reads is declared.
    read = {"spec", "services", "endpoint", "journal", "tokenTimeout", "readCacheSeconds"}
    read |= {TOKENS_KEY}
    assert read | set(CREDENTIAL_KEYS) == set(config)
    # The secrets are untyped: a typed secret with a default fails every stack that does
    # not set it (see test_pulumi_refuses_a_typed_secret_left_at_its_default); the
    # program refuses them in clear instead.
    untyped = {key for key, declaration in config.items() if "type" not in declaration}
    assert untyped == set(SECRET_KEYS)
    assert untyped == {"applicationSecret", "consumerKey", "clientSecret", "deletionTokens"}
    assert not any(declaration.get("secret") for declaration in config.values())


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda path: path.name)
def test_each_stack_passes_pulumis_validation_of_its_configuration(path: Path) -> None:
    project = load_project(find_project(ROOT / "stacks"))
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    assert stack_file(project, stack) == path
    loaded = load_stack(project, path)
    assert loaded.warnings == []
    merged = merged_config(project, stack, loaded)
    assert merged["reconciler:spec"].text == f"stacks/{stack}.yaml"
    assert {key.partition(":")[2] for key in merged} == set(project.config)
    # What the defaults mean to the provider: the command line's own defaults.
    settings = Settings.from_config({key: value.text for key, value in merged.items()})
    assert settings == Settings()


def test_a_stack_setting_only_its_spec_passes_and_one_setting_nothing_names_no_spec(
    tmp_path: Path,
) -> None:
    project = load_project(ROOT / "Pulumi.yaml")
    only_spec = tmp_path / "Pulumi.ci.yaml"
    only_spec.write_text("config:\n  reconciler:spec: stacks/ci.yaml\n", encoding="utf-8")
    merged = merged_config(project, "ci", load_stack(project, only_spec))
    assert merged["reconciler:spec"].text == "stacks/ci.yaml"
    assert merged["reconciler:tokenTimeout"].text == "30min"
    assert merged["reconciler:readCacheSeconds"].text == "30"
    # A stack that sets nothing passes Pulumi too: the program then says what to set.
    empty = merged_config(project, "new", load_stack(project, tmp_path / "Pulumi.new.yaml"))
    assert empty["reconciler:spec"].text == empty["reconciler:services"].text == ""


def test_pulumis_rules_as_applied_here_refuse_what_pulumi_refuses(tmp_path: Path) -> None:
    """The checker's own test: the refusals the Pulumi CLI gives (its words), so that a
    project passing it would pass Pulumi."""
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text("config:\n  demo:spec: a.yaml\n", encoding="utf-8")

    def project(config: str) -> Any:
        path = tmp_path / "Pulumi.yaml"
        path.write_text(f"name: demo\nruntime: python\nconfig:\n{config}", encoding="utf-8")
        return load_project(path)

    required = project("  spec: {type: string}\n  journal: {type: string}\n  n: {type: integer}\n")
    with pytest.raises(PulumiRefusal) as missing:
        merged_config(required, "dev", load_stack(required, stack))
    assert str(missing.value) == "Stack 'dev' is missing configuration values 'journal' and 'n'"
    shorthand = project("  spec: {type: string}\n  journal: ''\n")
    assert merged_config(shorthand, "dev", load_stack(shorthand, stack))["demo:journal"].text == ""
    with pytest.raises(PulumiRefusal, match="is not of the expected type 'integer'"):
        project("  n: {type: integer, default: soon}\n")
    with pytest.raises(PulumiRefusal, match="should not define a type"):
        project("  aws:region: {type: string, value: eu-west-3}\n")
    wrong = project("  spec: {type: integer, default: 1}\n")
    with pytest.raises(PulumiRefusal, match="key 'spec' must be of type 'integer'"):
        merged_config(wrong, "dev", load_stack(wrong, stack))


def test_pulumi_refuses_a_typed_secret_left_at_its_default(tmp_path: Path) -> None:
    """Why Pulumi.yaml declares the secrets without a type: Pulumi merges the default in
    clear, then refuses a typed secret that is not encrypted."""
    path = tmp_path / "Pulumi.yaml"
    path.write_text(
        "name: demo\nconfig:\n  consumerKey: {type: string, secret: true, default: ''}\n",
        encoding="utf-8",
    )
    project = load_project(path)
    with pytest.raises(PulumiRefusal, match="'consumerKey' must be encrypted as it's secret"):
        merged_config(project, "dev", load_stack(project, tmp_path / "Pulumi.dev.yaml"))
    encrypted = tmp_path / "Pulumi.prod.yaml"
    encrypted.write_text("config:\n  demo:consumerKey: {secure: v1:abc}\n", encoding="utf-8")
    assert merged_config(project, "prod", load_stack(project, encrypted))["demo:consumerKey"].secure


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
