"""Time in the sandbox: a wall clock (injected), durations, instants and their rendering.

The sandbox's own clock is *not* the wall clock: it is stored in the state database as an
anchor (``ClockAnchor``, kept by the store) so that moving it survives restarts and is shared by
every process using the same state. The wall clock only makes a *ticking* sandbox clock
advance; tests inject a ``ManualWallClock`` so that nothing moves unless told to.

The sandbox imports nothing of reconciler, so this module has its own small clock types.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Protocol


class WallClock(Protocol):
    def now(self) -> datetime:
        """The real current time, timezone-aware."""
        ...


class SystemWallClock:
    """The machine's clock: the only place the sandbox reads real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(slots=True)
class ManualWallClock:
    """A wall clock that moves only when told to (tests, simulations)."""

    current: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __post_init__(self) -> None:
        self.current = aware(self.current)

    def now(self) -> datetime:
        return self.current

    def set(self, when: datetime) -> None:
        self.current = aware(when)

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass(frozen=True, slots=True)
class ClockState:
    """The sandbox clock as the admin routes show it."""

    now: datetime
    ticking: bool

    def to_json(self) -> dict[str, Any]:
        return {"now": render_utc(self.now.timestamp()), "ticking": self.ticking}


@dataclass(frozen=True, slots=True)
class ClockAnchor:
    """The sandbox clock, stored: *stopped* at ``seconds``, or *ticking* from it along
    the wall clock since the wall clock read ``wall_seconds``."""

    seconds: float
    wall_seconds: float
    ticking: bool

    @classmethod
    def starting(cls, wall_now: float) -> ClockAnchor:
        """A fresh sandbox ticks from the wall clock's now."""
        return cls(wall_now, wall_now, True)

    @classmethod
    def from_text(cls, text: str) -> ClockAnchor:
        seconds, wall_seconds, ticking = json.loads(text)
        return cls(float(seconds), float(wall_seconds), bool(ticking))

    def to_text(self) -> str:
        return json.dumps([self.seconds, self.wall_seconds, self.ticking])

    def now(self, wall_now: float) -> float:
        """The sandbox time when the wall clock reads ``wall_now``."""
        return self.seconds + (wall_now - self.wall_seconds) if self.ticking else self.seconds


def aware(when: datetime) -> datetime:
    """``when`` in UTC; a naive datetime is refused rather than guessed."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no timezone; add one, e.g. 'Z' or '+01:00'")
    return when.astimezone(UTC)


# OVH renders dates in Paris time ("2027-01-10T09:00:00+01:00"); so does the sandbox,
# which makes clients meet real offsets (+01:00 in winter, +02:00 in summer).
def _paris() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Europe/Paris")
    except Exception:  # no tz database on this machine: UTC is still correct, just plainer
        return UTC


API_TZ: tzinfo = _paris()


def to_epoch(when: datetime) -> int:
    return int(aware(when).timestamp())


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def render_datetime(seconds: float | None) -> str | None:
    """An instant as the API writes it: ISO 8601 with the Paris offset, no microseconds."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(int(seconds), API_TZ).isoformat()


def local_day(seconds: int) -> int:
    """The day of the month of an instant, in Paris."""
    return datetime.fromtimestamp(seconds, API_TZ).day


def render_date(seconds: float | None) -> str | None:
    """A day as the legacy ``serviceInfos`` routes write it: ``YYYY-MM-DD`` (Paris)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(int(seconds), API_TZ).date().isoformat()


def render_utc(seconds: float) -> str:
    """An instant for the admin routes: ISO 8601 in UTC with a ``Z``."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


_DURATION = re.compile(r"(\d+)\s*([wdhms])")
_DURATION_WHOLE = re.compile(r"^\s*([+-])?\s*((?:\d+\s*[wdhms]\s*)+)$")
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``1d12h``, ``90m``, ``45s``, ``2w``; a leading ``-`` for the past.

    Raises ``ValueError`` with the accepted forms."""
    match = _DURATION_WHOLE.match(text)
    if not match:
        raise ValueError(
            f"{text!r} is not a duration; write a number and a unit (w, d, h, m, s), "
            "e.g. 30d, 12h, 1d12h, -3d"
        )
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(match.group(2)))
    return timedelta(seconds=-seconds if match.group(1) == "-" else seconds)


def parse_instant(value: str | datetime | date) -> datetime:
    """An ISO 8601 instant with its offset (``Z`` accepted). A bare date is midnight in
    Paris (how OVH dates a day). Raises ``ValueError`` naming the problem."""
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=API_TZ).astimezone(UTC)
    text = value.strip()
    try:
        if len(text) == 10:
            return parse_instant(date.fromisoformat(text))
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO 8601 date-time; write e.g. 2027-03-01T00:00:00Z"
        ) from None
    return aware(parsed)


_PERIOD = re.compile(r"^P([1-9]\d{0,2})M$")


def period_months(period: str) -> int:
    """Months of an ISO 8601 period as OVH writes renewal periods (``P1M``, ``P12M``).
    ``P1Y`` is refused on purpose: OVH writes years in months."""
    match = _PERIOD.match(period)
    if not match:
        hint = " (OVH writes years in months: P12M)" if "Y" in period else ""
        raise ValueError(f"{period!r} is not a renewal period like P1M or P12M{hint}")
    return int(match.group(1))


def add_months(seconds: int, months: int, *, day: int | None = None) -> int:
    """``seconds`` moved by a number of calendar months, in Paris time, keeping the time
    of day. The day of the month is ``day`` (the service's anniversary day) or the
    current one, clamped to the end of shorter months: a service due on the 31st is
    due on 30 April, then on 31 May again."""
    local = datetime.fromtimestamp(seconds, API_TZ)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(day or local.day, calendar.monthrange(year, month)[1])
    moved = local.replace(year=year, month=month, day=day, tzinfo=None)
    return int(moved.replace(tzinfo=API_TZ).timestamp())
