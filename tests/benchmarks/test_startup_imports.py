"""What a command imports, and when (docs/performance.md): each step loads what it
needs when it needs it. Checked on ``sys.modules`` of real processes, never on time.

- ``reconciler --version`` and ``reconciler plan --help`` read no spec, plan nothing
  and send nothing: no spec models (pydantic, YAML), no planner (deepdiff), no journal,
  no renderer, nothing of apply;
- ``reconciler plan`` against the sandbox server has, when its first request leaves
  (the first ``socket.connect``, seen by an audit hook), loaded the client but not the
  spec's reader and models (pydantic, YAML), the planner, the journal or any renderer;
  and by its end it has loaded the renderer it used only, nothing of apply, and no
  journal records when the plan did not need the journal.
"""

from __future__ import annotations

import importlib
import os
import subprocess
from pathlib import Path

import pytest
from demo_spec import demo_spec
from module_probe import probe_argv, snapshots

from reconciler.sandbox.testing import SandboxServer

# Never needed to answer --version or --help.
NOT_FOR_HELP = (
    "httpx",
    "httpcore",
    "pydantic",
    "yaml",
    "marked_yaml",
    "deepdiff",
    "rich",
    "starlette",
    "pulumi",
    "reconciler.core.spec",
    "reconciler.core.planner",
    "reconciler.core.diff",
    "reconciler.observe",
    "reconciler.journal",
    "reconciler.render",
    "reconciler.apply",
    "reconciler.cli.apply",
)

# Not needed before a plan's first request: what reads the spec, plans, records and
# shows comes after (the spec is parsed while the first answers are on their way).
NOT_BEFORE_FIRST_REQUEST = (
    "pydantic",
    "yaml",
    "marked_yaml",
    "reconciler.core.spec",
    "deepdiff",
    "rich",
    "reconciler.core.planner",
    "reconciler.core.diff",
    "reconciler.core.planfile",
    "reconciler.journal.records",
    "reconciler.journal.writer",
    "reconciler.render",
    "reconciler.apply",
    "reconciler.cli.apply",
)

# Never needed by `plan --format text` of a plan that does not need the journal (deepdiff
# only says what moved under an apply: essences are compared field by field).
NOT_FOR_TEXT_PLAN = (
    "deepdiff",
    "rich",
    "starlette",
    "pulumi",
    "reconciler.render.json",
    "reconciler.render.markdown",
    "reconciler.core.planfile",
    "reconciler.journal.records",
    "reconciler.journal.writer",
    "reconciler.journal.lock",
    "reconciler.journal.reader",
    "reconciler.apply",
    "reconciler.cli.apply",
    "reconciler.cli.services",
)

SPEC = demo_spec(("example.net",), endpoint="sandbox")


def loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    """The modules of ``modules`` that are one of ``packages`` or inside one."""
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)]


def probe(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> dict[str, list[str]]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        probe_argv(out, argv),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode in (0, 2), done.stderr
    return snapshots(out)


@pytest.mark.parametrize("argv", [("--version",), ("plan", "--help")], ids=" ".join)
def test_version_and_plan_help_load_no_spec_planner_journal_or_renderer(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    seen = probe(tmp_path, *argv)
    assert loaded(seen["exit"], ("click",)), "the probe did not run the CLI"
    assert loaded(seen["exit"], NOT_FOR_HELP) == []


def test_version_does_not_load_the_commands(tmp_path: Path) -> None:
    modules = probe(tmp_path, "--version")["exit"]
    assert loaded(modules, ("reconciler.cli.plan", "reconciler.ovh", "httpx")) == []


def test_plan_sends_its_first_request_before_loading_the_spec_reader_planner_and_renderers(
    tmp_path: Path, sandbox_server: SandboxServer
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OVH_", "RECONCILER_"))}
    env |= {
        "OVH_APPLICATION_KEY": sandbox_server.application_key,
        "OVH_APPLICATION_SECRET": sandbox_server.application_secret,
        "OVH_CONSUMER_KEY": sandbox_server.consumer_key,
        "RECONCILER_STATE_DIR": str(tmp_path / "state"),
    }
    argv = ("plan", str(spec), "--endpoint", sandbox_server.url, "--detailed-exitcode")
    seen = probe(tmp_path, *argv, env=env)

    before = seen["first_request"]
    # What the first request needs is there (so the snapshot is the right moment)...
    assert loaded(before, ("reconciler.ovh.client",)) and loaded(before, ("httpx",))
    # ...and what only the answer needs is not.
    assert loaded(before, NOT_BEFORE_FIRST_REQUEST) == []

    after = seen["exit"]
    assert loaded(after, ("reconciler.core.planner", "reconciler.render.text"))  # it planned
    assert loaded(after, NOT_FOR_TEXT_PLAN) == []


def test_the_journal_package_gives_every_name_of_its_modules() -> None:
    """The package loads its names lazily; each is the object its module defines
    (``runs`` the function, not a module of that name)."""
    journal = importlib.import_module("reconciler.journal")
    for name in journal.__all__:
        value = getattr(journal, name)
        home = importlib.import_module(f"reconciler.journal.{journal._HOMES[name]}")
        assert value is getattr(home, name), name
    assert callable(journal.runs) and not isinstance(journal.runs, type(journal))
    assert sorted(journal.__all__) == sorted(journal._HOMES)
    with pytest.raises(AttributeError):
        _ = journal.no_such_name
