"""What the Pulumi CLI does with a project before it runs a program, restated here from
its documented behaviour and its sources (the CLI cannot be installed where reconciler
is developed, so the tests apply these rules themselves):

- reading ``Pulumi.yaml``: the keys a config declaration may hold, the shorthand form
  (``key: value`` is a default for the project's own keys, a fixed value for another
  namespace's), and the checks of each declaration (a default of its type, an array with
  its ``items``, no type or default on another namespace's key);
- the stack's settings file: ``<stackConfigDir>/Pulumi.<stack>.yaml``, next to
  ``Pulumi.yaml``; keys without a namespace belong to the project;
- merging and validating a stack's configuration before a preview or an update: a
  project key without ``default``/``value`` that the stack does not set makes the stack
  "missing configuration values"; defaults are merged in as plain values; then every
  typed key's value is checked against its type, and a typed ``secret`` key must be
  encrypted (a merged default is not, so such a key can never be left unset);
- where the program runs: the project directory when ``main`` is absent, else the
  directory ``main`` names, or the directory of the file it names (the program then
  is that file); the dynamic provider's host is started in that same directory, and
  resolves a relative ``virtualenv`` from it, while the language host resolves it from
  the project directory;
- finding the project: the nearest ``Pulumi.yaml`` (``.yml``, ``.json``) upwards.

Each function raises ``PulumiRefusal`` with the words the CLI uses where it refuses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml", "Pulumi.json")
# What a project file may hold at its top level (its schema lets more through: these
# are the ones it describes).
PROJECT_KEYS = {
    "name", "description", "author", "website", "license", "runtime", "main", "config",
    "stackConfigDir", "backend", "options", "template", "packages", "plugins",
}  # fmt: skip
DECLARATION_KEYS = {"type", "items", "description", "secret", "default", "value"}
TYPES = {"string", "integer", "boolean", "array", "object"}
STACK_KEYS = {"secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment"}


class PulumiRefusal(Exception):
    """What the Pulumi CLI would stop with."""


@dataclass(frozen=True)
class Declaration:
    type: str | None = None
    items: Mapping[str, Any] | None = None
    default: Any = None
    value: Any = None
    secret: bool = False
    description: str = ""


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    main: str | None
    stack_config_dir: str | None
    runtime_options: Mapping[str, Any]
    config: Mapping[str, Declaration]


@dataclass(frozen=True)
class StackValue:
    """One value of a stack's settings: text (a scalar), an object (JSON text), or
    encrypted (``secure:``)."""

    text: str
    secure: bool = False
    is_object: bool = False


@dataclass
class StackConfig:
    values: dict[str, StackValue] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def find_project(start: Path) -> Path:
    """The project file the CLI uses when run in ``start``."""
    for directory in (start, *start.parents):
        for name in PROJECT_FILES:
            if (directory / name).is_file():
                return directory / name
    raise PulumiRefusal(f"no Pulumi.yaml project file found (searching upwards from {start})")


def load_project(path: Path) -> Project:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not raw.get("name"):
        raise PulumiRefusal("project is missing a 'name' attribute")
    unknown = set(raw) - PROJECT_KEYS
    if unknown:
        raise PulumiRefusal(f"could not validate '{path}': unknown keys {sorted(unknown)}")
    name = str(raw["name"])
    runtime = raw.get("runtime")
    options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
    config_raw = raw.get("config") or {}
    stack_dir = raw.get("stackConfigDir")
    if isinstance(config_raw, str):  # the old spelling of stackConfigDir
        if stack_dir:
            raise PulumiRefusal("Should not use both config and stackConfigDir")
        stack_dir, config_raw = config_raw, {}
    declarations = {key: _declaration(name, key, value) for key, value in dict(config_raw).items()}
    return Project(path.parent, name, raw.get("main"), stack_dir, options, declarations)


def _own(project_name: str, key: str) -> bool:
    return ":" not in key or key.startswith(project_name + ":")


def _declaration(project_name: str, key: str, raw: Any) -> Declaration:
    if not isinstance(raw, dict):  # the shorthand
        if not isinstance(raw, str | int | bool | list):
            raise PulumiRefusal(f"could not validate: config '{key}' is {raw!r}")
        return Declaration(default=raw) if _own(project_name, key) else Declaration(value=raw)
    unknown = set(raw) - DECLARATION_KEYS
    if unknown:
        raise PulumiRefusal(f"could not validate: config '{key}' holds {sorted(unknown)}")
    declaration = Declaration(
        type=raw.get("type"),
        items=raw.get("items"),
        default=raw.get("default"),
        value=raw.get("value"),
        secret=bool(raw.get("secret", False)),
        description=str(raw.get("description", "")),
    )
    if declaration.type is not None and declaration.type not in TYPES:
        raise PulumiRefusal(f"could not validate: config '{key}' has type {declaration.type!r}")
    if declaration.default is not None and declaration.value is not None:
        raise PulumiRefusal(
            f"project config '{key}' cannot have both a 'default' and 'value' attribute"
        )
    if _own(project_name, key):
        if declaration.type == "array" and declaration.items is None:
            raise PulumiRefusal(
                f"The configuration key '{key}' declares an array but does not specify "
                "the underlying type via the 'items' attribute"
            )
        if (
            declaration.type is not None
            and declaration.default is not None
            and not of_type(declaration.type, declaration.items, declaration.default)
        ):
            raise PulumiRefusal(
                f"The default value specified for configuration key '{key}' is not of "
                f"the expected type '{declaration.type}'"
            )
    else:
        if declaration.type is not None:
            raise PulumiRefusal(
                f"Configuration key '{key}' is not namespaced by the project and should "
                "not define a type"
            )
        if declaration.default is not None:
            raise PulumiRefusal(
                f"Configuration key '{key}' is not namespaced by the project and should "
                "not define a default value"
            )
        if declaration.value is None:
            raise PulumiRefusal(
                f"Configuration key '{key}' is namespaced and must provide an attribute 'value'"
            )
    return declaration


def of_type(type_name: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    """Pulumi's type check of a config value: stack values arrive as text, so an integer
    may be digits, a boolean ``true``/``false``."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        if isinstance(value, str):
            try:
                int(value)
            except ValueError:
                return False
            return True
        return False
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(of_type(items["type"], items.get("items"), item) for item in value)


def stack_file(project: Project, stack: str) -> Path:
    directory = project.root / project.stack_config_dir if project.stack_config_dir else None
    return (directory or project.root) / f"Pulumi.{stack}.yaml"


def load_stack(project: Project, path: Path) -> StackConfig:
    """A stack's settings; a missing file is an empty configuration (the CLI creates it
    on ``pulumi stack init``, with the secrets provider's ``encryptionsalt``)."""
    loaded = StackConfig()
    if not path.exists():
        return loaded
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if raw is None:
        return loaded
    if not isinstance(raw, dict) or set(raw) - STACK_KEYS:
        raise PulumiRefusal(f"{path}: a stack file holds only {sorted(STACK_KEYS)}")
    for key, value in (raw.get("config") or {}).items():
        full = key if ":" in key else f"{project.name}:{key}"
        if value is None:
            loaded.warnings.append(f'No value for configuration key "{full}"')
            value = ""
        loaded.values[full] = _stack_value(value)
    return loaded


def _stack_value(value: Any) -> StackValue:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return StackValue(str(value["secure"]), secure=True)
    if isinstance(value, dict | list):
        return StackValue(json.dumps(value), is_object=True)
    if isinstance(value, bool):
        return StackValue("true" if value else "false")
    return StackValue(str(value))


def merged_config(project: Project, stack: str, config: StackConfig) -> dict[str, StackValue]:
    """The configuration a preview or an update runs with, or the refusal the CLI stops
    with (``ValidateStackConfigAndApplyProjectConfig``'s rules)."""
    values = dict(config.values)
    missing: list[str] = []
    for key in sorted(project.config):
        declaration = project.config[key]
        full = key if ":" in key else f"{project.name}:{key}"
        if full in values:
            continue
        given = declaration.default if declaration.default is not None else declaration.value
        if given is None:
            if full.split(":", 1)[0] == project.name:
                missing.append(key)
            continue
        if isinstance(given, str | int | bool) and not isinstance(given, float):
            text = str(given).lower() if isinstance(given, bool) else str(given)
            values[full] = StackValue(text)
        else:
            values[full] = StackValue(json.dumps(given), is_object=True)
    if missing:
        shown = (
            f"'{missing[0]}'"
            if len(missing) == 1
            else ", ".join(f"'{key}'" for key in missing[:-1]) + f" and '{missing[-1]}'"
        )
        plural = "value" if len(missing) == 1 else "values"
        raise PulumiRefusal(f"Stack '{stack}' is missing configuration {plural} {shown}")
    for key in sorted(project.config):
        declaration = project.config[key]
        full = key if ":" in key else f"{project.name}:{key}"
        if declaration.type is None or full not in values:
            continue
        value = values[full]
        if declaration.secret and not value.secure:
            raise PulumiRefusal(
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        content: Any = json.loads(value.text) if value.is_object else value.text
        if not value.secure and not of_type(declaration.type, declaration.items, content):
            raise PulumiRefusal(
                f"Stack '{stack}' with configuration key '{key}' must be of type "
                f"'{declaration.type}'"
            )
    return values


def program_directory(project: Project) -> tuple[Path, str]:
    """Where the program runs and what is run there (``getPwdMain``): the project
    directory and ``.`` without ``main``; a directory ``main`` and ``.``; else the
    directory of the file ``main`` names, and that file's name."""
    if not project.main:
        return project.root, "."
    main = Path(project.main)
    main = main if main.is_absolute() else project.root / main
    if not main.exists():
        raise PulumiRefusal(f"project 'main' could not be read: {main}")
    if main.is_dir():
        return main, "."
    return main.parent, main.name


def program_file(pwd: Path, entry: str) -> Path:
    """The file Python's host runs as ``__main__`` (``runpy.run_path``): the entry, or
    the ``__main__.py`` of the directory it names."""
    path = pwd / entry
    return path / "__main__.py" if path.is_dir() else path


def provider_virtualenv(project: Project, pwd: Path) -> Path | None:
    """The virtualenv the dynamic provider's host runs in: the ``virtualenv`` runtime
    option, made absolute against the host's working directory (the program's)."""
    option = project.runtime_options.get("virtualenv")
    if not option:
        return None
    path = Path(str(option).rstrip("/"))
    return path if path.is_absolute() else pwd / path


def program_virtualenv(project: Project) -> Path | None:
    """The virtualenv the language host runs the program in: against the project
    directory."""
    option = project.runtime_options.get("virtualenv")
    if not option:
        return None
    path = Path(str(option))
    return path if path.is_absolute() else project.root / path
