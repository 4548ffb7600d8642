"""The shared kernel: fen money, ratios, regions, business dates, working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yidi_events.kernel import (
    ControlledClock,
    RegionRelation,
    WorkingCalendar,
    business_date,
    fen_to_yuan,
    parse_ratio,
    relation,
    round_half_up,
    yuan_to_fen,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [("19435.00", 1943500), ("0.05", 5), ("12.5", 1250), ("7", 700), ("-3.10", -310)],
)
def test_yuan_strings_become_exact_fen(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize(
    "bad", ["1.005", "1e3", "NaN", "", "12,50", " ", "1.2.3", "２５５.00", "٣.10"]
)
def test_amounts_that_are_not_yuan_with_two_decimals_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="yuan"):
        yuan_to_fen(bad)


def test_floats_are_refused_even_when_they_look_exact() -> None:
    with pytest.raises(ValueError, match="float"):
        yuan_to_fen(0.5)  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_round_trips_through_yuan_text(fen: int) -> None:
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


def test_rounding_is_half_up_away_from_zero() -> None:
    assert round_half_up(Decimal("2.5")) == 3
    assert round_half_up(Decimal("2.4999")) == 2
    assert round_half_up(Decimal("-2.5")) == -3


def test_ratios_have_four_places_and_lie_between_zero_and_one() -> None:
    assert parse_ratio("0.85") == Decimal("0.8500")
    for bad in ("1.0001", "-0.1", "0.12345", "abc"):
        with pytest.raises(ValueError, match=r"ratio|places"):
            parse_ratio(bad)


def test_regions_relate_by_city_and_province_prefix() -> None:
    assert relation("320500", "320100") is RegionRelation.IN_PROVINCE
    assert relation("320102", "320105") is RegionRelation.LOCAL
    assert relation("611000", "320100") is RegionRelation.CROSS_PROVINCE
    with pytest.raises(ValueError, match="six-digit"):
        relation("32050", "320100")


def test_business_date_is_the_shanghai_calendar_day() -> None:
    assert business_date(datetime(2026, 3, 1, 15, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert business_date(datetime(2026, 3, 1, 16, 0, tzinfo=UTC)) == date(2026, 3, 2)
    with pytest.raises(ValueError, match="aware"):
        business_date(datetime(2026, 3, 1))


def test_working_days_skip_weekends_and_holidays_and_count_make_up_days() -> None:
    calendar = WorkingCalendar.of(
        holidays=[date(2026, 10, 1)], working_weekends=[date(2026, 10, 10)]
    )
    assert calendar.add_working_days(date(2026, 11, 20), 2) == date(2026, 11, 24)  # Fri -> Tue
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 2)
    assert calendar.is_working_day(date(2026, 10, 10))
    assert calendar.on_or_after(date(2026, 11, 21)) == date(2026, 11, 23)
    assert calendar.working_days_between(date(2026, 11, 20), date(2026, 11, 24)) == 2


def test_a_controlled_clock_moves_forward_only() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    clock = ControlledClock(start)
    assert abs(clock.now() - start) < timedelta(seconds=5)
    clock.advance(timedelta(days=1))
    assert clock.now() - start >= timedelta(days=1)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(start)
