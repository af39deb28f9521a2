"""The embedded ``sandbox`` endpoint: the local OVH API sandbox run in-process.

``endpoint: sandbox`` needs no server and no account: the sandbox's ASGI app is mounted
under the client with ``httpx.ASGITransport``, its state kept in ``sandbox.db`` of the
state directory (``$RECONCILER_STATE_DIR``, else ``.reconciler/`` in the working
directory), seeded with the demo account on first use. ``reconciler.sandbox`` is
imported here only, and only when this endpoint is used (it pulls in starlette).
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


def state_dir(environ: Mapping[str, str], cwd: Path) -> Path:
    """Where reconciler keeps local state (the embedded sandbox, the journal)."""
    configured = environ.get(STATE_DIR_ENV, "").strip()
    return Path(configured) if configured else cwd / DEFAULT_STATE_DIR


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
