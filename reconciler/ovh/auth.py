"""Authenticating calls: OVH's request signature and OAuth2 client credentials, as
``httpx.Auth`` subclasses so that every request the client sends (retries included) is
signed at the moment it leaves.

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
import math
from collections.abc import AsyncGenerator, Callable, Generator
from datetime import datetime, timedelta
from typing import Any

import httpx

from reconciler.clock import Clock
from reconciler.errors import ApiError, ConfigError, HttpError, ServerError, Unauthorized
from reconciler.ovh.credentials import OAuth2Credentials, SignatureCredentials

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


class OAuth2Auth(httpx.Auth):
    """OAuth2 client credentials (scope ``all``): a bearer token fetched from the
    endpoint's token URL, shared by every call of the client, refreshed shortly before it
    expires (or once when the API answers 401 to it)."""

    # Refresh this long before expiry (or a tenth of the token's life when shorter).
    REFRESH_MARGIN = timedelta(seconds=60)

    def __init__(self, credentials: OAuth2Credentials, clock: Clock) -> None:
        self._credentials = credentials
        self._clock = clock
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self._refresh_at: datetime | None = None
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"OAuth2Auth(<hidden>, token_url={self._credentials.token_url!r})"

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise NotImplementedError("the OVH client is asynchronous")

    def _needs_token(self) -> bool:
        return self._token is None or (
            self._refresh_at is not None and self._clock.now() >= self._refresh_at
        )

    def _token_request(self) -> httpx.Request:
        pair = f"{self._credentials.client_id}:{self._credentials.client_secret}"
        basic = base64.b64encode(pair.encode("utf-8")).decode("ascii")
        return httpx.Request(
            "POST",
            self._credentials.token_url,
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            data={"grant_type": "client_credentials", "scope": "all"},
        )

    def _store(self, response: httpx.Response) -> None:
        path = response.request.url.path
        if response.status_code >= 400:
            raise _token_error(response, path)
        try:
            data: Any = response.json()
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
            ) from None
        if not isinstance(token, str) or not token:
            raise ApiError(
                f"OAuth2 token endpoint POST {path} answered an empty access token",
                hint="run again; report it if it persists",
                method="POST",
                path=path,
            )
        # A lifetime of years (or 1e300 s) is not worth trusting, nor representable:
        # refreshing a token early costs one request.
        lifetime = min(lifetime, MAX_TOKEN_LIFETIME.total_seconds())
        now = self._clock.now()
        margin = min(self.REFRESH_MARGIN, timedelta(seconds=lifetime / 10))
        self._token = token
        self._expires_at = now + timedelta(seconds=lifetime)
        self._refresh_at = self._expires_at - margin

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one token request at a time, whatever the concurrency
            if self._needs_token():
                token_response = yield self._token_request()
                await token_response.aread()
                self._store(token_response)
        used = self._token
        request.headers["Authorization"] = f"Bearer {used}"
        response = yield request
        if response.status_code != 401:
            return
        async with self._lock:
            if self._token == used:  # nobody refreshed it meanwhile: the token was revoked
                token_response = yield self._token_request()
                await token_response.aread()
                self._store(token_response)
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def _token_error(response: httpx.Response, path: str) -> HttpError:
    try:
        data = response.json()
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        text = ": ".join(
            str(data[key]) for key in ("error", "error_description") if data.get(key)
        ) or str(data.get("message", ""))
    else:
        text = f"non-JSON answer ({response.headers.get('content-type', 'no content type')})"
    status = response.status_code
    cls: type[HttpError] = ServerError if status >= 500 else Unauthorized
    return cls(
        f"OAuth2 token request refused: {text}" if status < 500 else f"OAuth2 token: {text}",
        status=status,
        method="POST",
        path=path,
        query_id=response.headers.get("X-Ovh-Queryid"),
        hint=None
        if status >= 500
        else "check OVH_CLIENT_ID and OVH_CLIENT_SECRET (or "
        "client_id/client_secret in ovh.conf) and that the service account is enabled",
    )
