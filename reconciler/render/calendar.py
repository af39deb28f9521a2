"""The account's deadlines as an iCalendar feed (RFC 5545), for ``services --format ics`` (pure).

A team subscribes its calendar to the output (or imports it) and sees, per service:

- its **expiry** (``billing.expirationDate``): when it renews, expires unless renewed by
  hand, or is terminated;
- for a pending termination, the **last moment to cancel** it: 24 hours before the
  termination takes effect (the commitment's end for a termination at the end of a
  commitment, else the expiry) — ``rules.cancel_deadline``, the very instant the planner
  refuses a cancellation from, so the calendar and ``plan`` never disagree;
- the day its **commitment ends** (``billing.engagement.endDate``), with what its end
  rule does then (a new commitment, a renewal without one, a termination): an all-day
  event, as OVH gives a day and no time.

Each event's UID is derived from the service id and the kind of deadline only, never
from the date: when a service renews and its expiry moves a year, a re-read feed
*updates* the event instead of adding a second one. Times are written in UTC (``Z``), so
no time-zone table is needed to read them. ``DTSTAMP`` is the instant the account was
read (the injected clock), not the wall clock, so the same account read at the same
instant gives the same bytes.

Written by hand rather than with a library: the subset we need (text escaping, line
folding, UTC date-times) is small and fixed, and it keeps the command line's
dependencies as they are. The tests parse the output back with the ``icalendar``
library.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum

from reconciler.core.lifecycle import LiveLifecycle
from reconciler.core.live import EndStrategy, LiveService
from reconciler.core.rules import cancel_deadline, expiry_of
from reconciler.render.services import ServiceListing
from reconciler.render.wording import clean
from reconciler.times import ics_utc, utc, when_text

PRODID = "-//reconciler//OVHcloud service deadlines//EN"
# The right-hand side of every UID: names the producer, so that our UIDs can never
# collide with another calendar's events in the same client.
UID_DOMAIN = "reconciler"
# RFC 5545 3.1: content lines are folded at 75 octets (the CRLF not counted).
_FOLD_AT = 75


class DeadlineKind(StrEnum):
    """The kinds of deadline an event stands for; the value is part of the event's UID,
    so it must never change once released."""

    EXPIRY = "expiry"
    CANCEL_BY = "cancel-termination-by"
    COMMITMENT_END = "commitment-end"


@dataclass(frozen=True, slots=True)
class Deadline:
    """One date a team can act on, for one service."""

    service: LiveService
    kind: DeadlineKind
    at: datetime  # in UTC
    # The termination the deadline is about (CANCEL_BY only): when it takes effect.
    terminates_at: datetime | None = None
    # COMMITMENT_END: the day, as OVH gives it (``at`` is its midnight UTC, for sorting).
    day: date | None = None

    @property
    def uid(self) -> str:
        return f"{self.service.service_id}-{self.kind.value}@{UID_DOMAIN}"


# Pending terminations: the services whose termination can still be cancelled.
_TERMINATING = frozenset(
    (LiveLifecycle.TERMINATE_AT_EXPIRY, LiveLifecycle.TERMINATE_AT_COMMITMENT_END)
)


def deadlines(services: Iterable[LiveService]) -> tuple[Deadline, ...]:
    """Every deadline of ``services``, in their order, the expiry before the last moment
    to cancel. A service that is gone (terminated, expired, being deleted) has none: its
    dates are history, and a feed that drops them removes them from a subscribed
    calendar. A service without a known date has none either (never guessed)."""
    found: list[Deadline] = []
    for service in services:
        if service.gone or service.lifecycle is LiveLifecycle.NOT_UNDERSTOOD:
            # NOT_UNDERSTOOD: what happens at its dates is unknown; an event would
            # have to guess its words.
            continue
        expiry = expiry_of(service)
        if expiry is not None:
            found.append(Deadline(service, DeadlineKind.EXPIRY, expiry))
        if service.lifecycle in _TERMINATING:
            last = cancel_deadline(service)
            if last is not None:
                found.append(
                    Deadline(
                        service,
                        DeadlineKind.CANCEL_BY,
                        last,
                        terminates_at=utc(service.terminates_at or last),
                    )
                )
        end = service.commitment.end_date if service.commitment else None
        if end is not None:
            midnight = datetime.combine(end, time(0), tzinfo=UTC)
            found.append(Deadline(service, DeadlineKind.COMMITMENT_END, midnight, day=end))
    return tuple(found)


def render_ics(listing: ServiceListing, *, stamp: datetime) -> str:
    """The listing's deadlines as one ``VCALENDAR``, CRLF line ends, folded lines.

    ``stamp`` is the ``DTSTAMP`` of every event: the injected clock's reading."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        # A name for the subscription, shown by most clients (a de-facto extension).
        "X-WR-CALNAME:" + escape_text(f"OVHcloud deadlines ({clean(listing.endpoint)})"),
    ]
    for deadline in deadlines(row.service for row in listing.rows):
        lines.extend(_event(deadline, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def _event(deadline: Deadline, stamp: datetime) -> Iterator[str]:
    summary, description = _words(deadline)
    yield "BEGIN:VEVENT"
    yield f"UID:{deadline.uid}"
    yield f"DTSTAMP:{ics_utc(utc(stamp))}"
    # No DTEND: an event with a date-time DTSTART and no end lasts no time (RFC 5545
    # 3.6.1), which is what a deadline is.
    if deadline.day is not None:
        # A day without a time: an all-day event (RFC 5545 3.6.1: it ends the next day).
        yield f"DTSTART;VALUE=DATE:{deadline.day.strftime('%Y%m%d')}"
    else:
        yield f"DTSTART:{ics_utc(utc(deadline.at))}"
    yield "SUMMARY:" + escape_text(summary)
    yield "DESCRIPTION:" + escape_text(description)
    yield "CATEGORIES:" + escape_text(deadline.kind.value)
    # Free: a deadline does not make anyone busy.
    yield "TRANSP:TRANSPARENT"
    yield "END:VEVENT"


def _words(deadline: Deadline) -> tuple[str, str]:
    service = deadline.service
    name = clean(service.name)
    where = f"{name} ({clean(service.type)}, service {service.service_id})"
    if deadline.kind is DeadlineKind.CANCEL_BY:
        ends = when_text(deadline.terminates_at or deadline.at)
        cause = (
            "at the end of its commitment"
            if service.lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END
            else "at expiry"
        )
        return (
            f"Last moment to cancel the termination of {name}",
            f"{where} is terminated {cause}, on {ends}, and its data deleted. "
            "Its termination can be cancelled until 24 hours before, not later: "
            f"until {when_text(deadline.at)}.",
        )
    if deadline.kind is DeadlineKind.COMMITMENT_END:
        day = (deadline.day or deadline.at.date()).isoformat()
        strategy = service.commitment.strategy if service.commitment else None
        if service.lifecycle is LiveLifecycle.TERMINATE_AT_COMMITMENT_END:
            # A termination at the commitment's end (terminateAtEngagementDate) wins
            # over the end rule, whatever it says (derive_lifecycle, row 5).
            strategy = EndStrategy.CANCEL_SERVICE
        then = _AT_COMMITMENT_END[strategy] if strategy else _NO_RULE
        return (f"The commitment of {name} ends", f"{where} is committed until {day}. {then}")
    what = {
        LiveLifecycle.RENEW: ("renews", "It renews automatically"),
        LiveLifecycle.MANUAL_RENEW: (
            "expires unless renewed",
            "It renews by hand only: unless it is paid it expires",
        ),
        LiveLifecycle.TERMINATE_AT_EXPIRY: (
            "is terminated",
            "It is terminated at expiry and its data deleted",
        ),
        LiveLifecycle.TERMINATE_AT_COMMITMENT_END: (
            "expires",
            "It is terminated at the end of its commitment"
            + (f", on {when_text(end_at)}" if (end_at := _terminates(service)) else ""),
        ),
    }
    verb, sentence = what.get(service.lifecycle, ("expires", "It expires"))
    return (
        f"{name} {verb}",
        f"{where} expires on {when_text(deadline.at)}. {sentence}.",
    )


# What a commitment's end rule (services.billing.engagement.EndStrategyEnum) does then.
_AT_COMMITMENT_END = {
    EndStrategy.CANCEL_SERVICE: "Then it is terminated and its data deleted.",
    EndStrategy.REACTIVATE_ENGAGEMENT: "Then a new commitment of the same length starts.",
    EndStrategy.STOP_ENGAGEMENT_KEEP_PRICE: (
        "Then it renews without a commitment, at the same price."
    ),
    EndStrategy.STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE: (
        "Then it renews without a commitment, at the default price."
    ),
}
_NO_RULE = "OVH gives no end rule for it."


def _terminates(service: LiveService) -> datetime | None:
    found = service.terminates_at
    return utc(found) if found is not None else None


# -- RFC 5545 encoding ------------------------------------------------------------------


def escape_text(value: str) -> str:
    r"""A TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, a newline
    written ``\n``; any other control character (from an API name) shown, not passed."""
    lines = value.replace("\r\n", "\n").split("\n")
    return "\\n".join(
        clean(line).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,") for line in lines
    )


def fold(line: str) -> str:
    """A content line folded at 75 octets (RFC 5545 3.1): CRLF then one space before each
    continuation, never inside a UTF-8 character."""
    encoded = line.encode("utf-8")
    if len(encoded) <= _FOLD_AT:
        return line
    parts: list[str] = []
    current = ""
    size = 0
    limit = _FOLD_AT
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size = "", 0
            limit = _FOLD_AT - 1  # a continuation line starts with the folding space
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)
