"""Suspension windows and enrolment, decided on a day from the stored facts."""

from __future__ import annotations

from datetime import date

from yidi_settlement.domain.eligibility import EnrolmentStatus
from yidi_settlement.domain.standing import (
    Suspension,
    departments_suspended,
    enrolment_on,
    hospital_suspended,
    suspended_until,
)

MAY = Suspension(suspended_from=date(2026, 5, 1), suspended_until=date(2026, 5, 31))
OPEN_ENDED = Suspension(suspended_from=date(2026, 5, 20), suspended_until=None)


def test_a_window_holds_from_its_first_to_its_last_day() -> None:
    assert not MAY.in_force(date(2026, 4, 30))
    assert MAY.in_force(date(2026, 5, 1))
    assert MAY.in_force(date(2026, 5, 31))
    assert not MAY.in_force(date(2026, 6, 1))


def test_an_open_ended_window_holds_until_lifted() -> None:
    assert OPEN_ENDED.in_force(date(2040, 1, 1))
    lifted = Suspension(
        suspended_from=date(2026, 5, 20), suspended_until=None, ended_on=date(2026, 6, 10)
    )
    assert lifted.in_force(date(2026, 6, 9))
    assert not lifted.in_force(date(2026, 6, 10))


def test_a_person_is_suspended_until_the_latest_end_of_the_windows_in_force() -> None:
    june = Suspension(suspended_from=date(2026, 5, 15), suspended_until=date(2026, 6, 15))
    assert suspended_until([], date(2026, 5, 10)) is None
    assert suspended_until([MAY, june], date(2026, 5, 10)) == date(2026, 5, 31)
    assert suspended_until([MAY, june], date(2026, 5, 15)) == date(2026, 6, 15)
    assert suspended_until([MAY, june], date(2026, 6, 1)) == date(2026, 6, 15)
    assert suspended_until([MAY, june], date(2026, 6, 16)) is None
    assert suspended_until([MAY, OPEN_ENDED], date(2026, 5, 20)) == date.max
    assert suspended_until([MAY, OPEN_ENDED], date(2026, 5, 19)) == date(2026, 5, 31)


def test_a_window_lifted_early_no_longer_counts() -> None:
    lifted = Suspension(
        suspended_from=date(2026, 5, 1),
        suspended_until=date(2026, 5, 31),
        ended_on=date(2026, 5, 1),
    )
    assert suspended_until([lifted], date(2026, 5, 1)) is None


def test_a_hospital_is_suspended_by_the_agency_or_by_a_sanction_in_force() -> None:
    on = date(2026, 5, 31)
    assert not hospital_suspended(by_agency=False, agency_until=None, sanctions=[], on=on)
    assert hospital_suspended(by_agency=True, agency_until=None, sanctions=[], on=on)
    assert hospital_suspended(by_agency=True, agency_until=on, sanctions=[], on=on)
    assert not hospital_suspended(
        by_agency=True, agency_until=date(2026, 5, 30), sanctions=[], on=on
    )
    # the agency's end date does not bound an audit sanction
    assert hospital_suspended(
        by_agency=False, agency_until=date(2026, 5, 1), sanctions=[MAY], on=on
    )
    assert not hospital_suspended(
        by_agency=False, agency_until=None, sanctions=[MAY], on=date(2026, 6, 1)
    )


def test_a_termination_counts_from_its_first_day() -> None:
    first = date(2026, 7, 1)
    assert enrolment_on(EnrolmentStatus.ACTIVE, first, date(2026, 6, 30)) is EnrolmentStatus.ACTIVE
    assert enrolment_on(EnrolmentStatus.ACTIVE, first, first) is EnrolmentStatus.TERMINATED
    assert enrolment_on(EnrolmentStatus.SUSPENDED, None, first) is EnrolmentStatus.SUSPENDED


def test_the_departments_suspended_on_a_day_are_those_whose_sanction_is_in_force() -> None:
    lifted = Suspension(
        suspended_from=date(2026, 5, 1),
        suspended_until=date(2026, 10, 31),
        ended_on=date(2026, 5, 15),
    )
    sanctions = [("A01", MAY), ("B02", lifted)]
    assert departments_suspended(sanctions, date(2026, 5, 10)) == {"A01", "B02"}
    assert departments_suspended(sanctions, date(2026, 5, 15)) == {"A01"}
    assert departments_suspended(sanctions, date(2026, 6, 1)) == frozenset()
