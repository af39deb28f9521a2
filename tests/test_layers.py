"""The layers of docs/architecture.md, enforced: imports only go downwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"

PURE_CORE = {
    "reconciler.planner",
    "reconciler.diff",
    "reconciler.rules",
    "reconciler.plan",
    "reconciler.planfile",
    "reconciler.spec",
    "reconciler.live",
    "reconciler.clock",
    "reconciler.errors",
    "reconciler.endpoints",
    "reconciler.periods",
    "reconciler.specyaml",
    "reconciler.adopt",
    "reconciler.access",
    "reconciler.apply.approval",
    "reconciler.apply.steps",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module imported anywhere in the file (top level or inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top_level_imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def _in(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_go_downwards(path: Path) -> None:
    name = module_name(path)
    imported = imports_of(path)
    if _in(name, "reconciler.sandbox"):
        leaks = {m for m in imported if _in(m, "reconciler") and not _in(m, "reconciler.sandbox")}
        assert not leaks, f"the sandbox must import nothing of reconciler: {leaks}"
    if name in PURE_CORE or _in(name, "reconciler.render"):
        effects = {
            m
            for m in imported
            if _in(m, "httpx", "reconciler.ovh", "reconciler.apply", "reconciler.cli")
            or _in(m, "reconciler.observe", "reconciler.journal", "reconciler.pulumi")
            or _in(m, "reconciler.sandbox", "pulumi", "starlette", "uvicorn")
        }
        assert not effects, f"{name} is pure; it must not import {effects}"
    if not _in(name, "reconciler.ovh"):
        assert "httpx" not in {m.split(".")[0] for m in imported}, (
            f"{name}: only reconciler.ovh imports httpx"
        )
    if not _in(name, "reconciler.pulumi"):
        assert not any(_in(m, "pulumi") for m in imported), f"{name}: only reconciler.pulumi"


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
