"""Helpers of the sandbox tests: an independent OVH signer and a synchronous face over
httpx's ASGI transport (so in-process tests read like the others)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from reconciler.sandbox.app import SandboxApp

BASE_URL = "http://sandbox.invalid/1.0"


def ovh_signature(secret: str, consumer_key: str, method: str, url: str, body: str, ts: str) -> str:
    """Written from the OVH docs, not from the sandbox's code: the two must agree."""
    joined = "+".join([secret, consumer_key, method, url, body, ts])
    return "$1$" + hashlib.sha1(joined.encode()).hexdigest()


class AsgiApi:
    """Signed calls to an in-process sandbox, as a client would make them."""

    def __init__(
        self,
        app: SandboxApp,
        *,
        application_key: str = "demo-ak",
        application_secret: str = "demo-as",
        consumer_key: str = "demo-ck",
        base_url: str = BASE_URL,
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=base_url, timeout=30
        )
        self.base_url = base_url
        self.application_key = application_key
        self.application_secret = application_secret
        self.consumer_key = consumer_key
        self.delta: int | None = None

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()

    def __enter__(self) -> AsgiApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def raw(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        content: str | None = None,
    ) -> httpx.Response:
        """Unsigned: exactly what is given."""
        data = (
            content
            if content is not None
            else (json.dumps(body, separators=(",", ":")) if body is not None else None)
        )
        request = self.client.request(
            method, self.base_url + path, content=data, headers=dict(headers or {})
        )
        return self.loop.run_until_complete(request)

    def server_time(self) -> int:
        """``GET /auth/time``; keeps the delta for signing, as the official client does."""
        server = int(self.raw("GET", "/auth/time").json())
        self.delta = server - int(time.time())
        return server

    def signed_headers(
        self,
        method: str,
        url: str,
        body: str = "",
        *,
        timestamp: str | None = None,
        application_key: str | None = None,
        application_secret: str | None = None,
        consumer_key: str | None = None,
    ) -> dict[str, str]:
        if timestamp is None:
            if self.delta is None:
                self.server_time()
            assert self.delta is not None
            timestamp = str(int(time.time()) + self.delta)
        ck = consumer_key if consumer_key is not None else self.consumer_key
        headers = {
            "X-Ovh-Application": application_key or self.application_key,
            "X-Ovh-Consumer": ck,
            "X-Ovh-Timestamp": timestamp,
            "X-Ovh-Signature": ovh_signature(
                application_secret or self.application_secret, ck, method, url, body, timestamp
            ),
        }
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        **signing: Any,
    ) -> httpx.Response:
        """Signed like the official client: compact JSON body, full URL in the signature."""
        text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        url = self.base_url + path
        signed = self.signed_headers(method, url, text, **signing)
        return self.raw(method, path, content=text or None, headers={**signed, **(headers or {})})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("GET", path, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.call("PUT", path, body, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.call("POST", path, body, **kw)
