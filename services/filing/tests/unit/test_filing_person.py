"""Person decider: given events / when command / then events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    AssistanceIdentity,
    BenefitSource,
    BenefitsResumed,
    BenefitsSuspended,
    EnrolmentStatus,
    InsuranceType,
    PersonDied,
    PersonEnrolledV1,
    PersonUpdatedV1,
)
from yidi_events.decider import fold
from yidi_events.kernel import DomainError
from yidi_filing.domain import person as p
from yidi_filing.domain.enrolment import EnrolPerson, UpdatePerson

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 2026-03-10 10:00 in Shanghai
TODAY = date(2026, 3, 10)


def enrol_command(**changes: Any) -> EnrolPerson:
    base = EnrolPerson(
        person_id="32050000000000000001",
        insured_region="320500",
        insurance_type=InsuranceType.EMPLOYEE,
        person_category="1201",
        civil_servant=False,
        assistance_identities=(),
        name="张建国",
        certificate_type="01",
        certificate_no="320500195603120111",
        gender="1",
        birth_date=date(1956, 3, 12),
        card_serial="SC00000001",
        account_balance=350000,
    )
    return replace(base, **changes)


def enrolled(**changes: Any) -> list[p.PersonEvent]:
    return p.decide_enrol(None, enrol_command(**changes), NOW)


def state_of(events: list[p.PersonEvent]) -> p.Person:
    person = fold(p.evolve, None, events)
    assert person is not None
    return person


@contextmanager
def refused(rule: str, field: str | None = None) -> Iterator[None]:
    with pytest.raises(DomainError) as error:
        yield
    assert error.value.rule == rule
    if field is not None:
        assert error.value.field == field


# --- enrolment -------------------------------------------------------------------------------


def test_enrol_emits_the_full_person_with_canonical_certificate() -> None:
    events = enrolled(
        certificate_no="11010519491231002x", birth_date=date(1949, 12, 31), gender="2"
    )
    assert len(events) == 1
    fact = events[0]
    assert isinstance(fact, PersonEnrolledV1)
    assert fact.certificate_no == "11010519491231002X"
    assert fact.account_balance == 350000
    assert fact.enrolment_status is EnrolmentStatus.ACTIVE
    assert fact.enrolled_on == TODAY


def test_a_second_enrolment_of_the_same_stream_is_a_conflict() -> None:
    with refused("person.already_enrolled", "person_id"):
        p.decide_enrol(state_of(enrolled()), enrol_command(), NOW)


def test_enrolling_someone_already_dead_records_the_death() -> None:
    events = enrolled(death_date=date(2026, 3, 1))
    assert isinstance(events[1], PersonDied)
    assert state_of(events).death_date == date(2026, 3, 1)


@pytest.mark.parametrize(
    ("changes", "rule", "field"),
    [
        ({"certificate_no": "320500195603120112"}, "person.certificate_checksum", "certificate_no"),
        ({"birth_date": date(1956, 3, 13)}, "person.certificate_mismatch", "birth_date"),
        ({"gender": "2"}, "person.certificate_mismatch", "gender"),
        ({"gender": "M"}, "person.gender", "gender"),
        ({"person_id": "123"}, "person.id_format", "person_id"),
        ({"name": "  "}, "person.name", "name"),
        ({"insured_region": "3205"}, "person.insured_region", "insured_region"),
        ({"person_category": "retired"}, "person.category", "person_category"),
        ({"account_balance": -1}, "person.negative_balance", "account_balance"),
        (
            {"insurance_type": InsuranceType.RESIDENT, "civil_servant": True},
            "person.civil_servant_resident",
            "civil_servant",
        ),
        ({"death_date": date(2026, 3, 11)}, "person.death_date", "death_date"),
    ],
)
def test_enrolment_validation(changes: dict[str, Any], rule: str, field: str) -> None:
    with refused(rule, field):
        enrolled(**changes)


def test_a_birth_date_in_the_future_is_refused_but_today_is_accepted() -> None:
    foreign = {"certificate_type": "06", "certificate_no": "E1234"}
    assert enrolled(birth_date=TODAY, **foreign)
    with refused("person.birth_date", "birth_date"):
        enrolled(birth_date=date(2026, 3, 11), **foreign)


# --- updates ---------------------------------------------------------------------------------


def test_update_emits_the_whole_detail_set_and_a_repeat_is_a_no_op() -> None:
    history = enrolled()
    events = p.decide_update(
        state_of(history),
        UpdatePerson(assistance_identities=(AssistanceIdentity.DIBAO,), name="张建国 "),
        NOW,
    )
    assert len(events) == 1
    update = events[0]
    assert isinstance(update, PersonUpdatedV1)
    assert update.assistance_identities == (AssistanceIdentity.DIBAO,)
    assert update.name == "张建国"
    assert update.person_category == "1201"
    after = state_of([*history, *events])
    assert (
        p.decide_update(after, UpdatePerson(assistance_identities=(AssistanceIdentity.DIBAO,)), NOW)
        == []
    )


def test_update_is_validated_like_enrolment() -> None:
    with refused("person.certificate_mismatch", "birth_date"):
        p.decide_update(state_of(enrolled()), UpdatePerson(birth_date=date(1957, 1, 1)), NOW)


def test_corrections_are_allowed_after_death_but_nothing_else() -> None:
    history = [*enrolled(), *p.decide_record_death(state_of(enrolled()), date(2026, 3, 1), NOW)]
    dead = state_of(history)
    assert p.decide_update(dead, UpdatePerson(card_serial="SC9"), NOW)
    corrected = p.decide_record_death(dead, date(2026, 2, 28), NOW)
    assert corrected == [
        PersonDied(
            person_id=dead.person_id,
            death_date=date(2026, 2, 28),
            recorded_on=TODAY,
            correction=True,
        )
    ]
    assert p.decide_record_death(dead, date(2026, 3, 1), NOW) == []
    decisions: list[Callable[[], object]] = [
        lambda: p.decide_credit_account(dead, 100, "transfer", NOW),
        lambda: p.decide_change_enrolment_status(dead, EnrolmentStatus.SUSPENDED, TODAY, "x", NOW),
        lambda: p.decide_suspend_benefits(dead, TODAY, None, "x", NOW),
        lambda: p.decide_suspend_by_audit(dead, "C1", TODAY, None, "x", NOW),
    ]
    for decision in decisions:
        with refused("person.deceased", "person_id"):
            decision()


def test_death_date_bounds() -> None:
    person = state_of(enrolled())
    assert p.decide_record_death(person, TODAY, NOW)
    with refused("person.death_in_future", "death_date"):
        p.decide_record_death(person, date(2026, 3, 11), NOW)
    with refused("person.death_before_birth", "death_date"):
        p.decide_record_death(person, date(1956, 3, 11), NOW)


def test_decisions_on_an_unknown_person_are_not_found() -> None:
    with refused("person.not_enrolled"):
        p.decide_credit_account(None, 1, "x", NOW)


# --- enrolment status ------------------------------------------------------------------------


def test_enrolment_status_changes_and_termination_is_final() -> None:
    history = enrolled()
    suspended = p.decide_change_enrolment_status(
        state_of(history), EnrolmentStatus.SUSPENDED, TODAY, "contributions stopped", NOW
    )
    history += suspended
    assert state_of(history).enrolment_status is EnrolmentStatus.SUSPENDED
    assert (
        p.decide_change_enrolment_status(
            state_of(history), EnrolmentStatus.SUSPENDED, TODAY, "again", NOW
        )
        == []
    )
    history += p.decide_change_enrolment_status(
        state_of(history), EnrolmentStatus.TERMINATED, TODAY, "moved away", NOW
    )
    with refused("person.enrolment_terminated"):
        p.decide_change_enrolment_status(
            state_of(history), EnrolmentStatus.ACTIVE, TODAY, "back", NOW
        )
    with refused("person.reason_required", "reason"):
        p.decide_change_enrolment_status(
            state_of(enrolled()), EnrolmentStatus.SUSPENDED, TODAY, " ", NOW
        )


# --- account ---------------------------------------------------------------------------------


def test_debit_to_exactly_zero_is_allowed_one_fen_more_is_refused() -> None:
    person = state_of(enrolled(account_balance=500))
    with refused("person.insufficient_balance", "amount"):
        p.decide_debit_account(person, 501, "settlement", NOW)
    [change] = p.decide_debit_account(person, 500, "settlement", NOW)
    assert change == AccountBalanceChanged(
        person_id=person.person_id,
        account_balance=0,
        change=-500,
        reason="settlement",
        changed_on=TODAY,
    )


def test_set_balance_records_the_signed_change_and_refuses_negative() -> None:
    person = state_of(enrolled(account_balance=500))
    [change] = p.decide_set_account_balance(person, 1200, "annual transfer", NOW)
    assert isinstance(change, AccountBalanceChanged)
    assert (change.account_balance, change.change) == (1200, 700)
    assert p.decide_set_account_balance(person, 500, "same", NOW) == []
    with refused("person.negative_balance"):
        p.decide_set_account_balance(person, -1, "x", NOW)
    with refused("person.amount", "amount"):
        p.decide_credit_account(person, 0, "x", NOW)


@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=10**7)), max_size=30))
def test_balance_is_the_fold_of_its_changes_and_never_negative(ops: list[tuple[bool, int]]) -> None:
    history = enrolled(account_balance=0)
    expected = 0
    for credit, amount in ops:
        person = state_of(history)
        if credit:
            history += p.decide_credit_account(person, amount, "credit", NOW)
            expected += amount
        elif amount <= expected:
            history += p.decide_debit_account(person, amount, "debit", NOW)
            expected -= amount
        else:
            with pytest.raises(DomainError):
                p.decide_debit_account(person, amount, "debit", NOW)
    assert state_of(history).account_balance == expected >= 0


# --- benefits --------------------------------------------------------------------------------


def test_insured_place_suspension_blocks_direct_settlement_inside_its_period_only() -> None:
    history = enrolled()
    history += p.decide_suspend_benefits(
        state_of(history), date(2026, 4, 1), date(2026, 4, 30), "arrears", NOW
    )
    person = state_of(history)
    assert p.direct_settlement_allowed(person, date(2026, 3, 31))
    assert not p.direct_settlement_allowed(person, date(2026, 4, 1))
    assert not p.direct_settlement_allowed(person, date(2026, 4, 30))
    assert p.direct_settlement_allowed(person, date(2026, 5, 1))
    history += p.decide_resume_benefits(person, date(2026, 4, 10), "paid", NOW)
    assert p.direct_settlement_allowed(state_of(history), date(2026, 4, 15))
    with refused("person.benefits_not_suspended"):
        p.decide_resume_benefits(state_of(history), TODAY, "again", NOW)


def test_termination_is_final_for_benefits() -> None:
    history = enrolled()
    history += p.decide_terminate_benefits(state_of(history), TODAY, "left the scheme", NOW)
    person = state_of(history)
    assert not p.direct_settlement_allowed(person, TODAY)
    with refused("person.benefits_terminated"):
        p.decide_suspend_benefits(person, TODAY, None, "x", NOW)


def test_a_suspension_ending_before_it_starts_is_refused() -> None:
    with refused("person.suspension_period", "until"):
        p.decide_suspend_benefits(state_of(enrolled()), TODAY, date(2026, 3, 9), "x", NOW)


def test_audit_suspensions_are_per_case_and_idempotent() -> None:
    history = enrolled()
    first = p.decide_suspend_by_audit(
        state_of(history), "CASE-1", date(2026, 3, 1), date(2026, 8, 31), "split admissions", NOW
    )
    assert first == [
        BenefitsSuspended(
            person_id="32050000000000000001",
            source=BenefitSource.AUDIT,
            effective_from=date(2026, 3, 1),
            until=date(2026, 8, 31),
            reason="split admissions",
            case_id="CASE-1",
        )
    ]
    history += first
    assert (
        p.decide_suspend_by_audit(
            state_of(history), "CASE-1", date(2026, 3, 1), date(2026, 8, 31), "again", NOW
        )
        == []
    )
    history += p.decide_suspend_by_audit(state_of(history), "CASE-2", TODAY, None, "imposter", NOW)
    history += p.decide_end_audit_suspension(state_of(history), "CASE-1", TODAY, "appeal won", NOW)
    person = state_of(history)
    assert not p.direct_settlement_allowed(person, TODAY)  # CASE-2 still holds
    assert p.decide_end_audit_suspension(person, "CASE-1", TODAY, "repeat", NOW) == []
    history += p.decide_end_audit_suspension(person, "CASE-2", TODAY, "closed", NOW)
    assert p.direct_settlement_allowed(state_of(history), TODAY)
    assert isinstance(history[-1], BenefitsResumed)
    with refused("person.audit_suspension_unknown", "case_id"):
        p.decide_end_audit_suspension(state_of(history), "CASE-9", TODAY, "?", NOW)


def test_an_audit_suspension_does_not_touch_the_insured_place_status() -> None:
    history = enrolled()
    history += p.decide_suspend_by_audit(state_of(history), "C1", TODAY, None, "x", NOW)
    with refused("person.benefits_not_suspended"):
        p.decide_resume_benefits(state_of(history), TODAY, "not ours to lift", NOW)


def test_death_blocks_settlement_after_the_death_date() -> None:
    history = enrolled()
    history += p.decide_record_death(state_of(history), date(2026, 3, 1), NOW)
    person = state_of(history)
    assert p.direct_settlement_allowed(person, date(2026, 3, 1))
    assert not p.direct_settlement_allowed(person, date(2026, 3, 2))
