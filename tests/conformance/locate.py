"""Where the copy of OVH's published schemas is, and what to say when there is none.

The files are OVH's, never committed here. The tests read them from the folder named by
``OVH_API_SCHEMAS``, else from ``../shared/ovh-api-schemas/`` next to the repository;
with neither, they are skipped with ``missing_reason()``, which says where they looked
and how to get a copy (``python -m tests.conformance.fetch_schemas --into DIR``).
"""

from __future__ import annotations

import os
from pathlib import Path

ENVIRONMENT_VARIABLE = "OVH_API_SCHEMAS"
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FOLDER = REPOSITORY_ROOT.parent / "shared" / "ovh-api-schemas"
FETCH_COMMAND = "python -m tests.conformance.fetch_schemas --into DIR"


def candidate_folder(environ: dict[str, str] | None = None) -> Path:
    """The folder the schemas are looked for in: ``OVH_API_SCHEMAS`` when set (and not
    empty), else ``../shared/ovh-api-schemas/`` relative to the repository root."""
    environ = dict(os.environ) if environ is None else environ
    named = environ.get(ENVIRONMENT_VARIABLE, "").strip()
    return Path(named).expanduser() if named else DEFAULT_FOLDER


def schema_folder(environ: dict[str, str] | None = None) -> Path | None:
    """The folder holding at least one schema file (``*.json``), or None."""
    folder = candidate_folder(environ)
    if folder.is_dir() and any(folder.glob("*.json")):
        return folder
    return None


def missing_reason(environ: dict[str, str] | None = None) -> str:
    """The skip reason when no copy is found: where we looked, and how to get one."""
    environ = dict(os.environ) if environ is None else environ
    looked = candidate_folder(environ)
    how = (
        f"{ENVIRONMENT_VARIABLE}={environ[ENVIRONMENT_VARIABLE]!r}"
        if environ.get(ENVIRONMENT_VARIABLE, "").strip()
        else f"{ENVIRONMENT_VARIABLE} unset, so the default"
    )
    return (
        f"OVH's published API schemas not found in {looked} ({how}); download a copy "
        f"with `{FETCH_COMMAND}` and set {ENVIRONMENT_VARIABLE}=DIR (docs/conformance.md)"
    )
