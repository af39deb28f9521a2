"""Injected faults: latency, error answers and dropped connections, seeded.

``PUT /sandbox/faults`` replaces the whole configuration (absent fields take their
defaults, so ``{}`` clears everything). Faults apply to ``/1.0`` routes only, never to
the admin routes. For each API request, in this order:

1. ``latency_ms`` (plus up to ``jitter_ms``) of delay before anything else;
2. with probability ``error_rate``, an error answer *instead of* processing the request
   (nothing changes), its status drawn from ``error_statuses``; a 429 carries
   ``Retry-After: <retry_after>``;
3. otherwise the request is processed, and with probability ``drop_rate`` the
   connection is dropped half-way through the response: the change *was* made but the
   client sees a protocol error — the case a safe client must converge from.

Every request draws from one ``random.Random(seed)``, so a sequence of requests meets
the same faults on every run with the same seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field, Strict

from reconciler.sandbox import errors
from reconciler.sandbox.bodies import Body

RETRYABLE_STATUSES = (429, 500, 502, 503, 504)

HttpErrorStatus = Annotated[int, Strict(), Field(ge=400, le=599)]


class FaultConfig(Body):
    """The body of ``PUT /sandbox/faults``, validated as it is built: each field's
    description is what a body that gets it wrong is told (``bodies.py``)."""

    what = "faults"

    latency_ms: float = Field(default=0.0, ge=0, le=60_000, description="a number from 0 to 60000")
    jitter_ms: float = Field(default=0.0, ge=0, le=60_000, description="a number from 0 to 60000")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="a number from 0 to 1")
    # A JSON array, hence not strict (a list in, a tuple kept); its items are.
    error_statuses: tuple[HttpErrorStatus, ...] = Field(
        default=(500, 502, 503, 429),
        min_length=1,
        strict=False,
        description="a list of HTTP error statuses",
    )
    drop_rate: float = Field(default=0.0, ge=0, le=1, description="a number from 0 to 1")
    # Retry-After is a whole number of seconds (RFC 9110 §10.2.3), never 1.5.
    retry_after: int = Field(
        default=1, ge=0, le=3600, description="a whole number of seconds from 0 to 3600"
    )
    seed: int | None = Field(default=None, description="an integer")

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        """Validate the body of ``PUT /sandbox/faults`` (``null`` or ``{}`` clear every
        fault); ``ApiError`` 400 with one clear message otherwise."""
        return cls.read({} if data is None else data)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.jitter_ms or self.error_rate or self.drop_rate)


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What happens to one request."""

    delay_seconds: float = 0.0
    error: errors.ApiError | None = None
    drop: bool = False


@dataclass
class FaultInjector:
    """The faults of one running app. Not persisted: a restarted sandbox has none."""

    config: FaultConfig = field(default_factory=FaultConfig)
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self._random = random.Random(config.seed)

    def decide(self) -> FaultDecision:
        """Draw the fate of the next request (always three draws: reproducible)."""
        config = self.config
        if not config.active:
            return FaultDecision()
        jitter, error_draw, drop_draw = (self._random.random() for _ in range(3))
        delay = (config.latency_ms + jitter * config.jitter_ms) / 1000
        error = None
        if error_draw < config.error_rate:
            status = config.error_statuses[
                int(error_draw / config.error_rate * len(config.error_statuses))
                % len(config.error_statuses)
            ]
            error = errors.injected_fault(
                status, retry_after=config.retry_after if status in (429, 503) else None
            )
        drop = error is None and drop_draw < config.drop_rate
        return FaultDecision(delay_seconds=delay, error=error, drop=drop)
