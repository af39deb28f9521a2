"""Renewal periods: ISO 8601 durations in whole months, as OVH writes them.

OVH states every renewal period in months (``P1M``, ``P3M``, ``P12M``; never ``P1Y``:
``GET /services/{id}`` → ``billing.renew.current.period`` and
``GET /services/{id}/renewPeriodCapacities``). One canonical text per period keeps specs,
plans and API bodies comparable as plain strings.

- ``parse_period(text)`` is tolerant: it reads any whole-month duration (``P1Y``,
  ``P1Y6M``, ``p12m``) and returns a ``Period``; use it on what the API answers.
- ``parse_period(text, strict=True)`` accepts the canonical form only and, when the text
  means a valid period written another way, says which canonical text to write; the spec
  loader uses it, so a spec reads exactly like what the API shows.
- ``str(period)`` is the canonical text, ``P{months}M``; ``months_of(text)`` the months
  of a text, or ``None``, for sorting and wording what the API answers.

Pure and small: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.errors import InvalidValue, quoted

MIN_MONTHS = 1
MAX_MONTHS = 120  # ten years: OVH offers nothing longer

# Whole years and/or months, e.g. "P12M", "P1Y", "P1Y6M"; digits bounded so that a
# hostile "P999…9M" never turns into a huge integer.
_MONTHS_OR_YEARS = re.compile(r"P(?:(?P<years>\d{1,6})Y)?(?:(?P<months>\d{1,6})M)?", re.ASCII)
# Any other ISO 8601 duration shape (days, weeks, times), to explain why it is refused.
_OTHER_DURATION = re.compile(r"P(?:\d+[YMWD])*(?:T(?:\d+(?:[.,]\d+)?[HMS])+)?", re.ASCII)


class InvalidPeriod(InvalidValue):
    """A text that is not an acceptable renewal period. ``message`` says what is wrong
    and ``fix`` what to write instead (the canonical text when there is one)."""


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A renewal period of ``months`` whole months (1 to 120)."""

    months: int

    def __post_init__(self) -> None:
        if not MIN_MONTHS <= self.months <= MAX_MONTHS:
            raise InvalidPeriod(
                f"renewal period of {self.months} months is out of range",
                f"write a period from P{MIN_MONTHS}M to P{MAX_MONTHS}M",
            )

    def __str__(self) -> str:
        return f"P{self.months}M"

    @property
    def words(self) -> str:
        """The period in words: ``every month``, ``every 12 months``."""
        return "every month" if self.months == 1 else f"every {self.months} months"


EXPECTED = f"from P{MIN_MONTHS}M to P{MAX_MONTHS}M (e.g. P1M, P12M)"


def parse_period(text: str, *, strict: bool = False) -> Period:
    """The period ``text`` means. Raises ``InvalidPeriod`` (with a fix) when it means
    none, or, with ``strict``, when it is not written canonically (``P12M``, not
    ``P1Y``, ``p12m`` or ``P012M``)."""
    stripped = text.strip()
    match = _MONTHS_OR_YEARS.fullmatch(stripped.upper())
    if not match or not (match["years"] or match["months"]):
        raise InvalidPeriod(f"{quoted(text)} is not a renewal period", _why_not(stripped))
    months = int(match["years"] or 0) * 12 + int(match["months"] or 0)
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise InvalidPeriod(
            f"renewal period {quoted(text)} is out of range",
            f"write a period from P{MIN_MONTHS}M to P{MAX_MONTHS}M",
        )
    period = Period(months)
    if strict and text != str(period):
        raise InvalidPeriod(
            f"renewal period {quoted(text)} is not written as OVH writes it",
            f"write {period} (OVH states renewal periods in months)",
        )
    return period


def months_of(text: str | None) -> int | None:
    """The months of a period as the API may write it (tolerant); ``None`` when there is
    no period or the text is none (an odd value is shown or sorted apart, never fatal)."""
    if not text:
        return None
    try:
        return parse_period(text).months
    except InvalidPeriod:
        return None


def normalise_period(text: str) -> str:
    """The canonical text of a period: ``"P1Y"`` → ``"P12M"``. Raises ``InvalidPeriod``."""
    return str(parse_period(text))


def is_period(text: str) -> bool:
    """Whether ``text`` is a canonical renewal period (``P1M`` … ``P120M``)."""
    try:
        parse_period(text, strict=True)
    except InvalidPeriod:
        return False
    return True


def _why_not(text: str) -> str:
    if _OTHER_DURATION.fullmatch(text.upper()) and text.upper() not in ("P", "PT"):
        return f"renewal periods are whole months: write one {EXPECTED}"
    return f"write an ISO 8601 duration in months, {EXPECTED}"
