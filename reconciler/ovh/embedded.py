"""The embedded ``sandbox`` endpoint: the local OVH API sandbox run in-process.

``endpoint: sandbox`` needs no server and no account: the sandbox's ASGI app is mounted
under the client with ``httpx.ASGITransport``, its state kept in ``sandbox.db`` of the
state directory, seeded with the demo account on first use. ``reconciler.sandbox`` is
imported here only, and only when this endpoint is used (it pulls in starlette).

The state directory is ``$RECONCILER_STATE_DIR`` when set; else, for a command with a
spec, the ``.reconciler/`` of the spec's project (``spec_state_dir``), so that a plan
made in one directory and applied from another meets the same demo account; else, for a
command without a spec, the nearest ``.reconciler/`` of the working directory's project
(``working_state_dir``), as git finds ``.git``; else ``.reconciler/`` in the working
directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx

from reconciler.errors import ConfigError
from reconciler.ovh.credentials import SignatureCredentials

STATE_DIR_ENV = "RECONCILER_STATE_DIR"
DEFAULT_STATE_DIR = ".reconciler"
DATABASE = "sandbox.db"
# What marks the top of a project, above which a spec's state directory is not looked
# for: a Pulumi project (whose program keeps its state there too) or a repository.
PROJECT_MARKERS = ("Pulumi.yaml", ".git")


def state_dir(environ: Mapping[str, str], cwd: Path) -> Path:
    """Where reconciler keeps local state (the embedded sandbox, the journal)."""
    configured = environ.get(STATE_DIR_ENV, "").strip()
    return Path(configured) if configured else cwd / DEFAULT_STATE_DIR


def spec_state_dir(environ: Mapping[str, str], cwd: Path, spec_file: Path) -> Path | None:
    """The state directory of the project ``spec_file`` belongs to, when it is another
    than ``state_dir(environ, cwd)`` gives; None when that one is it.

    ``$RECONCILER_STATE_DIR`` always wins. Else the project's ``.reconciler/`` is the
    nearest existing one from the spec's directory upwards: up to the working directory
    when the spec is inside it, else up to the top of the spec's project (the first
    directory holding ``Pulumi.yaml`` or ``.git``; without one, the spec's directory
    only, so that a stray ``/tmp/.reconciler`` never captures a spec). With none yet, it
    is created where it always was for a spec inside the working directory (the working
    directory's), else at the top of the spec's project."""
    if environ.get(STATE_DIR_ENV, "").strip():
        return None
    here = cwd.resolve()
    found = _project_state_dir((here / spec_file).resolve().parent, here)
    return None if found == here / DEFAULT_STATE_DIR else found


def working_state_dir(environ: Mapping[str, str], cwd: Path) -> Path:
    """The state directory of a command without a spec (``services``, ``journal``,
    ``sandbox ...``) run in ``cwd``: ``$RECONCILER_STATE_DIR`` when set; else, as git
    finds ``.git``, the nearest existing ``.reconciler/`` from ``cwd`` upwards, up to the
    top of its project (as ``spec_state_dir`` bounds a spec outside the working
    directory: without a project marker, ``cwd`` only); else ``cwd``'s, as always."""
    if environ.get(STATE_DIR_ENV, "").strip():
        return state_dir(environ, cwd)
    found = _nearest_state_dir(_up_to_project_top(cwd.resolve()))
    return found if found is not None else state_dir(environ, cwd)


def _project_state_dir(spec_dir: Path, cwd: Path) -> Path:
    if spec_dir == cwd or cwd in spec_dir.parents:
        upwards = [spec_dir, *spec_dir.parents]
        candidates = upwards[: upwards.index(cwd) + 1]
        home = cwd
    else:
        candidates = _up_to_project_top(spec_dir)
        home = candidates[-1]
    found = _nearest_state_dir(candidates)
    return found if found is not None else home / DEFAULT_STATE_DIR


def _up_to_project_top(directory: Path) -> list[Path]:
    """``directory`` and its parents up to the top of its project, the first holding a
    ``PROJECT_MARKERS`` file; ``directory`` alone outside any project, so that a stray
    ``/tmp/.reconciler`` never captures it."""
    upwards = [directory, *directory.parents]
    top = next(
        (i for i, d in enumerate(upwards) if any((d / m).exists() for m in PROJECT_MARKERS)),
        0,
    )
    return upwards[: top + 1]


def _nearest_state_dir(candidates: list[Path]) -> Path | None:
    """The state directory in the first of ``candidates`` that has one."""
    for directory in candidates:
        if (directory / DEFAULT_STATE_DIR).is_dir():
            return directory / DEFAULT_STATE_DIR
    return None


def has_account(directory: Path) -> bool:
    """Whether the embedded sandbox in ``directory`` has its account already (else the
    first use seeds a fresh demo account there)."""
    return (directory / DATABASE).is_file()


def transport(directory: Path) -> httpx.AsyncBaseTransport:
    """The in-process transport to the embedded sandbox kept in ``directory``."""
    from reconciler import sandbox

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the state directory {directory}: {exc.strerror or exc}",
            hint=f"set {STATE_DIR_ENV} to a writable directory",
        ) from None
    try:
        app = sandbox.embedded_app(directory / DATABASE)
    except sandbox.SandboxError as exc:
        # A corrupt or unwritable state file: the embedded sandbox is the user's local
        # rehearsal account, so say where it is and how to start it afresh.
        raise ConfigError(
            f"the embedded sandbox cannot start: {exc}",
            hint=f"move {directory / DATABASE} aside (or delete it) to start again from the "
            f"demo account, or set {STATE_DIR_ENV} to another directory",
        ) from None
    return httpx.ASGITransport(app=app)


def demo_credentials() -> SignatureCredentials:
    """The demo account's credentials, used when none are configured for the sandbox."""
    from reconciler import sandbox

    demo = sandbox.DEMO_CREDENTIALS
    return SignatureCredentials(
        application_key=demo["application_key"],
        application_secret=demo["application_secret"],
        consumer_key=demo["consumer_key"],
        source="the embedded sandbox's demo account",
    )
