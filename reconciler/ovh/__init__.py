"""The OVH API client: the only package of reconciler that imports httpx.

- ``credentials``: where the credentials come from (``OVH_*``, ovh.conf), hidden from reprs;
- ``auth``: OVH request signing and OAuth2, as ``httpx.Auth`` subclasses;
- ``responses``: answers into values or into ``reconciler.errors`` (both body styles);
- ``client``: ``OvhClient`` — layered sending, bounded concurrency, the API's clock,
  Iceberg reads with a per-id fallback;
- ``retry``: the one retry decision (``decide``), shared with apply's session;
- ``deadlines``, ``limits``: how long the client waits, and how much of an answer it takes;
- ``embedded``: the in-process ``sandbox`` endpoint.
"""

import importlib
import sys
from typing import TYPE_CHECKING, Any


def _skip_unused_imports() -> None:
    """Start-up and per-request costs of our HTTP stack that buy us nothing.

    - ``import httpx`` imports httpx's own command-line tool (``httpx._main``: rich,
      click, pygments): about 100 ms at every start of reconciler, and rich in
      ``reconciler plan``, which docs/architecture.md rules out. We never use that tool;
      marked absent, httpx falls back to its stub ``httpx.main``.

    (httpcore imports ``sniffio`` on every request, and a failed import walks
    ``sys.path`` each time: sniffio is therefore a dependency of ours, not a hack.)

    This only records what is true of this process, and only before httpx is loaded.
    """
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


_skip_unused_imports()

# The package's names load on first use: ``reconciler.ovh.options`` (what a command
# line shows) must not pull the HTTP stack in with it.
_HOME = {
    "Bounds": "reconciler.ovh.limits",
    "Credentials": "reconciler.ovh.credentials",
    "OAuth2Credentials": "reconciler.ovh.credentials",
    "OvhClient": "reconciler.ovh.client",
    "ReadStrategy": "reconciler.ovh.options",
    "RetryPolicy": "reconciler.ovh.retry",
    "SignatureCredentials": "reconciler.ovh.credentials",
    "Timeouts": "reconciler.ovh.deadlines",
    "resolve_credentials": "reconciler.ovh.credentials",
}

if TYPE_CHECKING:
    from reconciler.ovh.client import OvhClient
    from reconciler.ovh.credentials import (
        Credentials,
        OAuth2Credentials,
        SignatureCredentials,
        resolve_credentials,
    )
    from reconciler.ovh.deadlines import Timeouts
    from reconciler.ovh.limits import Bounds
    from reconciler.ovh.options import ReadStrategy
    from reconciler.ovh.retry import RetryPolicy


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'reconciler.ovh' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


__all__ = [
    "Bounds",
    "Credentials",
    "OAuth2Credentials",
    "OvhClient",
    "ReadStrategy",
    "RetryPolicy",
    "SignatureCredentials",
    "Timeouts",
    "resolve_credentials",
]
