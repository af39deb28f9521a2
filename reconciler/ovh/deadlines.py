"""How long the client waits: for one answer, for a call and its retries, for a read.

Three deadlines nest (``Timeouts``):

- ``request`` (``RECONCILER_REQUEST_TIMEOUT``, 30 s): one attempt, from sending to the
  last byte of its answer. Whole-answer, not per chunk: an endpoint trickling a byte
  every 20 s fails here, where a read timeout per chunk would wait forever;
- ``call`` (``RECONCILER_CALL_TIMEOUT``, 60 s): one call with every retry and every wait
  between them. No retry starts whose wait would end past it;
- ``read`` (``RECONCILER_READ_TIMEOUT``, 10 min): a whole listing, every page or every
  id of it (``OvhClient.read_collection``).

An attempt gets the earliest of the deadlines it is under. With the defaults, an
endpoint that never answers fails in about a minute, one that refuses connections in
about 20 s (two attempts of at most ``connect`` = 10 s).

Deadlines are instants of an injected monotonic clock (``Monotonic``, default
``time.monotonic``): they are checked before each attempt, after each chunk of an answer
and before each wait, so tests drive them with a fake clock and never wait. The same
instant also bounds the attempt in real time (the event loop's timer and httpx's own
timeouts), for a peer that sends nothing at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from reconciler.durations import InvalidDuration, parse_duration
from reconciler.errors import ConfigError

Monotonic = Callable[[], float]
SYSTEM_MONOTONIC: Final[Monotonic] = time.monotonic

REQUEST_TIMEOUT_ENV: Final = "RECONCILER_REQUEST_TIMEOUT"
CALL_TIMEOUT_ENV: Final = "RECONCILER_CALL_TIMEOUT"
READ_TIMEOUT_ENV: Final = "RECONCILER_READ_TIMEOUT"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds allowed (see the module docstring). ``connect`` bounds opening one
    connection, ``write`` sending one request body: both within ``request``."""

    request: float = 30.0
    call: float = 60.0
    read: float = 600.0
    connect: float = 10.0
    write: float = 30.0

    def __post_init__(self) -> None:
        for name in ("request", "call", "read", "connect", "write"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"the {name} timeout must be positive, not {value!r}")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Timeouts:
        """The defaults, with ``RECONCILER_REQUEST_TIMEOUT``, ``RECONCILER_CALL_TIMEOUT``
        and ``RECONCILER_READ_TIMEOUT`` when set (``45s``, ``2min``, ``PT10M``).
        ``ConfigError`` for a value that is no duration, or zero."""
        defaults = cls()
        return cls(
            request=_seconds(environ, REQUEST_TIMEOUT_ENV, defaults.request),
            call=_seconds(environ, CALL_TIMEOUT_ENV, defaults.call),
            read=_seconds(environ, READ_TIMEOUT_ENV, defaults.read),
            connect=defaults.connect,
            write=defaults.write,
        )


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        seconds = parse_duration(raw, allow_calendar=False).seconds
    except InvalidDuration as exc:
        raise ConfigError(f"{name}: {exc.message}", hint=f"{exc.fix}; or unset {name}") from None
    if seconds <= 0:
        raise ConfigError(f"{name} is {raw!r}: a timeout must be longer than 0", hint="try 30s")
    return seconds


@dataclass(frozen=True, slots=True)
class Deadline:
    """An instant of the monotonic clock by which something must be done, with what it
    bounds, for messages: ``the call (RECONCILER_CALL_TIMEOUT, 60 s)``."""

    at: float
    seconds: float  # the time it allowed, from its start
    bounds: str  # "one answer", "the call and its retries", "the read"
    setting: str  # the environment variable that sets it

    @classmethod
    def after(cls, now: float, seconds: float, bounds: str, setting: str) -> Deadline:
        return cls(now + seconds, seconds, bounds, setting)

    def left(self, now: float) -> float:
        return self.at - now

    def passed(self, now: float) -> bool:
        return now >= self.at

    def describe(self) -> str:
        """``30 s for one answer (RECONCILER_REQUEST_TIMEOUT)``."""
        return f"{self.seconds:g} s for {self.bounds} ({self.setting})"


def earliest(*deadlines: Deadline | None) -> Deadline:
    """The first to pass of the given deadlines (at least one is not None)."""
    present = [deadline for deadline in deadlines if deadline is not None]
    if not present:
        raise ValueError("no deadline given")
    return min(present, key=lambda deadline: deadline.at)
