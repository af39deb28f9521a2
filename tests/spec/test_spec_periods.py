"""Renewal periods: whole months, P1M to P120M, written as OVH writes them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.periods import (
    InvalidPeriod,
    Period,
    is_period,
    normalise_period,
    parse_period,
)


@pytest.mark.parametrize(
    ("text", "months"),
    [("P1M", 1), ("P12M", 12), ("P120M", 120), ("P1Y", 12), ("P1Y6M", 18), ("p3m", 3)],
)
def test_tolerant_parsing_reads_any_whole_month_duration(text: str, months: int) -> None:
    assert parse_period(text) == Period(months)
    assert normalise_period(text) == f"P{months}M"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("P1Y", "P12M"), ("P2Y", "P24M"), ("P1Y6M", "P18M"), ("p12m", "P12M"), ("P012M", "P12M")],
)
def test_strict_parsing_refuses_other_spellings_and_says_what_to_write(
    text: str, canonical: str
) -> None:
    with pytest.raises(InvalidPeriod) as info:
        parse_period(text, strict=True)
    assert info.value.fix.startswith(f"write {canonical} ")
    assert not is_period(text)
    assert is_period(canonical)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("P0M", "out of range"),
        ("P121M", "out of range"),
        ("P11Y", "out of range"),
        ("P30D", "whole months"),
        ("P1W", "whole months"),
        ("PT12H", "whole months"),
        ("P1M2D", "whole months"),
        ("12", "ISO 8601"),
        ("P", "ISO 8601"),
        ("", "ISO 8601"),
        ("monthly", "ISO 8601"),
        ("P1.5M", "ISO 8601"),
        ("P-1M", "ISO 8601"),
        ("P１２M", "ISO 8601"),  # full-width digits are not ISO 8601 digits
    ],
)
def test_what_is_not_a_period_is_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(InvalidPeriod) as info:
        parse_period(text)
    assert why in info.value.message + " " + info.value.fix


def test_a_hostile_number_is_never_converted_whole() -> None:
    with pytest.raises(InvalidPeriod) as info:
        parse_period("P" + "9" * 100_000 + "M")
    assert len(str(info.value)) < 200


def test_period_values_are_ordered_and_range_checked() -> None:
    assert Period(1) < Period(12)
    assert str(Period(12)) == "P12M"
    with pytest.raises(InvalidPeriod):
        Period(0)


@given(st.integers(min_value=1, max_value=120))
def test_canonical_text_round_trips(months: int) -> None:
    text = str(Period(months))
    assert parse_period(text, strict=True) == Period(months)
    assert normalise_period(text) == text


@given(st.text(max_size=30))
def test_any_text_is_a_period_or_an_invalid_period(text: str) -> None:
    try:
        period = parse_period(text)
    except InvalidPeriod as invalid:
        assert invalid.message and invalid.fix
    else:
        assert 1 <= period.months <= 120
