"""Instants: one policy for time zones, one way to write a date, one range of belief.

Every instant reconciler reasons about is an aware ``datetime`` in UTC. The policy, said
once here and used everywhere:

- **Naive datetimes are refused, never guessed** (``as_utc`` raises ``ValueError``): a
  guessed time zone could move a deadline such as the 24-hour cancellation limit by
  hours. Parsers of API answers and files refuse naive texts with their own message
  before a naive value is ever built.
- **Plausible instants only**: an API or a file may state any date; reconciler reasons
  only about instants from ``EARLIEST`` to ``LATEST`` (``plausible``). Anything outside
  is refused where it is read, with the query id or the file position, instead of
  overflowing later in date arithmetic (year 1 at ``+14:00`` is not representable in
  UTC; year 9999 plus a day is not representable at all).
- **One way to write each kind of date**: ``utc_text`` for messages and plans
  (``2027-03-01 00:00 UTC``), ``iso_utc`` for machine output (``2027-03-01T00:00:00Z``),
  ``day_text`` for a day (``2027-03-01``). A display time zone (``--tz``) changes only
  what a renderer shows (``in_zone``), never what the rules judge.

Pure: no clock is read here (``reconciler.clock`` is the injected clock).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

# The first OVHcloud API v1 services are from the 2010s; a date before 2000 in an answer
# is a placeholder or a bug. Two centuries ahead is beyond any renewal OVH sells
# (ten-year domains) yet far from datetime's limit, so deadline arithmetic never overflows.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class ImplausibleInstant(ValueError):
    """An instant outside ``EARLIEST`` … ``LATEST`` (or not representable in UTC)."""

    def __init__(self, shown: str) -> None:
        super().__init__(
            f"{shown} is outside the dates reconciler can reason about "
            f"({day_text(EARLIEST)} to {day_text(LATEST)})"
        )
        self.shown = shown


def as_utc(when: datetime) -> datetime:
    """``when`` as an aware UTC datetime; naive datetimes are refused, never guessed."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime {when.isoformat()} has no timezone")
    return when.astimezone(UTC)


def plausible(when: datetime) -> datetime:
    """``when`` in UTC if it lies from ``EARLIEST`` to ``LATEST``; else
    ``ImplausibleInstant`` (also for an aware instant that UTC cannot hold, such as
    ``0001-01-01T00:00:00+14:00``). Naive: ``ValueError``, as ``as_utc``."""
    try:
        moment = as_utc(when)
    except OverflowError:
        raise ImplausibleInstant(when.isoformat()) from None
    if not EARLIEST <= moment <= LATEST:
        raise ImplausibleInstant(when.isoformat())
    return moment


def utc_text(when: datetime) -> str:
    """An instant as messages and plans write it: ``2027-03-01 00:00 UTC``, with the
    seconds when they are not zero (``2027-03-01 00:00:30 UTC``)."""
    moment = as_utc(when)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")


def iso_utc(when: datetime) -> str:
    """An instant as machine output writes it: ``2027-03-01T00:00:00Z`` (whole seconds)."""
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_text(when: datetime) -> str:
    """The UTC day of an instant: ``2027-03-01``."""
    return as_utc(when).strftime("%Y-%m-%d")


def in_zone(when: datetime, zone: tzinfo | None) -> datetime:
    """``when`` as shown in a display time zone (``None``: UTC). For renderers only: the
    rules always judge in UTC."""
    moment = as_utc(when)
    return moment if zone is None else moment.astimezone(zone)
