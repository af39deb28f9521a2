"""Signed calls to an in-process sandbox app, as any OVH client makes them, for the
conformance scenarios: ``SignedApi(app).call("GET", "/services")``.

Signing is written from OVH's documented scheme (``$1$`` + SHA-1 of secret, consumer
key, method, full URL, body and timestamp joined by ``+``), with the clock delta read
from ``GET /auth/time`` as the official client does. Synchronous over httpx's ASGI
transport, so scenarios read as a sequence of calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.sandbox import DEMO_CREDENTIALS

BASE_URL = "http://sandbox.invalid/1.0"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any  # the JSON answer (None when empty)
    headers: Mapping[str, str]


class SignedApi:
    def __init__(self, app: Any, credentials: Mapping[str, str] = DEMO_CREDENTIALS) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=30)
        self._credentials = dict(credentials)
        self._delta: int | None = None

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()

    def __enter__(self) -> SignedApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resync(self) -> None:
        """Read the API's clock again (after the sandbox clock was moved)."""
        answer = self.send("GET", "/auth/time", signed=False)
        self._delta = int(answer.body) - int(time.time())

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        raw_body: str | None = None,
    ) -> Answer:
        """A signed call; ``body`` as compact JSON, or ``raw_body`` exactly as given."""
        return self.send(method, path, body, headers=headers, raw_body=raw_body, signed=True)

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        raw_body: str | None = None,
        signed: bool = True,
    ) -> Answer:
        text = raw_body if raw_body is not None else ""
        if raw_body is None and body is not None:
            text = json.dumps(body, separators=(",", ":"))
        url = BASE_URL + path
        sent = {"X-Ovh-Application": self._credentials["application_key"]}
        if signed:
            if self._delta is None:
                self.resync()
            assert self._delta is not None
            stamp = str(int(time.time()) + self._delta)
            consumer = self._credentials["consumer_key"]
            joined = "+".join(
                [self._credentials["application_secret"], consumer, method, url, text, stamp]
            )
            sent |= {
                "X-Ovh-Consumer": consumer,
                "X-Ovh-Timestamp": stamp,
                "X-Ovh-Signature": "$1$" + hashlib.sha1(joined.encode()).hexdigest(),
            }
        if text:
            sent["Content-Type"] = "application/json"
        request = self._client.request(
            method, url, content=text or None, headers={**sent, **(headers or {})}
        )
        response = self._loop.run_until_complete(request)
        content = response.content
        return Answer(
            status=response.status_code,
            body=json.loads(content) if content.strip() else None,
            headers=dict(response.headers),
        )
