"""Where the OVH API lives: the endpoint table, and the checks on an explicit URL.

Pure (no HTTP): the spec loader validates ``endpoint:`` with it, the client connects with
it. The names and URLs are those of the official python client; ``sandbox`` is the
embedded local OVH API (docs/sandbox.md), run in-process with no account.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from reconciler.errors import ConfigError

SANDBOX = "sandbox"

ENDPOINTS: dict[str, str] = {
    "ovh-eu": "https://eu.api.ovh.com/1.0",
    "ovh-ca": "https://ca.api.ovh.com/1.0",
    "ovh-us": "https://api.us.ovhcloud.com/1.0",
    "kimsufi-eu": "https://eu.api.kimsufi.com/1.0",
    "kimsufi-ca": "https://ca.api.kimsufi.com/1.0",
    "soyoustart-eu": "https://eu.api.soyoustart.com/1.0",
    "soyoustart-ca": "https://ca.api.soyoustart.com/1.0",
}

# OAuth2 client-credentials token URLs; kimsufi and soyoustart have none.
OAUTH2_TOKEN_URLS: dict[str, str] = {
    "ovh-eu": "https://www.ovh.com/auth/oauth2/token",
    "ovh-ca": "https://ca.ovh.com/auth/oauth2/token",
    "ovh-us": "https://us.ovhcloud.com/auth/oauth2/token",
}

# The base URL the embedded sandbox is reached at (in-process; never on the network).
SANDBOX_BASE_URL = "http://sandbox.invalid/1.0"

KNOWN_NAMES = (*ENDPOINTS, SANDBOX)


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # "ovh-eu", "sandbox", or the URL itself
    base_url: str  # ends with the API version, no trailing slash: ".../1.0"
    oauth2_token_url: str | None = None

    @property
    def embedded(self) -> bool:
        return self.name == SANDBOX


def resolve_endpoint(value: str) -> Endpoint:
    """An endpoint from a name of the table, ``sandbox``, or an explicit URL.

    A URL must be ``https://``, or ``http://`` on a loopback address only (a sandbox
    server started with ``reconciler sandbox serve``): credentials are never sent in
    clear over a network. A URL without a path gets ``/1.0``.
    """
    name = value.strip()
    if name == SANDBOX:
        return Endpoint(name=SANDBOX, base_url=SANDBOX_BASE_URL)
    if name in ENDPOINTS:
        return Endpoint(
            name=name, base_url=ENDPOINTS[name], oauth2_token_url=OAUTH2_TOKEN_URLS.get(name)
        )
    problem = url_problem(name)
    if problem:
        raise ConfigError(f"endpoint {value!r}: {problem}", hint=ENDPOINT_HINT)
    base = name.rstrip("/")
    if not urlsplit(base).path:
        base += "/1.0"
    return Endpoint(name=name, base_url=base)


ENDPOINT_HINT = (
    "use one of " + ", ".join(KNOWN_NAMES) + ", or an https:// URL (http:// only on loopback)"
)


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an acceptable endpoint URL, or None when it is."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not a known endpoint name nor an http(s) URL"
    if parts.username or parts.password:
        return "credentials do not belong in the endpoint URL"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "plain http:// is allowed only on a loopback address; use https://"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
