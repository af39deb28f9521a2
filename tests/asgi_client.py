"""Calls to an in-process ASGI app (the sandbox's) that read as a sequence of plain
calls, and OVH's request signature: what the sandbox tests and the conformance scenarios
both sign and send with.

The signature is written from OVH's documented scheme, not from the sandbox's code, so
the two are held to agree: ``$1$`` + SHA-1 of the application secret, the consumer key,
the method, the full URL, the body and the timestamp, joined by ``+``.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from typing import Any, Self

import httpx

# Where the in-process sandbox is called: no request ever leaves the process.
BASE_URL = "http://sandbox.invalid/1.0"


def ovh_signature(secret: str, consumer_key: str, method: str, url: str, body: str, ts: str) -> str:
    """``X-Ovh-Signature`` of a request, from OVH's documentation."""
    joined = "+".join([secret, consumer_key, method, url, body, ts])
    return "$1$" + hashlib.sha1(joined.encode()).hexdigest()


class SyncAsgiClient:
    """httpx over the ASGI transport on an event loop of its own: each request runs to
    its answer before the call returns. Close it (or use it in ``with``)."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=30)

    def request(
        self, method: str, url: str, *, content: str | None, headers: Mapping[str, str]
    ) -> httpx.Response:
        sent = self.client.request(method, url, content=content, headers=dict(headers))
        return self.loop.run_until_complete(sent)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
