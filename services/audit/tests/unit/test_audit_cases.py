"""Cases: given events / when a decision / then events or a refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from yidi_audit.domain import cases
from yidi_audit.domain.cases import CaseState, SanctionSettings, SuspensionKind
from yidi_audit.domain.engine import AuditConfig, evaluate
from yidi_audit.domain.events import (
    CaseConfirmed,
    CaseDismissed,
    CaseOpened,
    FlagAddedToCase,
    SuspicionReported,
)
from yidi_audit.domain.facts import SettledVisit
from yidi_audit.domain.flags import Flag
from yidi_audit.domain.guards import Actor
from yidi_events.contracts.audit import (
    ClawbackDecided,
    DepartmentSuspended,
    DepartmentSuspensionEnded,
    DirectSettlementSuspended,
    DirectSettlementSuspensionEnded,
    HospitalSuspended,
    SuspensionEndReason,
)
from yidi_events.decider import fold
from yidi_events.kernel import Conflict, DomainError, Forbidden, NotFound, WorkingCalendar

VisitFactory = Callable[..., SettledVisit]
TODAY = date(2026, 4, 1)
NANJING = Actor("reviewer-1", "320100")
SUZHOU = Actor("reviewer-9", "320500")
SANCTIONS = SanctionSettings()


def _split_flag(visit: VisitFactory, gap: int = 3) -> Flag:
    first = visit(admitted_on=date(2026, 3, 1), discharged_on=date(2026, 3, 5), fund_total=400_000)
    again = first.discharged_on + timedelta(days=gap)
    second = visit(admitted_on=again, discharged_on=again + timedelta(days=4), fund_total=600_000)
    (flag,) = evaluate([first], second, AuditConfig())
    return flag


def _open(flag: Flag) -> CaseState:
    return fold(
        cases.evolve, CaseState(), cases.decide_take_flag(CaseState(), flag, "case-1", TODAY)
    )


def _confirmed(flag: Flag) -> CaseState:
    state = _open(flag)
    return fold(cases.evolve, state, cases.decide_confirm(state, NANJING, "readmitted", TODAY))


def test_a_flag_opens_a_case_and_a_second_flag_joins_it(visit: VisitFactory) -> None:
    flag = _split_flag(visit)
    (opened,) = cases.decide_take_flag(CaseState(), flag, "case-1", TODAY)
    assert isinstance(opened, CaseOpened)
    assert (opened.visit_region, opened.insured_region) == ("320100", "320500")
    state = cases.evolve(CaseState(), opened)
    other = _split_flag(visit, gap=10)
    (joined,) = cases.decide_take_flag(state, other, "ignored", TODAY)
    assert isinstance(joined, FlagAddedToCase)
    assert joined.case_id == "case-1"
    assert cases.decide_take_flag(state, flag, "ignored", TODAY) == []  # same evidence: nothing


def test_a_closed_case_does_not_take_flags(visit: VisitFactory) -> None:
    state = _confirmed(_split_flag(visit))
    with pytest.raises(Conflict) as refused:
        cases.decide_take_flag(state, _split_flag(visit), "case-1", TODAY)
    assert refused.value.rule == "audit.case.closed"


def test_confirm_needs_the_visit_place_agency_and_a_reason(visit: VisitFactory) -> None:
    state = _open(_split_flag(visit))
    with pytest.raises(Forbidden) as wrong:
        cases.decide_confirm(state, SUZHOU, "looks bad", TODAY)
    assert (wrong.value.rule, wrong.value.field) == ("audit.case.wrong_agency", "agency_region")
    with pytest.raises(DomainError) as no_reason:
        cases.decide_dismiss(state, NANJING, "  ", TODAY)
    assert no_reason.value.field == "reason"
    (confirmed,) = cases.decide_confirm(state, NANJING, "same tumour readmitted", TODAY)
    assert isinstance(confirmed, CaseConfirmed)
    with pytest.raises(NotFound):
        cases.decide_confirm(CaseState(), NANJING, "x", TODAY)


def test_a_dismissed_case_cannot_be_sanctioned(visit: VisitFactory) -> None:
    state = _open(_split_flag(visit))
    state = fold(cases.evolve, state, cases.decide_dismiss(state, NANJING, "planned", TODAY))
    with pytest.raises(Conflict) as refused:
        cases.decide_suspend_person(state, NANJING, TODAY, 6, TODAY, SANCTIONS)
    assert refused.value.rule == "audit.case.not_confirmed"


@pytest.mark.parametrize(("months", "until"), [(3, date(2026, 6, 30)), (12, date(2027, 3, 31))])
def test_person_suspension_3_to_12_months(visit: VisitFactory, months: int, until: date) -> None:
    state = _confirmed(_split_flag(visit))
    (event,) = cases.decide_suspend_person(state, NANJING, TODAY, months, TODAY, SANCTIONS)
    assert event == DirectSettlementSuspended(
        person_id=state.person_id,
        suspended_from=TODAY,
        suspended_until=until,
        case_id="case-1",
        insured_region="320500",
        decided_by="reviewer-1",
    )


@pytest.mark.parametrize("months", [2, 13, 0])
def test_person_suspension_outside_3_to_12_months_is_refused(
    visit: VisitFactory, months: int
) -> None:
    state = _confirmed(_split_flag(visit))
    with pytest.raises(DomainError) as refused:
        cases.decide_suspend_person(state, NANJING, TODAY, months, TODAY, SANCTIONS)
    assert (refused.value.rule, refused.value.field) == ("audit.suspension.person_months", "months")


def test_suspension_ends_when_lifted_or_expired(visit: VisitFactory) -> None:
    state = _confirmed(_split_flag(visit))
    state = fold(
        cases.evolve, state, cases.decide_suspend_person(state, NANJING, TODAY, 3, TODAY, SANCTIONS)
    )
    with pytest.raises(Conflict):
        cases.decide_suspend_person(state, NANJING, TODAY, 3, TODAY, SANCTIONS)
    assert cases.decide_expire_suspensions(state, date(2026, 6, 30)) == []  # last day still runs
    (expired,) = cases.decide_expire_suspensions(state, date(2026, 7, 1))
    assert expired == DirectSettlementSuspensionEnded(
        person_id=state.person_id,
        case_id="case-1",
        insured_region="320500",
        ended_on=date(2026, 7, 1),
        reason=SuspensionEndReason.EXPIRED,
    )
    (lifted,) = cases.decide_lift_suspension(
        state, SuspensionKind.PERSON, NANJING, date(2026, 5, 1)
    )
    assert isinstance(lifted, DirectSettlementSuspensionEnded)
    assert lifted.reason is SuspensionEndReason.LIFTED
    ended = cases.evolve(state, lifted)
    assert cases.decide_expire_suspensions(ended, date(2027, 1, 1)) == []
    with pytest.raises(Conflict):
        cases.decide_lift_suspension(ended, SuspensionKind.PERSON, NANJING, date(2026, 5, 2))


def test_hospital_suspension_is_keyed_by_institution(visit: VisitFactory) -> None:
    state = _confirmed(_split_flag(visit))
    (event,) = cases.decide_suspend_hospital(state, NANJING, TODAY, 6, TODAY, SANCTIONS)
    assert isinstance(event, HospitalSuspended)
    assert (event.institution_code, event.suspended_until) == ("H32010000001", date(2026, 9, 30))
    with pytest.raises(DomainError):
        cases.decide_suspend_hospital(state, NANJING, TODAY, 5, TODAY, SANCTIONS)


def test_clawback_is_positive_and_bounded_by_the_fund_total(visit: VisitFactory) -> None:
    state = _confirmed(_split_flag(visit))  # funds paid 400,000 + 600,000 fen
    for bad in (0, -1):
        with pytest.raises(DomainError) as refused:
            cases.decide_clawback(state, NANJING, "cb-1", bad, TODAY)
        assert refused.value.field == "amount"
    with pytest.raises(DomainError) as too_much:
        cases.decide_clawback(state, NANJING, "cb-1", 1_000_001, TODAY)
    assert too_much.value.rule == "audit.clawback.exceeds_fund_total"
    (clawback,) = cases.decide_clawback(state, NANJING, "cb-1", 1_000_000, TODAY)
    assert isinstance(clawback, ClawbackDecided)
    assert (clawback.insured_region, clawback.visit_region, clawback.insurance_type) == (
        "320500",
        "320100",
        "310",
    )
    state = cases.evolve(state, clawback)
    with pytest.raises(DomainError):
        cases.decide_clawback(state, NANJING, "cb-2", 1, TODAY)  # nothing left to recover


def test_clawback_of_one_settlement_is_bounded_by_that_settlement(visit: VisitFactory) -> None:
    state = _confirmed(_split_flag(visit))
    first = state.evidence[0]
    with pytest.raises(DomainError):
        cases.decide_clawback(
            state, NANJING, "cb", first.fund_total + 1, TODAY, [first.settlement_id]
        )
    (ok,) = cases.decide_clawback(
        state, NANJING, "cb", first.fund_total, TODAY, [first.settlement_id]
    )
    assert isinstance(ok, ClawbackDecided)
    assert ok.settlement_ids == (first.settlement_id,)
    with pytest.raises(DomainError) as unknown:
        cases.decide_clawback(state, NANJING, "cb", 1, TODAY, ["S-unknown"])
    assert unknown.value.rule == "audit.clawback.not_evidence"


def test_clawback_refuses_settlements_of_two_visit_places(visit: VisitFactory) -> None:
    d = date(2026, 3, 1)
    nanjing = visit(medical_type="11", admitted_on=d)
    wuxi = visit(medical_type="11", admitted_on=d, visit_region="320200", institution_code="H3202")
    (flag,) = evaluate([nanjing], wuxi, AuditConfig())
    opened = cases.decide_take_flag(CaseState(), flag, "case-2", TODAY)
    assert isinstance(opened[0], CaseOpened)
    assert opened[0].visit_region == "320200"
    state = fold(cases.evolve, CaseState(), opened)
    wuxi_reviewer = Actor("r-wx", "320200")
    state = fold(cases.evolve, state, cases.decide_confirm(state, wuxi_reviewer, "impostor", TODAY))
    with pytest.raises(DomainError) as mixed:
        cases.decide_clawback(state, wuxi_reviewer, "cb", 100, TODAY)
    assert mixed.value.rule == "audit.clawback.mixed_pairs"
    (ok,) = cases.decide_clawback(state, wuxi_reviewer, "cb", 100, TODAY, [wuxi.settlement_id])
    assert isinstance(ok, ClawbackDecided)
    assert ok.visit_region == "320200"


# --- suspension on suspicion (seed 003 §七, seed 000 §六(二)) ----------------------------------

WEEKDAYS = WorkingCalendar()  # no holidays: Monday to Friday
BEFORE_MAY_DAY = date(2026, 4, 22)  # a Wednesday


def _suspected(visit: VisitFactory, on: date = TODAY) -> CaseState:
    state = _open(_split_flag(visit))
    return fold(
        cases.evolve,
        state,
        cases.decide_suspect(state, NANJING, "readmitted twice", on, WEEKDAYS, SANCTIONS),
    )


def test_a_suspicion_suspends_the_person_at_once_and_reports_to_the_centre_and_insured_place(
    visit: VisitFactory,
) -> None:
    state = _open(_split_flag(visit))
    suspended, reported = cases.decide_suspect(
        state, NANJING, " readmitted twice ", TODAY, WEEKDAYS, SANCTIONS
    )
    # 2026-04-01 is a Wednesday; ten working days later, weekends skipped, is Wednesday the 15th.
    assert suspended == DirectSettlementSuspended(
        person_id=state.person_id,
        suspended_from=TODAY,
        suspended_until=date(2026, 4, 15),
        case_id="case-1",
        insured_region="320500",
        decided_by="reviewer-1",
    )
    assert reported == SuspicionReported(
        case_id="case-1",
        person_id=state.person_id,
        rule_id=state.rule_id,
        institution_code="H32010000001",
        visit_region="320100",
        insured_region="320500",
        centre_region="320000",
        suspicion="readmitted twice",
        evidence=state.evidence,
        reported_by="reviewer-1",
        reported_on=TODAY,
        review_by=date(2026, 4, 15),
    )


def test_the_review_deadline_counts_the_official_working_days(visit: VisitFactory) -> None:
    state = _open(_split_flag(visit))
    settings = SanctionSettings(suspicion_review_working_days=10)
    suspended, _ = cases.decide_suspect(
        state, NANJING, "x", BEFORE_MAY_DAY, WorkingCalendar.official(), settings
    )
    # From Wednesday 22 April: 23, 24, 27, 28, 29, 30 April (6), 1-5 May off (Labour Day), 6, 7,
    # 8 May (9), and Saturday 9 May, a make-up working day (10).
    assert isinstance(suspended, DirectSettlementSuspended)
    assert suspended.suspended_until == date(2026, 5, 9)


def test_a_suspicion_is_refused_from_the_insured_place_without_a_text_or_twice(
    visit: VisitFactory,
) -> None:
    state = _open(_split_flag(visit))
    with pytest.raises(Forbidden):
        cases.decide_suspect(state, SUZHOU, "x", TODAY, WEEKDAYS, SANCTIONS)
    with pytest.raises(DomainError) as empty:
        cases.decide_suspect(state, NANJING, " ", TODAY, WEEKDAYS, SANCTIONS)
    assert (empty.value.rule, empty.value.field) == ("audit.suspicion.reason_required", "suspicion")
    with pytest.raises(Conflict) as twice:
        cases.decide_suspect(_suspected(visit), NANJING, "x", TODAY, WEEKDAYS, SANCTIONS)
    assert twice.value.rule == "audit.suspicion.already_reported"
    with pytest.raises(Conflict) as closed:
        cases.decide_suspect(
            _confirmed(_split_flag(visit)), NANJING, "x", TODAY, WEEKDAYS, SANCTIONS
        )
    assert closed.value.rule == "audit.case.not_open"


def test_a_dismissed_case_voids_the_suspension_on_suspicion(visit: VisitFactory) -> None:
    state = _suspected(visit)
    later = date(2026, 4, 8)
    dismissed, lifted = cases.decide_dismiss(state, NANJING, "planned chemotherapy", later)
    assert isinstance(dismissed, CaseDismissed)
    # Direct settlement is allowed again as from the suspension's first day, 1 April.
    assert lifted == DirectSettlementSuspensionEnded(
        person_id=state.person_id,
        case_id="case-1",
        insured_region="320500",
        ended_on=TODAY,
        reason=SuspensionEndReason.LIFTED,
    )


def test_a_confirmed_case_turns_the_suspension_on_suspicion_into_the_sanction(
    visit: VisitFactory,
) -> None:
    state = _suspected(visit)
    later = date(2026, 4, 8)
    confirmed = fold(cases.evolve, state, cases.decide_confirm(state, NANJING, "split", later))
    # The sanction continues the interim one: 3 months from its first day, 1 April.
    (sanction,) = cases.decide_suspend_person(confirmed, NANJING, None, 3, later, SANCTIONS)
    assert sanction == DirectSettlementSuspended(
        person_id=state.person_id,
        suspended_from=TODAY,
        suspended_until=date(2026, 6, 30),
        case_id="case-1",
        insured_region="320500",
        decided_by="reviewer-1",
    )
    sanctioned = cases.evolve(confirmed, sanction)
    assert cases.decide_close_interim(sanctioned, later) == []  # nothing interim left to end
    with pytest.raises(DomainError) as elsewhere:
        cases.decide_suspend_person(confirmed, NANJING, later, 3, later, SANCTIONS)
    assert elsewhere.value.rule == "audit.suspension.continues_interim"


def test_a_confirmed_case_without_a_sanction_of_the_person_ends_the_interim_one(
    visit: VisitFactory,
) -> None:
    state = _suspected(visit)
    later = date(2026, 4, 8)
    confirmed = fold(cases.evolve, state, cases.decide_confirm(state, NANJING, "split", later))
    (ended,) = cases.decide_close_interim(confirmed, later)
    assert isinstance(ended, DirectSettlementSuspensionEnded)
    assert (ended.ended_on, ended.reason) == (later, SuspensionEndReason.LIFTED)


def test_a_suspension_on_suspicion_nobody_reviews_lapses_after_its_deadline(
    visit: VisitFactory,
) -> None:
    state = _suspected(visit)  # review by 15 April
    assert cases.decide_expire_suspensions(state, date(2026, 4, 15)) == []
    (lapsed,) = cases.decide_expire_suspensions(state, date(2026, 4, 16))
    assert isinstance(lapsed, DirectSettlementSuspensionEnded)
    assert (lapsed.ended_on, lapsed.reason) == (date(2026, 4, 16), SuspensionEndReason.EXPIRED)


# --- a sanction on one department ------------------------------------------------------------


def test_a_department_sanction_targets_one_department_of_the_case_hospital(
    visit: VisitFactory,
) -> None:
    state = _confirmed(_split_flag(visit))
    (event,) = cases.decide_suspend_department(state, NANJING, " A01 ", None, 6, TODAY, SANCTIONS)
    # Six months from 1 April: the last day is 30 September.
    assert event == DepartmentSuspended(
        institution_code="H32010000001",
        department="A01",
        visit_region="320100",
        suspended_from=TODAY,
        suspended_until=date(2026, 9, 30),
        case_id="case-1",
        decided_by="reviewer-1",
    )
    sanctioned = cases.evolve(state, event)
    (lifted,) = cases.decide_lift_suspension(
        sanctioned, SuspensionKind.DEPARTMENT, NANJING, date(2026, 5, 1)
    )
    assert lifted == DepartmentSuspensionEnded(
        institution_code="H32010000001",
        department="A01",
        visit_region="320100",
        case_id="case-1",
        ended_on=date(2026, 5, 1),
        reason=SuspensionEndReason.LIFTED,
    )
    (expired,) = cases.decide_expire_suspensions(sanctioned, date(2026, 10, 1))
    assert isinstance(expired, DepartmentSuspensionEnded)
    assert (expired.ended_on, expired.reason) == (date(2026, 10, 1), SuspensionEndReason.EXPIRED)


def test_a_department_sanction_needs_a_department_and_6_to_12_months(visit: VisitFactory) -> None:
    state = _confirmed(_split_flag(visit))
    for missing in (None, "  "):
        with pytest.raises(DomainError) as refused:
            cases.decide_suspend_department(state, NANJING, missing, None, 6, TODAY, SANCTIONS)
        assert (refused.value.rule, refused.value.field) == (
            "audit.suspension.department_required",
            "department",
        )
    with pytest.raises(DomainError) as short:
        cases.decide_suspend_department(state, NANJING, "A01", None, 5, TODAY, SANCTIONS)
    assert (short.value.rule, short.value.field) == ("audit.suspension.department_months", "months")
    with pytest.raises(Conflict) as open_case:
        cases.decide_suspend_department(
            _open(_split_flag(visit)), NANJING, "A01", None, 6, TODAY, SANCTIONS
        )
    assert open_case.value.rule == "audit.case.not_confirmed"
