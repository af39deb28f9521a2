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
from dataclasses import asdict, dataclass, field
from typing import Any

from reconciler.sandbox import errors

RETRYABLE_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503, 429)
    drop_rate: float = 0.0
    retry_after: int = 1
    seed: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        """Validate the body of ``PUT /sandbox/faults``; ``ApiError`` 400 otherwise."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise errors.bad_request("faults: expected a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise errors.bad_request(
                f"faults: unknown field(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for name in ("latency_ms", "jitter_ms"):
            if name in data:
                values[name] = _number(data[name], name, low=0, high=60_000)
        for name in ("error_rate", "drop_rate"):
            if name in data:
                values[name] = _number(data[name], name, low=0, high=1)
        if "error_statuses" in data:
            statuses = data["error_statuses"]
            if (
                not isinstance(statuses, list)
                or not statuses
                or not all(isinstance(s, int) and 400 <= s <= 599 for s in statuses)
            ):
                raise errors.bad_request("faults: error_statuses is a list of HTTP error statuses")
            values["error_statuses"] = tuple(statuses)
        if "retry_after" in data:
            values["retry_after"] = int(
                _number(data["retry_after"], "retry_after", low=0, high=3600)
            )
        if data.get("seed") is not None:
            if not isinstance(data["seed"], int) or isinstance(data["seed"], bool):
                raise errors.bad_request("faults: seed is an integer")
            values["seed"] = data["seed"]
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["error_statuses"] = list(self.error_statuses)
        return data

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.jitter_ms or self.error_rate or self.drop_rate)


def _number(value: Any, name: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise errors.bad_request(f"faults: {name} is a number from {low:g} to {high:g}")
    return float(value)


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
