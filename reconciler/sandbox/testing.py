"""What the shared test fixtures hand out (``tests/conftest.py``), importable for
annotations and for scripts: ``SandboxServer`` (a running sandbox and its helpers) and
``InProcessSandbox`` (the app, its backend and its manual wall clock).

Standard library only (the admin client uses urllib): the sandbox's layer rules hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.sandbox.admin import SandboxAdmin
from reconciler.sandbox.app import SandboxApp
from reconciler.sandbox.backend import Backend
from reconciler.sandbox.clock import ManualWallClock
from reconciler.sandbox.demo import DEMO_CREDENTIALS

# Where every test's sandbox clock starts: a Monday morning in winter (Paris is +01:00).
SANDBOX_EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class SandboxServer:
    """A running sandbox and the helpers tests use to drive it."""

    url: str  # http://127.0.0.1:PORT/1.0
    root: str  # http://127.0.0.1:PORT
    admin: SandboxAdmin
    app: SandboxApp
    credentials: Mapping[str, str] = field(default_factory=lambda: dict(DEMO_CREDENTIALS))

    @property
    def application_key(self) -> str:
        return self.credentials["application_key"]

    @property
    def application_secret(self) -> str:
        return self.credentials["application_secret"]

    @property
    def consumer_key(self) -> str:
        return self.credentials["consumer_key"]

    @property
    def backend(self) -> Backend:
        return self.app.backend

    def now(self) -> datetime:
        return self.admin.now()

    def set_clock(self, when: datetime, *, ticking: bool = False) -> None:
        self.admin.set_clock(when, ticking=ticking)

    def advance(self, delta: timedelta) -> None:
        self.admin.advance(delta)

    def set_faults(self, **faults: Any) -> None:
        self.admin.set_faults(**faults)

    def clear_faults(self) -> None:
        self.admin.clear_faults()

    def reset(
        self, seed: Path | str | Mapping[str, Any] | None = None, *, now: datetime | None = None
    ) -> None:
        self.admin.reset(seed, now=now)

    def load_seed(
        self, seed: Path | str | Mapping[str, Any], *, now: datetime | None = None
    ) -> None:
        self.admin.load_seed(seed, now=now)

    def emails(self) -> list[dict[str, Any]]:
        return self.admin.emails()

    def services(self) -> list[dict[str, Any]]:
        return self.admin.services()

    def validate_credential(self, consumer_key: str) -> None:
        self.admin.validate_credential(consumer_key)


@dataclass
class InProcessSandbox:
    app: SandboxApp
    backend: Backend
    clock: ManualWallClock
    base_url: str = "http://sandbox.invalid/1.0"
    credentials: Mapping[str, str] = field(default_factory=lambda: dict(DEMO_CREDENTIALS))
