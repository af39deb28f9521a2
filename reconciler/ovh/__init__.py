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

import sys


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

from reconciler.ovh.client import OvhClient, ReadStrategy  # noqa: E402
from reconciler.ovh.credentials import (  # noqa: E402
    Credentials,
    OAuth2Credentials,
    SignatureCredentials,
    resolve_credentials,
)
from reconciler.ovh.deadlines import Timeouts  # noqa: E402
from reconciler.ovh.limits import Bounds  # noqa: E402
from reconciler.ovh.retry import RetryPolicy  # noqa: E402

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
