"""The console's view helpers: what an officer reads on every page (money, masked personal data,
Chinese names of codes, working-day deadlines), worked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from yidi_console import views
from yidi_console.charts import Bar, bar_chart
from yidi_console.exports import to_csv, to_xlsx
from yidi_console.session import officer_of
from yidi_events.kernel.calendar import WorkingCalendar


@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (100, "1.00"),
        (123456789, "1,234,567.89"),
        (-5000, "-50.00"),
        (-1, "-0.01"),
    ],
)
def test_fen_are_shown_as_yuan_exactly(fen: int, shown: str) -> None:
    assert views.yuan(fen) == shown


def test_yuan_typed_by_an_officer_become_fen_without_rounding() -> None:
    assert views.fen_of_yuan("1,234.5") == 123450
    assert views.fen_of_yuan("0.01") == 1
    with pytest.raises(ValueError, match="more than two decimals"):
        views.fen_of_yuan("1.005")


def test_a_certificate_number_keeps_its_first_three_and_last_four() -> None:
    # 18 characters: 3 shown, 11 hidden, 4 shown.
    assert views.mask_certificate("320102195001010111") == "320***********0111"
    assert views.mask_certificate("1234567") == "******7"
    assert views.mask_certificate(None) == ""


def test_a_name_keeps_its_family_name() -> None:
    assert views.mask_name("张建国") == "张**"
    assert views.mask_name("周杰") == "周*"


def test_codes_have_chinese_names_and_unknown_ones_still_show() -> None:
    assert views.label(views.FILING_STATUS, "pending") == "待审核"
    assert views.label(views.LINE_STATUS, "disputed") == "有争议"
    assert views.label(views.FILING_STATUS, "something_new") == "something_new"
    assert views.region_name("320500") == "苏州市（320500）"
    assert views.region_name("440100") == "440100"


def test_deadlines_count_working_days_across_the_weekend_and_a_holiday() -> None:
    # Friday 2026-03-06 to Tuesday 2026-03-10 with Monday 9 March a holiday: only Tuesday counts.
    calendar = WorkingCalendar.of(holidays=[date(2026, 3, 9)])
    ahead = views.due(date(2026, 3, 10), date(2026, 3, 6), calendar)
    assert (ahead.working_days_left, ahead.text) == (1, "剩 1 个工作日")
    late = views.due(date(2026, 3, 6), date(2026, 3, 11), calendar)  # Tue 10, Wed 11
    assert (late.working_days_left, late.text, late.overdue) == (-2, "已超期 2 个工作日", True)
    assert views.due(date(2026, 3, 6), date(2026, 3, 6), calendar).text == "今日到期"


def test_the_statement_month_is_the_one_before() -> None:
    assert views.previous_period(date(2026, 4, 2)) == "2026-03"
    assert views.previous_period(date(2027, 1, 5)) == "2026-12"


def test_a_chart_says_its_figures_in_text() -> None:
    svg = bar_chart("净额头寸", [Bar("南京市", 12345), Bar("苏州市", -12345)])
    assert 'aria-label="净额头寸：南京市 123.45 元；苏州市 -123.45 元"' in svg
    assert svg.count("<rect") == 2


def test_exports_open_in_a_spreadsheet() -> None:
    data = to_csv(["清算行", "金额（元）"], [["L1", "123.45"]])
    assert data.startswith("\ufeff".encode())  # Excel reads UTF-8 Chinese only with the mark
    assert data.decode("utf-8-sig") == "清算行,金额（元）\r\nL1,123.45\r\n"
    assert to_xlsx("清算单2026-03", ["a"], [[1]])[:2] == b"PK"


def test_an_unreadable_or_expired_token_is_nobody() -> None:
    assert officer_of(None) is None
    assert officer_of("not-a-token") is None
