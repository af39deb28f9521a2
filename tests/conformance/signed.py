"""Signed calls to an in-process sandbox app, as any OVH client makes them, for the
conformance scenarios: ``SignedApi(app).call("GET", "/services")``.

The signing and the clock delta are the sandbox tests' own (``AsgiApi``, written from
OVH's documented scheme); this face adds what the scenarios need: a body sent exactly
as given, unsigned calls, and answers as decoded values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.sandbox_helpers import BASE_URL, AsgiApi


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any  # the JSON answer (None when empty)
    headers: Mapping[str, str]


class SignedApi:
    def __init__(self, app: Any) -> None:
        self._api = AsgiApi(app)

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> SignedApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resync(self) -> None:
        """Read the API's clock again (after the sandbox clock was moved)."""
        self._api.server_time()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        raw_body: str | None = None,
        signed: bool = True,
    ) -> Answer:
        """A call, signed unless told; ``body`` as compact JSON, or ``raw_body`` exactly
        as given."""
        text = raw_body if raw_body is not None else ""
        if raw_body is None and body is not None:
            text = json.dumps(body, separators=(",", ":"))
        if signed:
            sent = self._api.signed_headers(method, BASE_URL + path, text)
        else:
            sent = {"X-Ovh-Application": self._api.application_key}
            if text:
                sent["Content-Type"] = "application/json"
        response = self._api.raw(
            method, path, content=text or None, headers={**sent, **(headers or {})}
        )
        content = response.content
        return Answer(
            status=response.status_code,
            body=json.loads(content) if content.strip() else None,
            headers=dict(response.headers),
        )
