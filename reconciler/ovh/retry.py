"""The one retry decision: given a failed attempt, give up or wait and try again.

The client's sending (``OvhClient``) asks it after every failed attempt, and so does
apply's session before it sends a mutating call again (``reconciler.apply.session``).
It is pure: the clock, the sleep and the randomness stay with the caller.

The rules, in order:

1. an error that trying again cannot mend (``retryable`` False: a 4xx, a bound
   exceeded) is given up at once;
2. a **mutating** call whose outcome is unknown (``Delivery.UNKNOWN``: a 5xx, a dropped
   connection, a timeout after the request left) is never sent again blindly: given up,
   so that the caller re-reads the account and decides (apply's session does; it then
   asks again with ``Delivery.NOT_APPLIED`` when the account shows no effect);
3. the attempts are bounded: ``RetryPolicy.max_attempts``, or ``connect_attempts`` when
   the connection could not even be opened (nearly always a wrong endpoint, and the user
   should hear so quickly);
4. the wait is capped exponential backoff with full jitter, at least the ``Retry-After``
   the API asked for; a ``Retry-After`` beyond ``max_retry_after`` is given up at once;
5. a wait that would end past the time left (the call's retry deadline, or the read's)
   is given up: the error says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from reconciler.errors import ApiError, HttpError, RateLimited, TransportError


class Delivery(StrEnum):
    """What is known of whether a failed request took effect."""

    NOT_SENT = "not sent"  # it never left: the connection could not be opened, no token
    NOT_APPLIED = "not applied"  # it was answered, and nothing was done (a 429; a re-read)
    UNKNOWN = "unknown"  # it may have been processed: a 5xx, a drop, a timeout


def delivery_of(error: ApiError) -> Delivery:
    """What an error of the client says of its request: a connection never opened is
    ``NOT_SENT``; a 429 did nothing (``NOT_APPLIED``); anything else may have taken
    effect."""
    if isinstance(error, TransportError) and not error.sent:
        return Delivery.NOT_SENT
    if isinstance(error, RateLimited):
        return Delivery.NOT_APPLIED
    return Delivery.UNKNOWN


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many attempts and how long the waits between them."""

    max_attempts: int = 6  # of a call, the first one included
    connect_attempts: int = 2  # when the connection cannot even be opened
    base_delay: float = 0.25  # seconds; the cap of attempt n is base * 2**(n-1)
    max_delay: float = 8.0
    max_retry_after: float = 120.0  # a longer Retry-After fails at once, saying so

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.connect_attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays cannot be negative")

    def backoff(self, attempt: int, random: Callable[[], float]) -> float:
        """Full jitter: a uniform delay in [0, min(cap, base * 2**(attempt-1)))."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return random() * ceiling


@dataclass(frozen=True, slots=True)
class Retry:
    """Wait ``delay`` seconds, then send again."""

    delay: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Stop and raise ``error`` (its message says why when the attempts ran out)."""

    error: ApiError


Decision = Retry | GiveUp


def decide(
    error: ApiError,
    *,
    attempt: int,
    mutating: bool,
    policy: RetryPolicy,
    random: Callable[[], float],
    delivery: Delivery | None = None,
    time_left: float | None = None,
) -> Decision:
    """Whether attempt number ``attempt`` (1 for the first), failed with ``error``, is
    tried again and after how long (the rules are in the module docstring).

    ``delivery`` defaults to what the error says (``delivery_of``); a caller that has
    re-read the account and seen no effect passes ``Delivery.NOT_APPLIED``.
    ``time_left`` is the seconds left before the deadline of the call (None: none).
    """
    delivery = delivery_of(error) if delivery is None else delivery
    if not error.retryable:
        return GiveUp(error)
    if mutating and delivery is Delivery.UNKNOWN:
        return GiveUp(error)
    never_connected = isinstance(error, TransportError) and not error.sent
    limit = policy.connect_attempts if never_connected else policy.max_attempts
    if attempt >= limit:
        return GiveUp(error.with_note(f"gave up after {attempt} attempts"))
    delay = policy.backoff(attempt, random)
    retry_after = error.retry_after if isinstance(error, HttpError) else None
    if retry_after is not None:
        if retry_after > policy.max_retry_after:
            return GiveUp(error)
        delay = max(delay, retry_after)
    if time_left is not None and delay >= time_left:
        return GiveUp(
            error.with_note(
                f"gave up after {attempt} attempt{'s' * (attempt > 1)}: no time left for another"
            )
        )
    return Retry(delay)
