"""Helpers of the sandbox tests: signed calls to an in-process sandbox, each signing
field open to be got wrong on purpose (the signer and the synchronous ASGI face are
``tests/asgi_client.py``'s)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
from asgi_client import BASE_URL, SyncAsgiClient, ovh_signature

from reconciler.sandbox.app import SandboxApp


class AsgiApi(SyncAsgiClient):
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
        super().__init__(app)
        self.base_url = base_url
        self.application_key = application_key
        self.application_secret = application_secret
        self.consumer_key = consumer_key
        self.delta: int | None = None

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
        return self.request(method, self.base_url + path, content=data, headers=headers or {})

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
