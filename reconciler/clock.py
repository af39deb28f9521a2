"""Time, injected. Nothing in reconciler reads the system clock except ``SystemClock``.

The rules (the 24-hour limit before expiry) are judged with the *API's* clock, not the
local one: ``OffsetClock`` wraps the local clock with the delta measured once from
``GET /auth/time``. Against the sandbox that is the sandbox's clock, which tests move
through its admin route; against OVH it corrects a skewed local clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from reconciler.times import as_utc

__all__ = ["Clock", "ManualClock", "OffsetClock", "SystemClock", "as_utc"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OffsetClock:
    """Another clock shifted by a fixed delta (the API's time minus ours)."""

    base: Clock
    delta: timedelta

    def now(self) -> datetime:
        return self.base.now() + self.delta


@dataclass(slots=True)
class ManualClock:
    """A clock that moves only when told to: for tests and simulations."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        self.current = as_utc(self.current)

    def now(self) -> datetime:
        return self.current

    def set(self, when: datetime) -> None:
        self.current = as_utc(when)

    def advance(self, delta: timedelta) -> None:
        self.current += delta
