from dataclasses import replace
from datetime import date

import pytest

from yidi_clearing.domain.calendar import ClearingStep, due_steps, late_steps, schedule
from yidi_clearing.domain.settings import CalendarSettings, ClearingSettings
from yidi_events.kernel import DomainError, WorkingCalendar

S = ClearingStep


def test_default_calendar_is_seed_000_days_of_the_following_month(
    settings: ClearingSettings,
) -> None:
    assert schedule("2026-03", settings) == {
        S.STATEMENT: date(2026, 4, 2),
        S.CONFIRMATION: date(2026, 4, 5),
        S.NETTING: date(2026, 4, 10),
        S.REMITTANCE: date(2026, 4, 15),
        S.DISBURSEMENT: date(2026, 4, 20),
    }


def test_december_is_cleared_in_january_of_the_next_year(settings: ClearingSettings) -> None:
    assert schedule("2025-12", settings)[S.STATEMENT] == date(2026, 1, 2)


def test_a_step_is_due_on_its_day_and_late_only_after_it(settings: ClearingSettings) -> None:
    assert due_steps("2026-03", date(2026, 4, 1), settings) == ()
    assert due_steps("2026-03", date(2026, 4, 2), settings) == (S.STATEMENT,)
    assert late_steps("2026-03", date(2026, 4, 2), settings) == ()
    assert late_steps("2026-03", date(2026, 4, 3), settings) == (S.STATEMENT,)


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
    assert schedule("2026-03", moving)[S.CONFIRMATION] == date(2026, 4, 7)
    assert schedule("2026-03", moving)[S.STATEMENT] == date(2026, 4, 2)  # a Thursday stays
    assert late_steps("2026-03", date(2026, 4, 7), moving, {S.STATEMENT}) == ()


def test_days_are_configurable() -> None:
    custom = ClearingSettings(calendar=CalendarSettings(3, 8, 12, 18, 25))
    assert schedule("2026-03", custom)[S.DISBURSEMENT] == date(2026, 4, 25)


@pytest.mark.parametrize("days", [(2, 2, 10, 15, 20), (0, 5, 10, 15, 20), (2, 5, 10, 15, 29)])
def test_impossible_calendars_are_refused(days: tuple[int, int, int, int, int]) -> None:
    with pytest.raises(DomainError) as err:
        schedule("2026-03", ClearingSettings(calendar=CalendarSettings(*days)))
    assert err.value.rule == "clearing.calendar_invalid"


def test_a_malformed_period_is_refused(settings: ClearingSettings) -> None:
    with pytest.raises(DomainError) as err:
        schedule("2026-13", settings)
    assert err.value.rule == "clearing.period_invalid"
