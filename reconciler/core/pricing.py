"""What a service costs, as ``GET /services/{id}`` states it (``billing.pricing``).

Money is ``Decimal``, never ``float``: a plan that adds renewal prices must show the
cents OVH bills, not a binary approximation of them. The JSON reader hands us a float for
``price.value``; its shortest text (``repr``) is the number the JSON wrote, so that text
is what becomes the ``Decimal``.

A price OVH does not give (no ``pricing`` block, a null price, a currency ``N/A``) is
``None``: the plan then says the price is unknown. Nothing here ever guesses one. A
pricing block of the wrong shape reads as unknown too: a price is information for the
reviewer, never a reason to refuse reading the service.

Pure and small: no I/O, no clock, nothing else of reconciler.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from reconciler.core.periods import months_of

# ``order.CurrencyCodeEnum`` holds "N/A": a price in no currency is no price.
NO_CURRENCY = "N/A"
_CURRENCY = re.compile(r"[A-Za-z]{1,12}")  # "EUR", "USD", ... and OVH's "points"
_MAX_TEXT = 40  # characters of OVH's own text kept for display (an untrusted API)
_MAX_AMOUNT = Decimal(10) ** 12  # far above any service price; beyond it the value is noise


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in one currency. Amounts of two currencies are never added."""

    currency: str  # ISO 4217 code as OVH writes it ("EUR"), or "points"
    amount: Decimal

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.currency}"


@dataclass(frozen=True, slots=True)
class EngagementTerms:
    """``billing.pricing.engagementConfiguration``: the commitment the price comes with."""

    duration: str | None  # ISO 8601, e.g. "P12M"
    type: str | None  # "periodic" (paid each period) | "upfront" (paid at once)
    default_end_action: str | None  # an end strategy, as OVH writes it


@dataclass(frozen=True, slots=True)
class Pricing:
    """The price of one renewal and how long it buys (``billing.pricing``)."""

    price: Money
    text: str | None  # OVH's own rendering ("6.00 €"), cut short
    duration: str | None  # what one renewal buys, ISO 8601 ("P1M", "P12M")
    interval: int | None  # billing.pricing.interval, as OVH gives it
    engagement: EngagementTerms | None = None

    @property
    def months(self) -> int | None:
        """Months one renewal buys, from ``duration``; None when it is not in months."""
        return months_of(self.duration)

    @property
    def per_year(self) -> Money | None:
        """What a year of renewals costs at this price; None when the period is unknown."""
        months = self.months
        if months is None:
            return None
        yearly = (self.price.amount * 12 / months).quantize(Decimal("0.01"))
        return Money(self.price.currency, yearly)


def parse_pricing(data: Any) -> Pricing | None:
    """The ``Pricing`` of a ``billing.pricing`` block, or None when OVH gives no price.

    Memoised on the block's fields this reads: the services of one product share a
    price, so an account of 10,000 has a handful of distinct blocks (issue 19: a fifth
    of the parse was reading the same price again)."""
    if not isinstance(data, dict):
        return None
    key = _pricing_key(data)
    return _parse_pricing(data) if key is None else _pricing_of_key(key)


def _pricing_key(data: dict[str, Any]) -> tuple[object, ...] | None:
    """Every value ``_parse_pricing`` reads, whether the commitment block is empty, then
    the values' types (``1``, ``1.0`` and ``True`` are equal keys but not the same
    price); None when one is anything but null, text or a number, or is zero (``0.0``
    and ``-0.0`` are equal but not the same amount): that block is read without the
    memo."""
    price = data.get("price")
    terms = data.get("engagementConfiguration")
    if not isinstance(price, dict) or not (terms is None or isinstance(terms, dict)):
        return None
    values = (
        price.get("currencyCode"),
        price.get("value"),
        price.get("text"),
        data.get("duration"),
        data.get("interval"),
        *(
            (None, None, None)
            if not terms
            else (terms.get("duration"), terms.get("type"), terms.get("defaultEndAction"))
        ),
    )
    types = tuple(map(type, values))
    if not _KEYED_TYPES.issuperset(types) or 0 in values:
        return None
    # A block with fields but none of the three read ({"other": 1}) is terms all unknown;
    # an empty one or null is no terms: the flag keeps them apart.
    return (*values, bool(terms), *types)


@lru_cache(maxsize=4096)  # distinct blocks remembered: far more than an account has
def _pricing_of_key(key: tuple[object, ...]) -> Pricing | None:
    # A pure function of the key, which holds every field ``_parse_pricing`` reads: the
    # block is rebuilt from it, so equal keys give equal prices by construction.
    currency, value, text, duration, interval, terms_duration, terms_type, end, has_terms = key[:9]
    terms = {"duration": terms_duration, "type": terms_type, "defaultEndAction": end}
    block = {
        "price": {"currencyCode": currency, "value": value, "text": text},
        "duration": duration,
        "interval": interval,
        "engagementConfiguration": terms if has_terms else None,
    }
    return _parse_pricing(block)


_KEYED_TYPES = frozenset((str, int, float, bool, type(None)))


def _parse_pricing(data: dict[str, Any]) -> Pricing | None:
    price = parse_price(data.get("price"))
    if price is None:
        return None
    raw_price = data.get("price")
    text = raw_price.get("text") if isinstance(raw_price, dict) else None
    interval = data.get("interval")
    return Pricing(
        price=price,
        text=text[:_MAX_TEXT] if isinstance(text, str) and text else None,
        duration=_short_str(data.get("duration")),
        interval=interval if isinstance(interval, int) and not isinstance(interval, bool) else None,
        engagement=_engagement_terms(data.get("engagementConfiguration")),
    )


def parse_price(data: Any) -> Money | None:
    """An ``order.Price`` (``{value, currencyCode, text}``) as ``Money``, or None."""
    if not isinstance(data, dict):
        return None
    currency = data.get("currencyCode")
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        return None  # includes "N/A"
    amount = _amount(data.get("value"))
    if amount is None:
        return None
    return Money(currency, amount)


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        # repr of a float is the shortest text that reads back as it: "12.99", not
        # 12.9900000000000002131628...
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) >= _MAX_AMOUNT:
        return None
    return amount


def _engagement_terms(data: Any) -> EngagementTerms | None:
    if not isinstance(data, dict) or not data:
        return None
    return EngagementTerms(
        duration=_short_str(data.get("duration")),
        type=_short_str(data.get("type")),
        default_end_action=_short_str(data.get("defaultEndAction")),
    )


def _short_str(value: Any) -> str | None:
    return value[:_MAX_TEXT] if isinstance(value, str) and value else None
