"""One duration grammar for every option (``reconciler.durations``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.durations import Duration, InvalidDuration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45),
        ("90sec", 90),
        ("30min", 1800),
        ("1.5h", 5400),
        ("12h", 43200),
        ("1d", 86400),
        ("30d", 30 * 86400),
        ("2w", 14 * 86400),
        ("0", 0),
        ("PT30M", 1800),
        ("P1D", 86400),
        ("P1W", 7 * 86400),
        ("P1DT2H30M", 86400 + 2 * 3600 + 1800),
        ("pt90s", 90),
        (" 10 min ", 600),
    ],
)
def test_fixed_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).seconds == seconds


@pytest.mark.parametrize(("text", "months"), [("1mo", 1), ("2months", 2), ("1y", 12), ("P1M", 1)])
def test_calendar_durations_keep_their_months(text: str, months: int) -> None:
    duration = parse_duration(text)
    assert duration.months == months
    with pytest.raises(ValueError, match="no fixed length"):
        _ = duration.seconds


def test_a_month_is_a_calendar_month() -> None:
    end_of_january = datetime(2027, 1, 31, 12, 0, tzinfo=UTC)
    assert parse_duration("1mo").after(end_of_january) == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert parse_duration("P1Y").after(end_of_january) == datetime(2028, 1, 31, 12, tzinfo=UTC)
    assert parse_duration("30d").after(end_of_january) == datetime(2027, 3, 2, 12, tzinfo=UTC)


def test_m_alone_is_refused_as_ambiguous_with_both_spellings_in_the_fix() -> None:
    with pytest.raises(InvalidDuration) as refused:
        parse_duration("1m")
    assert "ambiguous" in refused.value.message
    assert refused.value.fix == "write 1min for minutes or 1mo for months"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("30", "has no unit"),
        ("ten minutes", "is not a duration"),
        ("3 parsecs", "unknown unit"),
        ("1.5mo", "counted whole"),
        ("P", "not an ISO 8601 duration"),
        ("PT", "not an ISO 8601 duration"),
        ("P1MT", "not an ISO 8601 duration"),
        ("-5s", "is not a duration"),
        ("9" * 9 + "w", "longer than a century"),
        ("", "is not a duration"),
    ],
)
def test_what_is_no_duration_says_why(text: str, says: str) -> None:
    with pytest.raises(InvalidDuration) as refused:
        parse_duration(text)
    assert says in refused.value.message
    assert refused.value.fix


def test_options_needing_a_fixed_length_refuse_months() -> None:
    with pytest.raises(InvalidDuration, match="calendar months"):
        parse_duration("1mo", allow_calendar=False)
    assert parse_duration("1d", allow_calendar=False).as_timedelta().days == 1


def test_durations_print_back_in_the_grammar() -> None:
    for text in ("45s", "30min", "12h", "2d", "1w", "1mo", "1y", "P1Y2M", "P1MT90S"):
        assert str(parse_duration(text)) == text
        assert parse_duration(str(parse_duration(text))) == parse_duration(text)
    assert str(Duration()) == "0s"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1d12h", 129_600), ("1h 30min", 5_400), ("2w1d", 1_296_000), ("1h1h", 7_200)],
)
def test_several_terms_are_summed(text: str, seconds: float) -> None:
    assert parse_duration(text, allow_calendar=False).seconds == seconds


def test_a_term_of_several_is_judged_as_one_alone() -> None:
    with pytest.raises(InvalidDuration, match="ambiguous"):
        parse_duration("1d90m")
    with pytest.raises(InvalidDuration, match="calendar months"):
        parse_duration("1mo1d", allow_calendar=False)
    assert parse_duration("1mo15d") == Duration(months=1, fixed=15 * 86_400)


def test_a_sign_only_where_a_move_back_is_meant() -> None:
    with pytest.raises(InvalidDuration, match="is not a duration"):
        parse_duration("-1h")
    assert parse_duration("-1h", allow_negative=True).fixed == -3_600
    assert parse_duration("-P1D", allow_negative=True).fixed == -86_400
    assert parse_duration("+2d", allow_negative=True).fixed == 172_800
