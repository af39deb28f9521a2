"""Authenticating calls: OVH's request signature (an ``httpx.Auth``, so that every
request the client sends, retries included, is signed at the moment it leaves) and
OAuth2 client credentials (``OAuth2Tokens``: the bearer token the client asks for and
puts on its calls).

The signature is byte-for-byte the official python client's::

    "$1$" + sha1_hex(AS + "+" + CK + "+" + METHOD + "+" + url + "+" + body + "+" + timestamp)

where ``url`` is the full URL as sent (query string included), ``body`` the compact JSON
body or the empty string, and ``timestamp`` the API's time in unix seconds (the local
clock corrected by the delta to ``GET /auth/time``; the client supplies it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
from collections.abc import Callable, Generator, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from reconciler.clock import Clock
from reconciler.errors import (
    ApiError,
    ConfigError,
    HttpError,
    RateLimited,
    ServerError,
    Unauthorized,
)
from reconciler.ovh.credentials import OAuth2Credentials, SignatureCredentials
from reconciler.redaction import Secrets

MAX_TOKEN_LIFETIME = timedelta(days=1)  # an OAuth2 token is trusted this long at most


def signature(
    application_secret: str,
    consumer_key: str,
    method: str,
    url: str,
    body: str,
    timestamp: str,
) -> str:
    """The ``X-Ovh-Signature`` header of a call."""
    payload = "+".join((application_secret, consumer_key, method.upper(), url, body, timestamp))
    return "$1$" + hashlib.sha1(payload.encode("utf-8")).hexdigest()


class ApplicationKeyAuth(httpx.Auth):
    """Unsigned calls (``GET /auth/time``, ``POST /auth/credential``) still name the
    application, as the official client does."""

    def __init__(self, application_key: str) -> None:
        self._application_key = application_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Ovh-Application"] = self._application_key
        yield request


class OvhSignatureAuth(httpx.Auth):
    """Signs a call with the application secret and the consumer key."""

    requires_request_body = True

    def __init__(self, credentials: SignatureCredentials, timestamp: Callable[[], int]) -> None:
        if not credentials.consumer_key:
            raise ConfigError(
                "signed calls need a consumer key, and none is configured",
                hint="set OVH_CONSUMER_KEY (request one with `reconciler credentials request`)",
            )
        self._application_key = credentials.application_key
        self._application_secret = credentials.application_secret
        self._consumer_key: str = credentials.consumer_key
        self._timestamp = timestamp

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        now = str(self._timestamp())
        body = request.content.decode("utf-8")
        headers = request.headers
        headers["X-Ovh-Application"] = self._application_key
        headers["X-Ovh-Consumer"] = self._consumer_key
        headers["X-Ovh-Timestamp"] = now
        url = str(request.url)
        secret, consumer = self._application_secret, self._consumer_key
        headers["X-Ovh-Signature"] = signature(secret, consumer, request.method, url, body, now)
        yield request

    def __repr__(self) -> str:
        return "OvhSignatureAuth(<hidden>)"


class OAuth2Tokens:
    """OAuth2 client credentials (scope ``all``): the bearer token shared by every call of
    a client, what to ask the token endpoint for one, and how to read its answer.

    The client sends the token request itself, as any other request (its deadline, its
    bounds, its retries): this class does no I/O. A token is refreshed shortly before it
    expires (``REFRESH_MARGIN``, or a tenth of its life when that is shorter), and once
    when the API answers 401 to it (``forget``). Every token learnt and the basic-auth
    pair are handed to ``secrets``: an API echoing one never shows it."""

    # Refresh this long before expiry (or a tenth of the token's life when shorter).
    REFRESH_MARGIN = timedelta(seconds=60)

    def __init__(
        self, credentials: OAuth2Credentials, clock: Clock, secrets: Secrets | None = None
    ) -> None:
        self._credentials = credentials
        self._clock = clock
        self._secrets = secrets if secrets is not None else Secrets()
        self._secrets.learn(credentials.client_secret)
        self._secrets.learn_basic_auth(credentials.client_id, credentials.client_secret)
        self._token: str | None = None
        self.expires_at: datetime | None = None
        self._refresh_at: datetime | None = None
        self.lock = asyncio.Lock()  # one token request at a time, whatever the concurrency

    def __repr__(self) -> str:
        return f"OAuth2Tokens(<hidden>, token_url={self._credentials.token_url!r})"

    @property
    def token_url(self) -> str:
        return self._credentials.token_url

    def current(self) -> str | None:
        """The token to use now; None when there is none or it is due for a refresh."""
        if self._token is None:
            return None
        if self._refresh_at is not None and self._clock.now() >= self._refresh_at:
            return None
        return self._token

    def forget(self, token: str) -> None:
        """The API answered 401 to ``token``: it was revoked. Forgotten unless another
        call has replaced it meanwhile."""
        if self._token == token:
            self._token = None

    def token_request(self) -> tuple[dict[str, str], bytes]:
        """The headers and the form body of a token request (POST to ``token_url``)."""
        pair = f"{self._credentials.client_id}:{self._credentials.client_secret}"
        basic = base64.b64encode(pair.encode("utf-8")).decode("ascii")
        headers = {
            "Authorization": f"Basic {basic}",
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return headers, urlencode({"grant_type": "client_credentials", "scope": "all"}).encode()

    def store(self, content: bytes, *, path: str, query_id: str | None = None) -> str:
        """Keep the token of a successful answer of the token endpoint and return it;
        ``ApiError`` when the answer holds no usable token."""
        try:
            data: Any = json.loads(content)
            token = data["access_token"]
            lifetime = float(data.get("expires_in") or 3600)
            if not math.isfinite(lifetime) or lifetime <= 0:
                raise ValueError("expires_in is not a positive number of seconds")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise ApiError(
                f"OAuth2 token endpoint POST {path} answered without a usable access token",
                hint="check that the endpoint supports OAuth2 (ovh-eu, ovh-ca, ovh-us)",
                method="POST",
                path=path,
                query_id=query_id,
            ) from None
        if not isinstance(token, str) or not token:
            raise ApiError(
                f"OAuth2 token endpoint POST {path} answered an empty access token",
                hint="run again; report it if it persists",
                method="POST",
                path=path,
                query_id=query_id,
            )
        self._secrets.learn(token)
        # A lifetime of years (or 1e300 s) is not worth trusting, nor representable:
        # refreshing a token early costs one request.
        lifetime = min(lifetime, MAX_TOKEN_LIFETIME.total_seconds())
        now = self._clock.now()
        margin = min(self.REFRESH_MARGIN, timedelta(seconds=lifetime / 10))
        self._token = token
        self.expires_at = now + timedelta(seconds=lifetime)
        self._refresh_at = self.expires_at - margin
        return token


def token_error(*, status: int, headers: Mapping[str, str], content: bytes, path: str) -> HttpError:
    """The error for an error answer of the OAuth2 token endpoint (its own body style:
    ``{"error", "error_description"}``)."""
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        text = ": ".join(
            str(data[key]) for key in ("error", "error_description") if data.get(key)
        ) or str(data.get("message", ""))
    else:
        text = f"non-JSON answer ({headers.get('content-type', 'no content type')})"
    cls: type[HttpError] = ServerError if status >= 500 else Unauthorized
    if status == 429:
        cls = RateLimited
    return cls(
        f"OAuth2 token request refused: {text}" if status < 500 else f"OAuth2 token: {text}",
        status=status,
        method="POST",
        path=path,
        query_id=headers.get("X-Ovh-Queryid"),
        retry_after=None,
        hint=None
        if status >= 500 or status == 429
        else "check OVH_CLIENT_ID and OVH_CLIENT_SECRET (or "
        "client_id/client_secret in ovh.conf) and that the service account is enabled",
    )
