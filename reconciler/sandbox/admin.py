"""A small client of the sandbox's admin routes (standard library only).

For test fixtures, benchmarks and scripts that drive a running sandbox:

    admin = SandboxAdmin("http://127.0.0.1:8080")
    admin.set_clock(datetime(2027, 1, 1, tzinfo=UTC))   # the clock then stands still
    admin.advance(timedelta(days=2))
    admin.set_faults(latency_ms=50, error_rate=0.2, seed=1)
    admin.reset()                                        # back to the seed
    admin.load_seed(Path("seed.yaml"))                   # or a mapping, or YAML text
    admin.emails()
    admin.requests(since=0)                              # the request log

Errors of the admin routes raise ``AdminError`` with the sandbox's message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.sandbox.clock import aware, parse_instant, render_utc
from reconciler.sandbox.errors import SandboxError


class AdminError(SandboxError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"sandbox admin: {status}: {message}")
        self.status = status
        self.message = message


class SandboxAdmin:
    def __init__(self, root: str, *, timeout: float = 30.0) -> None:
        self.root = root.rstrip("/")
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.root + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", errors="replace")
            try:
                message = json.loads(text).get("message", text)
            except ValueError:
                message = text
            raise AdminError(exc.code, message) from None
        return json.loads(payload) if payload.strip() else None

    # clock

    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "/sandbox/clock")
        return result

    def now(self) -> datetime:
        return parse_instant(self.clock()["now"])

    def set_clock(self, when: datetime, *, ticking: bool = False) -> dict[str, Any]:
        """Set the sandbox clock; it stands still there unless ``ticking``."""
        result: dict[str, Any] = self.request(
            "PUT",
            "/sandbox/clock",
            {"now": render_utc(aware(when).timestamp()), "ticking": ticking},
        )
        return result

    def advance(self, delta: timedelta, *, ticking: bool = False) -> dict[str, Any]:
        """Move the clock by ``delta``; it then stands still unless ``ticking``."""
        seconds = int(delta.total_seconds())
        body: dict[str, Any] = {
            "advance": f"{'-' if seconds < 0 else ''}{abs(seconds)}s",
            "ticking": ticking,
        }
        result: dict[str, Any] = self.request("PUT", "/sandbox/clock", body)
        return result

    # faults

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault configuration (``set_faults()`` clears it)."""
        result: dict[str, Any] = self.request("PUT", "/sandbox/faults", faults)
        return result

    def clear_faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self.request("DELETE", "/sandbox/faults")
        return result

    # account

    def reset(
        self, seed: Path | str | Mapping[str, Any] | None = None, *, now: datetime | None = None
    ) -> dict[str, Any]:
        """Back to the seed (or load ``seed``: a file path, YAML text or a mapping);
        ``now`` sets and stops the clock first."""
        body: dict[str, Any] = {}
        if now is not None:
            body["now"] = render_utc(aware(now).timestamp())
        if seed is not None:
            body["seed"] = _seed_body(seed)
        result: dict[str, Any] = self.request("POST", "/sandbox/reset", body)
        return result

    def load_seed(
        self, seed: Path | str | Mapping[str, Any], *, now: datetime | None = None
    ) -> dict[str, Any]:
        return self.reset(seed, now=now)

    def emails(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.request("GET", "/sandbox/emails")
        return result

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The request log (``reconciler.sandbox.calls``): every API request answered
        after sequence number ``since``, oldest first."""
        result: list[dict[str, Any]] = self.request("GET", f"/sandbox/requests?since={since}")
        return result

    def clear_requests(self) -> None:
        self.request("DELETE", "/sandbox/requests")

    def services(self) -> list[dict[str, Any]]:
        """Every service, terminated ones included, in the sandbox's own words."""
        result: list[dict[str, Any]] = self.request("GET", "/sandbox/services")
        return result

    def validate_credential(self, consumer_key: str, *, validity: str | None = None) -> Any:
        body = {"validity": validity} if validity else {}
        return self.request("POST", f"/sandbox/credentials/{consumer_key}/validate", body)

    def set_credential_state(self, consumer_key: str, state: str) -> Any:
        return self.request("PUT", f"/sandbox/credentials/{consumer_key}", {"state": state})


def _seed_body(seed: Path | str | Mapping[str, Any]) -> Any:
    if isinstance(seed, Path):
        return seed.read_text(encoding="utf-8")
    if isinstance(seed, str):
        return seed  # YAML text
    return dict(seed)
