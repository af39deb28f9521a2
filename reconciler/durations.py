"""Durations: one grammar for every option, setting and message that takes one.

``parse_duration(text)`` reads what a user writes after ``--expiring-within``,
``--token-timeout``, ``--lock-timeout``, a Pulumi setting, and so on:

- a number and a unit: ``45s``, ``90sec``, ``30min``, ``12h``, ``30d``, ``2w``, ``1mo``
  (a calendar month), ``1y`` (a calendar year); decimals are allowed for fixed units
  (``1.5h``), not for calendar ones;
- an ISO 8601 duration, as OVH writes renewal periods: ``P1M`` (a month), ``P30D``,
  ``PT30M`` (thirty minutes), ``P1Y2M10DT2H30M``;
- several such terms, largest first or not, summed: ``1d12h``, ``1h 30min``;
- a bare ``0``;
- with ``allow_negative`` (moving a sandbox's clock back, nothing else), a leading
  ``-``: ``-1h``, ``-P1D``.

``m`` alone is refused: OVH writes a month ``P1M`` and Unix tools write a minute ``1m``,
so ``1m`` means one thing to one reader and another to the next. The message says
which to write instead (``1min`` or ``1mo``). A bare number without unit is refused
for the same reason (seconds? days?).

A ``Duration`` keeps calendar months apart from fixed seconds: "within 1 month" from
31 January ends on the last day of February, not 30 days later. ``after(instant)``
adds one to an instant; ``seconds`` is the fixed length of a duration without months
(timeouts), and raises for calendar durations, which have none.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.errors import InvalidValue, quoted

MAX_SECONDS = 100 * 366 * 86400.0  # a century: beyond any deadline or window
MAX_MONTHS = 100 * 12

_SHORT = re.compile(r"(?P<amount>\d{1,9}(?:\.\d{1,9})?)\s*(?P<unit>[a-zA-Z]{1,7})")
# One or more terms (``1d12h``, ``1h 30min``); at most a few dozen, so a hostile text
# cannot make the parse long.
_TERMS = re.compile(r"(?:\d{1,9}(?:\.\d{1,9})?\s*[a-zA-Z]{1,7}\s*){1,32}")
_ISO = re.compile(
    r"P(?:(?P<years>\d{1,4})Y)?(?:(?P<months>\d{1,5})M)?(?:(?P<weeks>\d{1,5})W)?"
    r"(?:(?P<days>\d{1,6})D)?"
    r"(?:T(?:(?P<hours>\d{1,7})H)?(?:(?P<minutes>\d{1,9})M)?(?:(?P<seconds>\d{1,9}(?:\.\d{1,9})?)S)?)?"
)

# Fixed units, in seconds; every spelling users write, and only those.
_FIXED: dict[str, float] = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
# Calendar units, in months.
_CALENDAR: dict[str, int] = {
    "mo": 1, "mon": 1, "month": 1, "months": 1,
    "y": 12, "yr": 12, "year": 12, "years": 12,
}  # fmt: skip

EXAMPLES = "45s, 30min, 12h, 30d, 2w, 1mo, or ISO 8601 (PT30M, P30D, P1M)"


class InvalidDuration(InvalidValue):
    """A text that is no duration: ``message`` says why, ``fix`` what to write."""


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """``months`` calendar months, then ``fixed`` seconds."""

    months: int = 0
    fixed: float = 0.0

    @property
    def is_calendar(self) -> bool:
        return self.months != 0

    @property
    def seconds(self) -> float:
        """The fixed length in seconds. ``ValueError`` for a duration with calendar
        months, which has no fixed length (a month is 28 to 31 days)."""
        if self.months:
            raise ValueError("a duration in calendar months has no fixed length in seconds")
        return self.fixed

    def as_timedelta(self) -> timedelta:
        return timedelta(seconds=self.seconds)

    def after(self, instant: datetime) -> datetime:
        """``instant`` moved forward by this duration: calendar months first (the day
        clamped to the month's last day), then the fixed seconds."""
        moved = _add_months(instant, self.months) if self.months else instant
        return moved + timedelta(seconds=self.fixed)

    def __str__(self) -> str:
        """The duration in this grammar: one term when it is one (``30min``, ``1mo``),
        else ISO 8601 (``P1Y2M``, ``P1MT12H``)."""
        if not self.months:
            return _fixed_text(self.fixed)
        years, months = divmod(self.months, 12)
        if not self.fixed and not (years and months):
            return f"{years}y" if years else f"{months}mo"
        iso = "P" + (f"{years}Y" if years else "") + (f"{months}M" if months else "")
        return iso + (f"T{self.fixed:g}S" if self.fixed else "")


def parse_duration(
    text: str, *, allow_calendar: bool = True, allow_negative: bool = False
) -> Duration:
    """The duration ``text`` means (module docstring), or ``InvalidDuration``.
    ``allow_calendar=False`` refuses months and years, for options that need a fixed
    length (timeouts); ``allow_negative`` reads a leading ``-`` (a move back in time)."""
    stripped = text.strip()
    sign = 1
    if allow_negative and stripped[:1] in ("-", "+"):
        sign = -1 if stripped[0] == "-" else 1
        stripped = stripped[1:].lstrip()
    if stripped == "0":
        return Duration()
    duration = _iso(stripped) if stripped[:1] in ("P", "p") else _short(stripped)
    if duration.is_calendar and not allow_calendar:
        raise InvalidDuration(
            f"{quoted(text)} is in calendar months, which have no fixed length",
            "write it in days or hours (e.g. 30d, 12h)",
        )
    if duration.months > MAX_MONTHS or duration.fixed > MAX_SECONDS:
        raise InvalidDuration(f"{quoted(text)} is longer than a century", "write a shorter one")
    return duration if sign == 1 else Duration(months=-duration.months, fixed=-duration.fixed)


def _short(text: str) -> Duration:
    if _TERMS.fullmatch(text) is None:
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            raise InvalidDuration(
                f"{quoted(text)} has no unit", f"write a number and a unit: {EXAMPLES}"
            )
        raise InvalidDuration(f"{quoted(text)} is not a duration", f"write one like {EXAMPLES}")
    total = Duration()
    for found in _SHORT.finditer(text):
        term = _term(text, found["amount"], found["unit"].lower())
        total = Duration(months=total.months + term.months, fixed=total.fixed + term.fixed)
    return total


def _term(text: str, amount_text: str, unit: str) -> Duration:
    if unit == "m":
        raise InvalidDuration(
            f"{quoted(text)} is ambiguous: 'm' is a minute to some and a month to others",
            f"write {amount_text}min for minutes or {amount_text}mo for months",
        )
    if unit in _FIXED:
        seconds = float(amount_text) * _FIXED[unit]
        if not math.isfinite(seconds):
            raise InvalidDuration(f"{quoted(text)} is not a duration", f"write one like {EXAMPLES}")
        return Duration(fixed=seconds)
    if unit in _CALENDAR:
        if "." in amount_text:
            raise InvalidDuration(
                f"{quoted(text)}: calendar months and years are counted whole",
                "write a whole number (e.g. 1mo, 2y), or days (e.g. 45d)",
            )
        return Duration(months=int(amount_text) * _CALENDAR[unit])
    raise InvalidDuration(
        f"{quoted(text)} has an unknown unit {unit!r}", f"write one like {EXAMPLES}"
    )


def _iso(text: str) -> Duration:
    found = _ISO.fullmatch(text.upper())
    if found is None or not any(found.groupdict().values()) or text.upper().endswith("T"):
        raise InvalidDuration(
            f"{quoted(text)} is not an ISO 8601 duration", f"write one like {EXAMPLES}"
        )
    number = {key: float(value) if value else 0.0 for key, value in found.groupdict().items()}
    months = int(number["years"]) * 12 + int(number["months"])
    fixed = (
        number["weeks"] * 604800
        + number["days"] * 86400
        + number["hours"] * 3600
        + number["minutes"] * 60
        + number["seconds"]
    )
    return Duration(months=months, fixed=fixed)


def _add_months(instant: datetime, months: int) -> datetime:
    index = instant.year * 12 + instant.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


def _fixed_text(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
