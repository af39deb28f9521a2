"""billing.pricing read into typed money: Decimal amounts, absent or unusable prices as
None (never guessed), on recorded API shapes."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reconciler.core.live import parse_service
from reconciler.core.periods import months_of
from reconciler.core.pricing import EngagementTerms, Money, parse_price, parse_pricing

FIXTURES = Path(__file__).parent / "fixtures"


def answer(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data["response"])


def test_the_recorded_price_is_read_as_decimal_money() -> None:
    service = parse_service(answer("vps_automatic_monthly"))
    assert service.pricing is not None
    assert service.pricing.price == Money("EUR", Decimal("6.0"))
    assert isinstance(service.pricing.price.amount, Decimal)
    assert service.pricing.duration == "P1M"
    assert service.pricing.interval == 1
    assert service.pricing.per_year == Money("EUR", Decimal("72.00"))


def test_a_float_price_keeps_the_cents_the_json_wrote() -> None:
    data = answer("vps_automatic_monthly")
    data["billing"]["pricing"]["price"] = {"currencyCode": "EUR", "text": "0.10 €", "value": 0.1}
    data["billing"]["pricing"]["duration"] = "P3M"
    pricing = parse_service(data).pricing
    assert pricing is not None
    # Decimal(0.1) would be 0.1000000000000000055511151231257827...
    assert pricing.price.amount == Decimal("0.1")
    assert pricing.text == "0.10 €"
    assert pricing.per_year == Money("EUR", Decimal("0.40"))


def test_engagement_configuration_is_kept() -> None:
    data = answer("vps_automatic_monthly")
    data["billing"]["pricing"]["engagementConfiguration"] = {
        "defaultEndAction": "STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE",
        "duration": "P12M",
        "type": "periodic",
    }
    pricing = parse_service(data).pricing
    assert pricing is not None
    assert pricing.engagement == EngagementTerms(
        duration="P12M",
        type="periodic",
        default_end_action="STOP_ENGAGEMENT_FALLBACK_DEFAULT_PRICE",
    )


@pytest.mark.parametrize(
    "pricing",
    [
        None,
        {},
        {"duration": "P1M", "interval": 1},
        {"price": None},
        {"price": {"currencyCode": "N/A", "value": 6.0, "text": "6.00"}},
        {"price": {"currencyCode": "EUR", "text": "6.00 €"}},
        {"price": {"currencyCode": "EUR", "value": "six"}},
        {"price": {"currencyCode": "EUR", "value": True}},
        {"price": {"currencyCode": "EUR", "value": float("nan")}},
        {"price": {"currencyCode": "EUR", "value": 1e300}},
        {"price": {"value": 6.0}},
        "6 EUR",
    ],
    ids=[
        "null",
        "empty",
        "no-price",
        "null-price",
        "currency-n/a",
        "no-value",
        "text-value",
        "boolean-value",
        "nan",
        "absurd",
        "no-currency",
        "not-an-object",
    ],
)
def test_no_usable_price_is_none_and_the_service_still_reads(pricing: Any) -> None:
    data = answer("vps_automatic_monthly")
    if pricing is None:
        del data["billing"]["pricing"]
    else:
        data["billing"]["pricing"] = pricing
    service = parse_service(data)
    assert service.pricing is None
    assert service.name  # the rest of the service is read as before


def test_a_period_not_in_months_gives_no_yearly_price() -> None:
    data = answer("vps_automatic_monthly")
    data["billing"]["pricing"]["duration"] = "P30D"
    pricing = parse_service(data).pricing
    assert pricing is not None and pricing.per_year is None


def test_months_of_durations() -> None:
    assert [months_of(t) for t in ("P1M", "P12M", "P1Y", "p2y6m", "P0M", "PT1H", "", None)] == [
        1,
        12,
        12,
        30,
        None,
        None,
        None,
        None,
    ]


def test_parse_price_of_integer_value() -> None:
    assert parse_price({"currencyCode": "USD", "value": 7}) == Money("USD", Decimal(7))


def test_equal_blocks_share_one_pricing_and_different_ones_never_do() -> None:
    """parse_pricing is memoised on the block's values and their types: values that are
    equal in Python but not the same price (1, 1.0 and True; 0.0 and -0.0) are read
    apart, and a block shared by many services is read once."""

    def block(value: Any, interval: Any = 1) -> dict[str, Any]:
        price = {"currencyCode": "EUR", "text": "x", "value": value}
        return {"price": price, "duration": "P1M", "interval": interval}

    assert parse_pricing(block(12.5)) is parse_pricing(block(12.5))
    amounts = [parse_pricing(block(value)) for value in (1, 1.0, 0.0, -0.0)]
    assert [str(p.price.amount) if p else None for p in amounts] == ["1", "1.0", "0.0", "-0.0"]
    assert parse_pricing(block(True)) is None  # a boolean is no amount
    intervals = [parse_pricing(block(3.5, interval)) for interval in (1, True, 1.0)]
    assert [p.interval if p else None for p in intervals] == [1, None, None]
    terms = {"duration": "P12M", "type": "periodic", "defaultEndAction": "CANCEL_SERVICE"}
    committed = parse_pricing({**block(3.5), "engagementConfiguration": terms})
    assert committed is not None and committed.engagement is not None
    uncommitted = parse_pricing(block(3.5))
    assert uncommitted is not None and uncommitted.engagement is None


def test_a_commitment_block_without_known_fields_is_not_read_as_no_commitment() -> None:
    """Terms whose three fields are unknown are terms all unknown, not none: the memo's
    key tells them apart from an empty block or null, in either order."""
    price = {"currencyCode": "EUR", "text": "x", "value": 4.25}
    opaque = {"price": price, "duration": "P1M", "engagementConfiguration": {"other": 1}}
    for block in (
        {**opaque, "engagementConfiguration": None},
        opaque,
        {**opaque, "engagementConfiguration": {}},
    ):
        read = parse_pricing(block)
        assert read is not None
        has_terms = bool(block["engagementConfiguration"])
        assert (read.engagement is not None) is has_terms
        if has_terms:
            assert read.engagement == EngagementTerms(None, None, None)
