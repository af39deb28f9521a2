"""Instants: one policy for time zones, one way to write a date, one range of belief.

Every instant reconciler reasons about is an aware ``datetime`` in UTC. The policy, said
once here and used everywhere:

- **Naive datetimes are refused, never guessed** (``as_utc`` and ``utc`` raise
  ``ValueError``; ``utc`` also clamps what datetime cannot hold in UTC): a
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
  ``iso_utc_millis`` for records (the journal: ``2027-03-01T00:00:00.123Z``),
  ``ics_utc`` for iCalendar (``20270301T000000Z``), ``day_text`` for a day
  (``2027-03-01``); for people, ``shown_when``, ``shown_day`` and ``shown_date``, in
  UTC or a display zone. A display time zone (``--tz``) changes only
  what a renderer shows (``in_zone``), never what the rules judge. A message worded in
  the core keeps its instants typed (a ``Phrase``: a refusal's), so that a renderer
  shows them in that zone too (``phrase_text``, ``phrase_shown``).

Pure: no clock is read here (``reconciler.clock`` is the injected clock).
"""

from __future__ import annotations

import math
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


_DATETIME_MIN = datetime.min.replace(tzinfo=UTC)
_DATETIME_MAX = datetime.max.replace(tzinfo=UTC)


def utc(when: datetime) -> datetime:
    """``when`` in UTC for reasoning about it: naive refused as ``as_utc`` refuses it,
    and an aware instant beyond what datetime holds in UTC (year 1 east of Greenwich,
    year 9999 west) clamped to that limit, so that the pure core never overflows on a
    value nobody parsed (parsed ones are ``plausible``)."""
    try:
        return as_utc(when)
    except OverflowError:
        return _DATETIME_MIN if when.year == datetime.min.year else _DATETIME_MAX


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


def from_unix(seconds: float) -> datetime:
    """The instant of a unix timestamp (``GET /auth/time``), if it is a whole number of
    seconds and plausible; else ``ImplausibleInstant``: ``NaN``, infinities, ``10**14``
    (beyond what a datetime holds), ``-5`` or ``0`` (1970, before any OVH service)."""
    shown = repr(seconds)[:40]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ImplausibleInstant(shown)
    if not math.isfinite(seconds) or seconds != int(seconds):
        raise ImplausibleInstant(shown)
    whole = int(seconds)
    if not EARLIEST.timestamp() <= whole <= LATEST.timestamp():
        raise ImplausibleInstant(shown)
    return datetime.fromtimestamp(whole, UTC)


def utc_text(when: datetime) -> str:
    """An instant as messages and plans write it: ``2027-03-01 00:00 UTC``, with the
    seconds when they are not zero (``2027-03-01 00:00:30 UTC``)."""
    moment = as_utc(when)
    if moment.year < 1000:  # strftime's %Y is not zero-padded there, isoformat's is
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")
    # The same text, a third of strftime's cost: a plan writes one or two a service.
    if moment.second:
        return moment.isoformat(" ", "seconds")[:19] + " UTC"
    return moment.isoformat(" ", "minutes")[:16] + " UTC"


def iso_utc(when: datetime) -> str:
    """An instant as machine output writes it: ``2027-03-01T00:00:00Z`` (whole seconds)."""
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc_millis(when: datetime) -> str:
    """An instant as records write it: ``2027-03-01T00:00:00.123Z`` (UTC, milliseconds)."""
    moment = as_utc(when)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ics_utc(when: datetime) -> str:
    """An instant as iCalendar writes a UTC DATE-TIME (RFC 5545 3.3.5, form #2):
    ``20270301T000000Z``."""
    return as_utc(when).strftime("%Y%m%dT%H%M%SZ")


def day_text(when: datetime) -> str:
    """The UTC day of an instant: ``2027-03-01``."""
    return as_utc(when).strftime("%Y-%m-%d")


def in_zone(when: datetime, zone: tzinfo | None) -> datetime:
    """``when`` as shown in a display time zone (``None``: UTC). For renderers only: the
    rules always judge in UTC."""
    moment = as_utc(when)
    return moment if zone is None else moment.astimezone(zone)


# -- display (renderers only) -------------------------------------------------------------
#
# A user comparing with the control panel reads a UTC day as "a day off" (a domain that
# expires at Paris midnight is the day before in UTC). A display time zone changes what
# people read, never what the rules judge: only renderers call what follows, and machine
# output (plan JSON, services JSON/CSV, the journal, iCalendar) stays UTC.

ZONE_ENV = "RECONCILER_TZ"


class UnknownZone(ValueError):
    """A display time zone that is no IANA name this system knows; ``near`` holds the
    nearest known names (for the hint)."""

    def __init__(self, name: str, near: tuple[str, ...]) -> None:
        super().__init__(f"unknown time zone {name!r}")
        self.name = name
        self.near = near


# Names that mean UTC itself: shown as UTC, with no zone database needed.
_UTC_NAMES = frozenset(("utc", "z", "etc/utc", "zulu", "gmt", "etc/gmt", "universal"))


def display_zone(name: str) -> tzinfo | None:
    """The display zone an IANA name (``Europe/Paris``) stands for; ``None`` for UTC
    (``UTC``, ``Z``, ``Etc/UTC``, or an empty name); ``UnknownZone`` for any other name
    the zone database does not hold (``Europe/Pariss``, ``CET+1``, ``../etc/passwd``)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    wanted = name.strip()
    if not wanted or wanted.casefold() in _UTC_NAMES:
        return None
    try:
        return ZoneInfo(wanted)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: a name zoneinfo refuses outright (an absolute path, "..").
        import difflib

        # Not offered as a guess: names that are no place (the system's own settings).
        known = sorted(set(available_timezones()) - {"localtime", "posixrules", "Factory"})
        by_fold = {zone.casefold(): zone for zone in known}
        if wanted.casefold() in by_fold:  # "europe/paris": the zone database is exact
            near: tuple[str, ...] = (by_fold[wanted.casefold()],)
        else:
            found = difflib.get_close_matches(wanted.casefold(), list(by_fold), n=3, cutoff=0.6)
            near = tuple(by_fold[zone] for zone in found)
        raise UnknownZone(wanted, near) from None


def zone_name(zone: tzinfo | None) -> str:
    """How a header names the display zone: ``UTC`` or its IANA name (``Europe/Paris``)."""
    if zone is None:
        return "UTC"
    key = getattr(zone, "key", None)  # ZoneInfo's IANA name
    return key if isinstance(key, str) else (zone.tzname(None) or "UTC")


def _abbreviation(moment: datetime) -> str:
    """The zone of a shown instant, as it stood then: ``UTC``, ``CET``, ``CEST``; a zone
    with no letters (``-03``) as ``UTC-03``, so that the text never reads as a range."""
    shown = moment.tzname() or "UTC"
    return "UTC" + shown if shown[:1] in "+-" else shown


def shown_when(when: datetime, zone: tzinfo | None = None) -> str:
    """An instant for people, always with its time and zone: ``2027-02-28 00:00 UTC``,
    ``2027-02-28 01:00 CET`` in ``Europe/Paris``; seconds only when not zero (as
    ``utc_text``: a fraction of a second is no reader's concern)."""
    moment = in_zone(when, zone)
    fmt = "%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M"
    return f"{moment.strftime(fmt)} {_abbreviation(moment)}"


def when_text(when: datetime, zone: tzinfo | None = None) -> str:
    """An instant in a sentence: ``2027-03-01 00:00 UTC`` (``utc_text``), or in the display
    ``zone`` (``shown_when``): the one way messages, reasons and renderers say a moment."""
    moment = utc(when)
    return utc_text(moment) if zone is None else shown_when(moment, zone)


def shown_moment(when: datetime, zone: tzinfo | None = None) -> str:
    """An instant to the millisecond for people, with its zone (the journal's records,
    which are that precise): ``2026-03-02 09:00:00.123 UTC``, ``... 10:00:00.123 CET``."""
    moment = in_zone(when, zone)
    millis = f"{moment.microsecond // 1000:03d}"
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')}.{millis} {_abbreviation(moment)}"


def shown_day(when: datetime, zone: tzinfo | None = None) -> str:
    """An instant for people as a day (``2027-03-01``) when it falls at midnight in the
    display zone, else with its time and zone (``shown_when``)."""
    moment = in_zone(when, zone)
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.strftime("%Y-%m-%d")
    return shown_when(moment, zone)


def shown_date(when: datetime, zone: tzinfo | None = None) -> str:
    """The day an instant falls on in the display zone, without its time (a table's
    EXPIRY column): ``2027-03-01``."""
    return in_zone(when, zone).strftime("%Y-%m-%d")


# -- words with their instants typed --------------------------------------------------------
#
# A message the pure core words at plan time (a refusal) keeps its instants as values, so
# that a renderer shows them in the display zone; its text in UTC is what a plan file
# holds. One formatter for both: ``when_text``.

Phrase = tuple[str | datetime, ...]


def phrase_text(phrase: Phrase, zone: tzinfo | None = None) -> str:
    """A phrase's words with each instant said as ``when_text`` says it: in UTC
    (``2027-03-01 00:00 UTC``, the text a plan file holds) or in the display ``zone``."""
    return "".join(when_text(part, zone) if isinstance(part, datetime) else part for part in phrase)


def phrase_shown(text: str, phrase: Phrase, zone: tzinfo | None) -> str:
    """``text`` with its instants in the display ``zone``, from ``phrase``, the words it
    was made of; ``text`` as it is without a zone, without a phrase (a text read from a
    file), or when ``phrase`` is not that text: words from elsewhere (a hand-edited plan
    file) never replace what was said."""
    if zone is None or not phrase or phrase_text(phrase) != text:
        return text
    try:
        return phrase_text(phrase, zone)
    except OverflowError:  # an instant at datetime's limit has no local time: say UTC
        return text
