"""The shared kernel: fen money, ratios, regions, business dates, working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yidi_events.kernel import (
    CalendarYearUnknown,
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
from yidi_events.settings import ServiceSettings


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


# 国务院办公厅关于2026年部分节假日安排的通知 (国办发明电〔2025〕7号, 4 November 2025): Spring
# Festival 15-23 February off, Saturday 14 and Saturday 28 February working; Labour Day 1-5 May
# off, Saturday 9 May working.
OFFICIAL = WorkingCalendar.official()


def test_working_days_across_spring_festival_2026_follow_the_state_councils_notice() -> None:
    assert OFFICIAL.is_working_day(date(2026, 2, 14))  # a Saturday, made a working day
    assert not OFFICIAL.is_working_day(date(2026, 2, 16))  # a Monday in the holiday
    # Friday 13 February + 1: Saturday 14 (make-up); + 2: the next is Tuesday 24 February.
    assert OFFICIAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert OFFICIAL.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    # Thursday 12 February + 5: Fri 13, Sat 14, Tue 24, Wed 25, Thu 26.
    assert OFFICIAL.add_working_days(date(2026, 2, 12), 5) == date(2026, 2, 26)
    # Thursday 26 February + 2: Fri 27, then Saturday 28 (make-up).
    assert OFFICIAL.add_working_days(date(2026, 2, 26), 2) == date(2026, 2, 28)
    # A deadline on the holiday moves to the first working day after it.
    assert OFFICIAL.on_or_after(date(2026, 2, 18)) == date(2026, 2, 24)
    # 13 Feb to 28 Feb: Sat 14, Tue 24 - Fri 27, Sat 28.
    assert OFFICIAL.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6


def test_a_year_without_a_notice_is_a_configuration_error_not_a_weekday_count() -> None:
    year = max(OFFICIAL.known_years or ()) + 1
    with pytest.raises(CalendarYearUnknown) as refused:
        OFFICIAL.add_working_days(date(year - 1, 12, 28), 10)
    assert refused.value.rule == "calendar.year_unknown"
    assert refused.value.values == {"year": year}
    assert str(year) in refused.value.message
    assert "YIDI_HOLIDAYS_FILE" in refused.value.message


def test_a_holidays_file_adds_a_year_from_its_notice() -> None:
    year = max(OFFICIAL.known_years or ()) + 1
    monday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 0)
    saturday = monday.replace(day=monday.day + 5)
    calendar = WorkingCalendar.official(
        {str(year): {"holidays": [monday.isoformat()], "working_weekends": [saturday.isoformat()]}}
    )
    assert not calendar.is_working_day(monday)
    assert calendar.is_working_day(saturday)
    # Friday before the Monday + 1 skips the weekend and the holiday: Tuesday.
    assert calendar.add_working_days(monday.replace(day=monday.day - 3), 1) == monday.replace(
        day=monday.day + 1
    )
    assert calendar.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)  # 2026 kept


@pytest.mark.parametrize(
    ("notices", "says"),
    [
        ({"27": {}}, "is not a year"),
        ({"2031": {"holidays": ["2031-13-01"]}}, "is not a date"),
        ({"2031": {"holidays": ["2030-12-31"]}}, "is not in 2031"),
        ({"2031": {"working_weekends": ["2031-01-06"]}}, "not weekends"),  # a Monday
        ({"2031": {"holidays": ["2031-01-04"], "working_weekends": ["2031-01-04"]}}, "both"),
        ({"2031": {"days": []}}, "needs only"),
    ],
)
def test_a_wrong_holidays_file_is_refused_saying_what(notices: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        WorkingCalendar.official(notices)


def test_the_sandbox_counts_weekends_beyond_the_notices_and_a_deployment_does_not(
    tmp_path: Path,
) -> None:
    year = max(OFFICIAL.known_years or ()) + 1
    sandbox = ServiceSettings(sandbox=True).working_calendar()
    assert sandbox.is_working_day(date(year, 1, 5)) == (date(year, 1, 5).weekday() < 5)
    with pytest.raises(CalendarYearUnknown):
        ServiceSettings(sandbox=False).working_calendar().is_working_day(date(year, 1, 5))
    broken = tmp_path / "holidays.json"
    broken.write_text('{"2031": {"holidays": ["soon"]}}')
    with pytest.raises(ValueError, match=r"YIDI_HOLIDAYS_FILE=.*holidays\.json.*not a date"):
        ServiceSettings(holidays_file=broken).working_calendar()
