"""The layers of docs/architecture.md, enforced: the import-linter contracts of
``pyproject.toml`` (``[tool.importlinter]``), and lazy imports of what start-up pays for."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reconciler"


def test_import_linter_contracts_are_kept(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    # import-linter configures logging with ``dictConfig``, which disables every logger
    # that exists already ("reconciler.ovh"...): the debug-log tests run after this one
    # would then see no record. Those loggers are enabled again as they were.
    enabled = [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.disabled
    ]
    try:
        code = lint_imports(
            config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True
        )
    finally:
        for logger in enabled:
            logger.disabled = False
    report = capsys.readouterr().out
    assert code == 0, report
    assert "0 broken" in report


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def top_level_imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _in(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_heavy_modules_are_imported_lazily(path: Path) -> None:
    """Start-up time counts: nothing outside the sandbox and the Pulumi adapter imports
    starlette, uvicorn or pulumi at module level, and only renderers of terminals and
    the services/apply commands touch rich (lazily)."""
    name = module_name(path)
    if _in(name, "reconciler.sandbox", "reconciler.pulumi"):
        return
    top = top_level_imports_of(path)
    heavy = {m for m in top if _in(m, "starlette", "uvicorn", "pulumi", "rich")}
    assert not heavy, f"{name} imports {heavy} at module level; import them where used"


def test_the_contracts_name_every_package() -> None:
    """A new subpackage must be placed in a layer, or the contracts say nothing of it."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    packages = {
        f"reconciler.{entry.stem}"
        for entry in PACKAGE.iterdir()
        if (entry.is_dir() and (entry / "__init__.py").exists())
        or (entry.suffix == ".py" and entry.stem not in ("__init__", "__main__"))
    }
    missing = sorted(p for p in packages if f'"{p}' not in text and f"| {p}" not in text)
    assert not missing, f"not in any import-linter contract: {missing}"
