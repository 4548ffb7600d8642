"""The clearing calendar: the sandbox's, the national and the Jiangsu schedules shipped in
deploy/provinces, across month ends, year ends and the 2026 Spring Festival.

Official 2026 days used below (State Council notice, as chinesecalendar carries it):
New Year 2026-01-01..03 off, Sunday 01-04 worked; Spring Festival 02-15..02-23 off, Saturdays
02-14 and 02-28 worked; Qingming 04-04..06 off; Labour Day 05-01..05 off, Saturday 05-09 worked.
"""

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from yidi_clearing.config import clearing_settings
from yidi_clearing.domain.calendar import (
    ClearingStep,
    check_calendar,
    due_steps,
    late_steps,
    require_days_closed,
    schedule,
)
from yidi_clearing.domain.settings import CalendarSettings, ClearingSettings, StepRule
from yidi_events.kernel import DomainError, WorkingCalendar
from yidi_events.province import PROVINCES, ProvinceFileError, load_province

S = ClearingStep
OFFICIAL = WorkingCalendar.official()


def province(name: str) -> ClearingSettings:
    return clearing_settings(load_province(PROVINCES / f"{name}.toml"), OFFICIAL)


@pytest.fixture(scope="module")
def national() -> ClearingSettings:
    return province("national")


@pytest.fixture(scope="module")
def jiangsu() -> ClearingSettings:
    return province("jiangsu")


def test_sandbox_calendar_is_seed_000_with_the_statement_after_the_close_deadline(
    settings: ClearingSettings,
) -> None:
    assert schedule("2026-03", settings) == {
        S.STATEMENT: date(2026, 4, 4),  # the agencies may close March's days until the 3rd
        S.CONFIRMATION: date(2026, 4, 5),
        S.NETTING: date(2026, 4, 10),
        S.REMITTANCE: date(2026, 4, 15),
        S.DISBURSEMENT: date(2026, 4, 20),
        S.HOSPITAL_APPLICATION: date(2026, 4, 10),
        S.HOSPITAL_REVIEW: date(2026, 4, 15),
        S.HOSPITAL_PAYMENT: date(2026, 4, 25),
    }


def test_the_shipped_sandbox_file_is_the_default(settings: ClearingSettings) -> None:
    assert province("sandbox").calendar == settings.calendar
    assert province("sandbox").prepaid_fund == settings.prepaid_fund
    assert load_province(None) == load_province(PROVINCES / "sandbox.toml")


def test_december_is_cleared_in_january_of_the_next_year(settings: ClearingSettings) -> None:
    assert schedule("2025-12", settings)[S.STATEMENT] == date(2026, 1, 4)


def test_the_statement_waits_until_the_last_day_to_close_has_passed(
    settings: ClearingSettings,
) -> None:
    with pytest.raises(DomainError) as refused:
        require_days_closed("2026-03", date(2026, 4, 3), settings)  # the last day to close
    assert (refused.value.rule, refused.value.values) == (
        "clearing.days_still_closing",
        {"close_deadline": "2026-04-03"},
    )
    require_days_closed("2026-03", date(2026, 4, 4), settings)


def test_national_schedule_runs_past_the_month_end_in_working_days(
    national: ClearingSettings,
) -> None:
    # March 2026: statement 04-21, confirmation 04-25, notices by 04-30 (April has 30 days).
    # Remittance 5 working days after Thu 04-30: 05-01..05 are Labour Day, so 05-06 (1), 05-07
    # (2), 05-08 (3), Sat 05-09 worked (4), Mon 05-11 (5). Disbursement 10 working days after:
    # 05-12..15 (4), 05-18..22 (9), 05-25 (10).
    assert schedule("2026-03", national) == {
        S.STATEMENT: date(2026, 4, 21),
        S.CONFIRMATION: date(2026, 4, 25),
        S.NETTING: date(2026, 4, 30),
        S.REMITTANCE: date(2026, 5, 11),
        S.DISBURSEMENT: date(2026, 5, 25),
        S.HOSPITAL_APPLICATION: date(2026, 4, 10),
        S.HOSPITAL_REVIEW: date(2026, 4, 21),
        S.HOSPITAL_PAYMENT: date(2026, 5, 25),
    }


def test_national_schedule_across_the_year_end(national: ClearingSettings) -> None:
    # November 2025: notices by Wed 2025-12-31; 2026-01-01..03 off, Sunday 01-04 worked (1),
    # 01-05 (2), 01-06 (3), 01-07 (4), 01-08 (5). Then 01-09 (1), 01-12..16 (6), 01-19..22 (10).
    dates = schedule("2025-11", national)
    assert (dates[S.NETTING], dates[S.REMITTANCE], dates[S.DISBURSEMENT]) == (
        date(2025, 12, 31),
        date(2026, 1, 8),
        date(2026, 1, 22),
    )


def test_national_schedule_across_the_spring_festival(national: ClearingSettings) -> None:
    # December 2025: statement 2026-01-21, notices by Sat 01-31. Remittance: 02-02..06 (5).
    # Disbursement: 02-09..13 (5), Sat 02-14 worked (6), 02-15..23 off, 02-24..27 (10).
    dates = schedule("2025-12", national)
    assert (dates[S.STATEMENT], dates[S.NETTING]) == (date(2026, 1, 21), date(2026, 1, 31))
    assert (dates[S.REMITTANCE], dates[S.DISBURSEMENT]) == (date(2026, 2, 6), date(2026, 2, 27))


def test_national_notices_by_the_end_of_a_short_month(national: ClearingSettings) -> None:
    # January 2026 is cleared in February: "day 31" is 02-28, a Saturday worked for the Spring
    # Festival. Remittance 03-02..06 (5); disbursement 03-09..13 (5), 03-16..20 (10).
    dates = schedule("2026-01", national)
    assert dates[S.NETTING] == date(2026, 2, 28)
    assert (dates[S.REMITTANCE], dates[S.DISBURSEMENT]) == (date(2026, 3, 6), date(2026, 3, 20))


def test_jiangsu_schedule_pays_within_ten_working_days_of_the_total_sheet(
    jiangsu: ClearingSettings,
) -> None:
    # March 2026: upload by 04-20, total sheet by Tue 04-28. Confirmation +3: 04-29, 04-30,
    # (05-01..05 off) 05-06. Netting +2: 05-07, 05-08. Remittance +3: Sat 05-09 worked, 05-11,
    # 05-12. Payment 10 working days after 04-28: 04-29, 04-30, 05-06, 05-07, 05-08, 05-09,
    # 05-11, 05-12, 05-13, 05-14.
    assert schedule("2026-03", jiangsu) == {
        S.STATEMENT: date(2026, 4, 28),
        S.CONFIRMATION: date(2026, 5, 6),
        S.NETTING: date(2026, 5, 8),
        S.REMITTANCE: date(2026, 5, 12),
        S.DISBURSEMENT: date(2026, 5, 14),
        S.HOSPITAL_APPLICATION: date(2026, 4, 20),
        S.HOSPITAL_REVIEW: date(2026, 4, 28),
        S.HOSPITAL_PAYMENT: date(2026, 5, 14),
    }


def test_jiangsu_schedule_across_the_year_end(jiangsu: ClearingSettings) -> None:
    # November 2025: total sheet by Sun 12-28. Confirmation: 12-29, 12-30, 12-31. Netting:
    # (01-01..03 off) Sun 01-04 worked, 01-05. Remittance: 01-06, 01-07, 01-08. Payment: 12-29,
    # 12-30, 12-31, 01-04, 01-05, 01-06, 01-07, 01-08, 01-09, 01-12.
    assert schedule("2025-11", jiangsu) == {
        S.STATEMENT: date(2025, 12, 28),
        S.CONFIRMATION: date(2025, 12, 31),
        S.NETTING: date(2026, 1, 5),
        S.REMITTANCE: date(2026, 1, 8),
        S.DISBURSEMENT: date(2026, 1, 12),
        S.HOSPITAL_APPLICATION: date(2025, 12, 20),
        S.HOSPITAL_REVIEW: date(2025, 12, 28),
        S.HOSPITAL_PAYMENT: date(2026, 1, 12),
    }


def test_jiangsu_schedule_after_the_spring_festival(jiangsu: ClearingSettings) -> None:
    # January 2026: total sheet by Sat 02-28 (worked). Confirmation 03-02..04, netting 03-05..06,
    # remittance 03-09..11, payment 03-02..06 (5), 03-09..13 (10).
    dates = schedule("2026-01", jiangsu)
    assert [dates[s] for s in (S.STATEMENT, S.CONFIRMATION, S.NETTING, S.REMITTANCE)] == [
        date(2026, 2, 28),
        date(2026, 3, 4),
        date(2026, 3, 6),
        date(2026, 3, 11),
    ]
    assert dates[S.DISBURSEMENT] == dates[S.HOSPITAL_PAYMENT] == date(2026, 3, 13)


def test_a_step_is_due_on_its_day_and_late_only_after_it(settings: ClearingSettings) -> None:
    assert due_steps("2026-03", date(2026, 4, 3), settings) == ()
    assert due_steps("2026-03", date(2026, 4, 4), settings) == (S.STATEMENT,)
    assert late_steps("2026-03", date(2026, 4, 4), settings) == ()
    assert late_steps("2026-03", date(2026, 4, 5), settings) == (S.STATEMENT,)


def test_done_steps_are_neither_due_nor_late(settings: ClearingSettings) -> None:
    done = {S.STATEMENT, S.CONFIRMATION}
    assert due_steps("2026-03", date(2026, 4, 10), settings, done) == (S.NETTING,)
    assert late_steps("2026-03", date(2026, 4, 16), settings, done) == (S.NETTING, S.REMITTANCE)


def test_steps_on_non_working_days_move_on_only_when_configured() -> None:
    # 2026-04-05 is a Sunday and Qingming falls on Monday 04-06 in this calendar.
    working = WorkingCalendar.of(holidays=[date(2026, 4, 6)])
    fixed = ClearingSettings(working_calendar=working)
    moving = replace(fixed, calendar=CalendarSettings(move_to_working_day=True))
    assert schedule("2026-03", fixed)[S.CONFIRMATION] == date(2026, 4, 5)
    # Saturday 04-04 and Sunday 04-05 both move to Tuesday 04-07: on one day, still in order.
    assert schedule("2026-03", moving)[S.STATEMENT] == date(2026, 4, 7)
    assert schedule("2026-03", moving)[S.CONFIRMATION] == date(2026, 4, 7)
    assert schedule("2026-03", moving)[S.NETTING] == date(2026, 4, 10)  # a Friday stays
    assert late_steps("2026-03", date(2026, 4, 7), moving, {S.STATEMENT}) == ()


def _with(**rules: StepRule) -> ClearingSettings:
    steps = dict(CalendarSettings().steps)
    steps.update({S(k): v for k, v in rules.items()})
    return ClearingSettings(calendar=CalendarSettings(steps=steps), working_calendar=OFFICIAL)


@pytest.mark.parametrize(
    ("rules", "at_fault"),
    [
        ({"statement": StepRule.on(3)}, "statement"),  # on the last day to close
        ({"confirmation": StepRule.on(4)}, "confirmation"),  # same day as the statement
        ({"netting": StepRule.on(2, month=2), "remittance": StepRule.on(1)}, "remittance"),
        ({"confirmation": StepRule.later(S.NETTING, 1)}, "confirmation"),  # follows a later step
        ({"statement": StepRule(day=4, after=S.NETTING)}, "statement"),  # both
        ({"statement": StepRule()}, "statement"),  # neither
        ({"netting": StepRule.on(32)}, "netting"),
        ({"hospital_review": StepRule.on(9)}, "hospital_review"),  # before applications close
    ],
)
def test_a_calendar_that_cannot_work_is_refused_naming_the_step(
    rules: dict[str, StepRule], at_fault: str
) -> None:
    with pytest.raises(DomainError) as refused:
        check_calendar(_with(**rules))
    assert (refused.value.rule, refused.value.field) == ("clearing.calendar_invalid", at_fault)


def test_days_29_to_31_mean_the_month_end_when_shorter() -> None:
    # Netting by the 31st: 2026-02-28 for January, 2026-04-30 for March, 2026-05-31 for April.
    month_end = _with(
        netting=StepRule.on(31),
        remittance=StepRule.later(S.NETTING, 1),
        disbursement=StepRule.later(S.REMITTANCE, 1),
    )
    check_calendar(month_end)
    assert [schedule(p, month_end)[S.NETTING] for p in ("2026-01", "2026-03", "2026-04")] == [
        date(2026, 2, 28),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]


def test_a_wrong_province_file_stops_the_start_naming_the_rule(tmp_path: Path) -> None:
    broken = tmp_path / "p.toml"
    broken.write_text("[clearing.steps]\nstatement = { day = 2 }\n", "utf-8")
    with pytest.raises(ProvinceFileError, match=r"statement.*not after 20"):
        clearing_settings(load_province(broken), OFFICIAL)
    broken.write_text("[clearing.steps]\nstatment = { day = 5 }\n", "utf-8")
    with pytest.raises(ProvinceFileError, match="statment"):
        clearing_settings(load_province(broken), OFFICIAL)
    broken.write_text('[clearing]\nprovincial_centre = "JS"\n', "utf-8")
    with pytest.raises(ProvinceFileError, match=r"\[clearing\] provincial_centre: 'JS'"):
        clearing_settings(load_province(broken), OFFICIAL)
    broken.write_text("[clearing\n", "utf-8")
    with pytest.raises(ProvinceFileError, match=r"p\.toml"):
        load_province(broken)


def test_a_malformed_period_is_refused(settings: ClearingSettings) -> None:
    with pytest.raises(DomainError) as err:
        schedule("2026-13", settings)
    assert err.value.rule == "clearing.period_invalid"
