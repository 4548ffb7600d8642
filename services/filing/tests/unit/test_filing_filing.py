"""Filing decider: who may file, approval vs review, validity, promise lock, covers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yidi_events.contracts.filing import (
    EnrolmentStatus,
    FilingApproved,
    FilingCancelled,
    FilingChanged,
    FilingChannel,
    FilingKind,
    FilingRejected,
    InsuranceType,
    LongTermType,
)
from yidi_events.decider import fold
from yidi_events.kernel import DomainError, WorkingCalendar
from yidi_filing.domain import filing as f
from yidi_filing.domain import person as p
from yidi_filing.domain.enrolment import EnrolPerson
from yidi_filing.domain.events import FilingSubmitted
from yidi_filing.domain.filing_settings import DiagnosisCatalogue, FilingSettings, add_months

REFERRER = "H32130000009"  # the insured place's designated referring institution
SETTINGS = FilingSettings(referring_institutions=frozenset({REFERRER}))
WHOLE_CITY = FilingSettings(
    referral_whole_city_allowed=True, referring_institutions=frozenset({REFERRER})
)


def at(day: date) -> datetime:
    # 10:00 in Shanghai on `day`.
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


TODAY = date(2026, 3, 10)  # a Tuesday
NOW = at(TODAY)


def person(**changes: Any) -> p.Person:
    command = EnrolPerson(
        person_id="32130000000000000002",
        insured_region="321300",
        insurance_type=InsuranceType.EMPLOYEE,
        person_category="1101",
        civil_servant=False,
        assistance_identities=(),
        name="李秀英",
        certificate_type="01",
        certificate_no="321300197811050225",
        gender="2",
        birth_date=date(1978, 11, 5),
        card_serial=None,
        account_balance=80000,
    )
    state = fold(p.evolve, None, p.decide_enrol(None, command, NOW))
    assert state is not None
    return replace(state, **changes)


PERSON = person()


def referral(**changes: Any) -> f.SubmitFiling:
    base = f.SubmitFiling(
        filing_id="F1",
        person_id=PERSON.person_id,
        kind=FilingKind.REFERRAL,
        channel=FilingChannel.ONLINE,
        visit_region="320100",
        destination_institution="H32010000001",
        diagnosis="c34.900",
    )
    return replace(base, **changes)


def long_term(**changes: Any) -> f.SubmitFiling:
    base = f.SubmitFiling(
        filing_id="F2",
        person_id=PERSON.person_id,
        kind=FilingKind.LONG_TERM,
        long_term_type=LongTermType.RETIREE_RESETTLED,
        channel=FilingChannel.COUNTER,
        visit_region="320100",
        supporting_documents=True,
    )
    return replace(base, **changes)


def submit(
    command: f.SubmitFiling,
    *,
    settings: FilingSettings = SETTINGS,
    now: datetime = NOW,
    who: p.Person = PERSON,
) -> list[f.FilingEvent]:
    return f.decide_submit(None, command, who, settings, now)


def state_of(events: list[f.FilingEvent]) -> f.Filing:
    filing = fold(f.evolve, None, events)
    assert filing is not None
    return filing


@contextmanager
def refused(rule: str, field: str | None = None) -> Iterator[None]:
    with pytest.raises(DomainError) as error:
        yield
    assert error.value.rule == rule
    if field is not None:
        assert error.value.field == field


# --- who may file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "rule"),
    [
        (person(death_date=date(2026, 3, 1)), "filing.person_deceased"),
        (person(enrolment_status=EnrolmentStatus.SUSPENDED), "filing.person_not_active"),
        (person(enrolment_status=EnrolmentStatus.TERMINATED), "filing.person_not_active"),
        (person(benefits=p.BenefitStatus.TERMINATED), "filing.benefits_terminated"),
        (person(person_id="99990000000000000000"), "filing.person_mismatch"),
    ],
)
def test_who_may_not_file(who: p.Person, rule: str) -> None:
    with refused(rule, "person_id"):
        submit(referral(), who=who)


def test_an_active_person_may_file_through_every_channel() -> None:
    for channel in FilingChannel:
        command = referral(channel=channel, submitted_by_institution="H32130000009")
        assert isinstance(submit(command)[-1], FilingApproved)


def test_an_opinion_claimed_from_an_undesignated_institution_goes_to_a_reviewer() -> None:
    [submitted] = submit(referral(diagnosis="J45.900", referral_opinion_from="H32010000002"))
    assert isinstance(submitted, FilingSubmitted)
    assert submitted.review_reasons == ("filing.referral_opinion_not_designated",)


def test_only_a_designated_referring_institution_files_a_hospital_referral() -> None:
    other = referral(channel=FilingChannel.HOSPITAL, submitted_by_institution="H32010000002")
    with refused("filing.referral_not_designated", "institution_code"):
        submit(other)
    # the destination hospital is not its own referral, even if the place designated it
    designated = FilingSettings(referring_institutions=frozenset({REFERRER, "H32010000001"}))
    itself = referral(
        channel=FilingChannel.HOSPITAL,
        submitted_by_institution="H32010000001",
        destination_institution="H32010000001",
    )
    with refused("filing.referral_not_designated", "institution_code"):
        submit(itself, settings=designated)
    # nowhere designated: every hospital referral is refused (closed by default)
    with refused("filing.referral_not_designated"):
        submit(
            referral(channel=FilingChannel.HOSPITAL, submitted_by_institution=REFERRER),
            settings=FilingSettings(),
        )
    # the designated one is its own referral opinion: approved at once (DOMAIN.md section 1)
    events = submit(referral(channel=FilingChannel.HOSPITAL, submitted_by_institution=REFERRER))
    assert isinstance(events[-1], FilingApproved)


def test_a_hospital_may_submit_only_referral_and_emergency() -> None:
    with refused("filing.channel", "channel"):
        submit(long_term(channel=FilingChannel.HOSPITAL, submitted_by_institution="H1"))
    with refused("filing.channel", "submitted_by_institution"):
        submit(referral(channel=FilingChannel.HOSPITAL))


def test_long_term_type_goes_with_long_term_only() -> None:
    with refused("filing.long_term_type", "long_term_type"):
        submit(long_term(long_term_type=None))
    with refused("filing.long_term_type", "long_term_type"):
        submit(referral(long_term_type=LongTermType.RESIDENT_WORKER))
    with refused("filing.promise_long_term_only", "promise_based"):
        submit(referral(promise_based=True))


# --- local visit -----------------------------------------------------------------------------


@pytest.mark.parametrize("visit_region", ["321300", "321302", "321399"])
def test_a_visit_in_the_insured_city_is_refused(visit_region: str) -> None:
    with refused("filing.local_visit", "visit_region"):
        submit(long_term(visit_region=visit_region))


def test_an_in_province_other_city_is_accepted_and_a_bad_code_refused() -> None:
    assert submit(long_term(visit_region="321200"))
    with refused("filing.visit_region", "visit_region"):
        submit(long_term(visit_region="3201"))


# --- instant approval or review --------------------------------------------------------------


def test_a_referral_on_the_unconditional_catalogue_is_approved_at_once() -> None:
    submitted, approved = submit(referral())
    assert isinstance(submitted, FilingSubmitted)
    assert submitted.review_due is None
    assert submitted.diagnosis == "C34.900"
    assert approved == FilingApproved(
        filing_id="F1",
        person_id=PERSON.person_id,
        kind=FilingKind.REFERRAL,
        long_term_type=None,
        insured_region="321300",
        visit_region="320100",
        destination_institution="H32010000001",
        diagnosis="C34.900",
        valid_from=TODAY,
        valid_to=date(2026, 9, 9),
        promise_based=False,
        channel=FilingChannel.ONLINE,
        approved_on=TODAY,
        reviewer=None,
    )


def test_a_referral_off_catalogue_without_opinion_goes_to_review_due_in_two_working_days() -> None:
    [submitted] = submit(referral(diagnosis="J45.900"))
    assert isinstance(submitted, FilingSubmitted)
    assert submitted.review_reasons == ("filing.referral_without_opinion",)
    assert submitted.review_due == date(2026, 3, 12)
    assert state_of([submitted]).status is f.FilingStatus.PENDING


def test_review_due_skips_weekends_and_holidays() -> None:
    friday = date(2026, 3, 13)
    [submitted] = submit(referral(diagnosis="J45.900", valid_from=friday), now=at(friday))
    assert isinstance(submitted, FilingSubmitted)
    assert submitted.review_due == date(2026, 3, 17)
    holiday = FilingSettings(calendar=WorkingCalendar.of(holidays=[date(2026, 3, 16)]))
    [submitted] = submit(
        referral(diagnosis="J45.900", valid_from=friday), now=at(friday), settings=holiday
    )
    assert isinstance(submitted, FilingSubmitted)
    assert submitted.review_due == date(2026, 3, 18)


def test_a_referral_opinion_or_a_hospital_upload_approves_at_once() -> None:
    assert isinstance(
        submit(referral(diagnosis="J45.900", referral_opinion_from=REFERRER))[-1], FilingApproved
    )
    by_hospital = submit(
        referral(
            diagnosis="J45.900", channel=FilingChannel.HOSPITAL, submitted_by_institution=REFERRER
        )
    )
    assert isinstance(by_hospital[0], FilingSubmitted)
    assert by_hospital[0].referral_opinion_from == REFERRER
    assert isinstance(by_hospital[-1], FilingApproved)


@pytest.mark.parametrize(
    ("code", "on_catalogue"),
    [
        ("C00.0", True),
        ("C97", True),
        ("C98.1", False),
        ("B99", False),
        ("D00.0", False),
        ("c50.9", True),
    ],
)
def test_default_unconditional_catalogue_is_malignant_neoplasms(
    code: str, on_catalogue: bool
) -> None:
    assert SETTINGS.unconditional_referral.contains(code) is on_catalogue


def test_the_catalogue_is_configuration_per_insured_place() -> None:
    settings = FilingSettings(unconditional_referral=DiagnosisCatalogue(("N18.5", "I21-I22")))
    assert isinstance(submit(referral(diagnosis="N18.500"), settings=settings)[-1], FilingApproved)
    assert isinstance(submit(referral(diagnosis="I22.1"), settings=settings)[-1], FilingApproved)
    assert len(submit(referral(diagnosis="C34.900"), settings=settings)) == 1


def test_a_referral_needs_a_diagnosis() -> None:
    with refused("filing.diagnosis_required", "diagnosis"):
        submit(referral(diagnosis=" "))


@pytest.mark.parametrize(
    ("changes", "instant"),
    [
        ({"supporting_documents": True}, True),
        ({"supporting_documents": False, "promise_based": True}, True),
        ({"supporting_documents": False}, False),
    ],
)
def test_long_term_approval_needs_documents_or_a_promise(
    changes: dict[str, Any], instant: bool
) -> None:
    events = submit(long_term(**changes))
    assert isinstance(events[-1], FilingApproved) is instant
    if not instant:
        assert isinstance(events[0], FilingSubmitted)
        assert events[0].review_reasons == ("filing.long_term_without_documents",)


def test_other_temporary_is_approved_without_material() -> None:
    events = submit(
        f.SubmitFiling(
            filing_id="F3",
            person_id=PERSON.person_id,
            kind=FilingKind.OTHER_TEMPORARY,
            channel=FilingChannel.ONLINE,
            visit_region="610100",
        )
    )
    assert isinstance(events[-1], FilingApproved)


# --- reviewing -------------------------------------------------------------------------------


def test_a_reviewer_approves_or_rejects_only_a_pending_filing() -> None:
    pending = submit(referral(diagnosis="J45.900"))
    later = at(date(2026, 3, 11))
    [approved] = f.decide_approve(state_of(pending), "reviewer-7", later)
    assert isinstance(approved, FilingApproved)
    assert (approved.reviewer, approved.approved_on) == ("reviewer-7", date(2026, 3, 11))
    assert state_of([*pending, approved]).status is f.FilingStatus.APPROVED
    with refused("filing.not_pending", "filing_id"):
        f.decide_approve(state_of([*pending, approved]), "reviewer-7", later)
    [rejected] = f.decide_reject(state_of(pending), "reviewer-7", "no referral opinion", later)
    assert isinstance(rejected, FilingRejected)
    assert state_of([*pending, rejected]).status is f.FilingStatus.REJECTED
    with refused("filing.not_pending"):
        f.decide_reject(state_of([*pending, rejected]), "reviewer-7", "again", later)
    with refused("filing.reason_required", "reason"):
        f.decide_reject(state_of(pending), "reviewer-7", "  ", later)
    with refused("filing.not_pending"):
        f.decide_approve(state_of(submit(referral())), "reviewer-7", later)
    with refused("filing.not_found"):
        f.decide_approve(None, "reviewer-7", later)


def test_submitting_the_same_filing_twice_is_a_conflict() -> None:
    with refused("filing.already_submitted", "filing_id"):
        f.decide_submit(state_of(submit(referral())), referral(), PERSON, SETTINGS, NOW)


# --- validity --------------------------------------------------------------------------------


def test_long_term_is_valid_until_changed() -> None:
    approved = submit(long_term())[-1]
    assert isinstance(approved, FilingApproved)
    assert approved.valid_to is None
    with refused("filing.long_term_end_date", "valid_to"):
        submit(long_term(valid_to=date(2027, 1, 1)))


def test_temporary_validity_minimum_is_six_months_to_the_day() -> None:
    start = date(2026, 3, 10)
    assert submit(referral(valid_to=date(2026, 9, 9)))[-1].valid_to == date(2026, 9, 9)  # type: ignore[union-attr]
    with refused("filing.validity_too_short", "valid_to"):
        submit(referral(valid_to=date(2026, 9, 8)))
    assert submit(referral(valid_to=date(2026, 12, 31)))[-1].valid_to == date(2026, 12, 31)  # type: ignore[union-attr]
    assert f.default_valid_to(start, SETTINGS) == date(2026, 9, 9)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
def test_default_end_is_the_shortest_end_accepted(start: date) -> None:
    end = f.default_valid_to(start, SETTINGS)
    assert add_months(start, 6) == end + timedelta(days=1)
    assert start + timedelta(days=180) <= end + timedelta(days=1) <= start + timedelta(days=184)


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


# --- referral destination --------------------------------------------------------------------


def test_a_referral_names_one_destination_unless_the_place_allows_the_whole_city() -> None:
    with refused("filing.referral_destination", "destination_institution"):
        submit(referral(destination_institution=None))
    approved = submit(referral(destination_institution=None), settings=WHOLE_CITY)[-1]
    assert isinstance(approved, FilingApproved)
    assert approved.destination_institution is None


def test_other_kinds_name_no_destination() -> None:
    with refused("filing.destination_not_allowed", "destination_institution"):
        submit(long_term(destination_institution="H32010000001"))


# --- emergency and retroactive filing --------------------------------------------------------


def emergency(**changes: Any) -> f.SubmitFiling:
    base = f.SubmitFiling(
        filing_id="F4",
        person_id=PERSON.person_id,
        kind=FilingKind.EMERGENCY,
        channel=FilingChannel.HOSPITAL,
        submitted_by_institution="H32010000001",
        visit_region="320100",
        admission_date=date(2026, 3, 5),
    )
    return replace(base, **changes)


def test_emergency_is_approved_from_the_admission_date_before_discharge() -> None:
    approved = submit(emergency())[-1]
    assert isinstance(approved, FilingApproved)
    assert approved.valid_from == date(2026, 3, 5)
    assert approved.valid_to == date(2026, 9, 4)


def test_emergency_needs_the_admission_and_is_refused_after_discharge_settlement() -> None:
    with refused("filing.admission_required", "admission_date"):
        submit(emergency(admission_date=None))
    with refused("filing.retroactive_after_discharge", "valid_from"):
        submit(emergency(discharge_settled=True))
    with refused("filing.admission_in_future", "admission_date"):
        submit(emergency(admission_date=date(2026, 3, 11)))


def test_retroactive_filing_before_discharge_is_accepted_back_to_the_admission_day() -> None:
    command = referral(valid_from=date(2026, 3, 1), admission_date=date(2026, 3, 1))
    approved = submit(command)[-1]
    assert isinstance(approved, FilingApproved)
    assert approved.valid_from == date(2026, 3, 1)


def test_retroactive_filing_boundaries() -> None:
    with refused("filing.retroactive_before_admission", "valid_from"):
        submit(referral(valid_from=date(2026, 2, 28), admission_date=date(2026, 3, 1)))
    with refused("filing.retroactive_after_discharge", "valid_from"):
        submit(
            referral(
                valid_from=date(2026, 3, 1), admission_date=date(2026, 3, 1), discharge_settled=True
            )
        )
    with refused("filing.retroactive_needs_admission", "valid_from"):
        submit(referral(valid_from=date(2026, 3, 9)))
    # Beginning today is not retroactive: no admission needed.
    assert submit(referral(valid_from=TODAY))


# --- 补办 after a self-paid discharge (医保发〔2022〕22号 §二(四)) --------------------------------


def self_paid(**changes: Any) -> f.SubmitFiling:
    """An emergency in Nanjing, 10 to 20 February, paid in full at discharge; filed online on
    10 March (TODAY), after the discharge."""
    base = f.SubmitFiling(
        filing_id="F9",
        person_id=PERSON.person_id,
        kind=FilingKind.EMERGENCY,
        channel=FilingChannel.ONLINE,
        visit_region="320100",
        admission_date=date(2026, 2, 10),
        discharge_date=date(2026, 2, 20),
        discharge_settled=True,
        self_paid_discharge=True,
    )
    return replace(base, **changes)


def test_self_paid_discharge_is_filed_afterwards_from_the_admission_day() -> None:
    submitted, approved = submit(self_paid())
    assert isinstance(submitted, FilingSubmitted)
    assert (submitted.self_paid_discharge, submitted.admission_date, submitted.discharge_date) == (
        True,
        date(2026, 2, 10),
        date(2026, 2, 20),
    )
    # The published fact is the ordinary approval: it begins on the admission day and, being
    # temporary, runs 6 months less a day (10 Feb + 6 months = 10 Aug, less a day).
    assert isinstance(approved, FilingApproved)
    assert (approved.valid_from, approved.valid_to) == (date(2026, 2, 10), date(2026, 8, 9))
    # So the stay it was filed for is covered, judged by its admission, as a claim checks it.
    filing = state_of([submitted, approved])
    assert f.covers(filing, "320100", "H32010000007", date(2026, 2, 20), date(2026, 2, 10))
    assert not f.covers(filing, "320100", "H32010000007", date(2026, 2, 9))


def test_self_paid_discharge_of_every_kind_begins_on_the_admission_day() -> None:
    other = submit(self_paid(kind=FilingKind.OTHER_TEMPORARY, valid_from=None))[-1]
    assert isinstance(other, FilingApproved)
    assert other.valid_from == date(2026, 2, 10)
    resident = self_paid(
        kind=FilingKind.LONG_TERM,
        long_term_type=LongTermType.LONG_TERM_RESIDENT,
        supporting_documents=True,
        valid_from=date(2026, 2, 10),
    )
    approved = submit(resident)[-1]
    assert isinstance(approved, FilingApproved)
    assert (approved.valid_from, approved.valid_to) == (date(2026, 2, 10), None)


def test_a_stay_discharged_today_may_be_filed_for_today() -> None:
    approved = submit(self_paid(admission_date=TODAY, discharge_date=TODAY))[-1]
    assert isinstance(approved, FilingApproved)
    assert approved.valid_from == TODAY


@pytest.mark.parametrize(
    ("changes", "rule", "field"),
    [
        ({"admission_date": None}, "filing.self_paid_needs_admission", "admission_date"),
        ({"discharge_date": None}, "filing.self_paid_needs_discharge", "discharge_date"),
        ({"discharge_date": date(2026, 3, 11)}, "filing.discharge_in_future", "discharge_date"),
        (
            {"admission_date": date(2026, 3, 11), "discharge_date": date(2026, 3, 11)},
            "filing.admission_in_future",
            "admission_date",
        ),
        (
            {"discharge_date": date(2026, 2, 9)},
            "filing.discharge_before_admission",
            "discharge_date",
        ),
        ({"valid_from": date(2026, 2, 9)}, "filing.retroactive_before_admission", "valid_from"),
        ({"valid_from": date(2026, 2, 11)}, "filing.self_paid_begin_after_admission", "valid_from"),
        (
            {
                "carried_over": True,
                "channel": FilingChannel.COUNTER,
                "valid_from": date(2026, 2, 10),
            },
            "filing.self_paid_carried_over",
            "self_paid_discharge",
        ),
    ],
)
def test_self_paid_discharge_refusals_name_the_field(
    changes: dict[str, Any], rule: str, field: str
) -> None:
    with refused(rule, field):
        submit(self_paid(**changes))


def test_a_discharge_date_without_the_self_paid_mark_is_refused() -> None:
    with refused("filing.discharge_date_not_allowed", "discharge_date"):
        submit(self_paid(self_paid_discharge=False, discharge_settled=False))
    # Unmarked, a settled discharge is still refused, pointing to the 补办 after self-payment.
    with refused("filing.retroactive_after_discharge", "valid_from"):
        submit(self_paid(self_paid_discharge=False, discharge_date=None))


def test_an_insured_place_may_limit_how_long_after_the_discharge() -> None:
    three_months = replace(SETTINGS, self_paid_refiling_months=3)
    # Discharged 10 December: accepted until 10 March (TODAY) inclusive, not a day later.
    on_time = self_paid(admission_date=date(2025, 12, 1), discharge_date=date(2025, 12, 10))
    assert isinstance(submit(on_time, settings=three_months)[-1], FilingApproved)
    with pytest.raises(DomainError) as late:
        submit(on_time, settings=three_months, now=at(date(2026, 3, 11)))
    assert (late.value.rule, late.value.field) == ("filing.self_paid_too_late", "discharge_date")
    assert late.value.values["last_day"] == "2026-03-10"
    # Without a limit (the default: the seeds name none) a late 补办 is accepted.
    assert isinstance(submit(on_time, now=at(date(2026, 11, 30)))[-1], FilingApproved)


# --- promise lock, change, cancel ------------------------------------------------------------


def promised() -> list[f.FilingEvent]:
    return submit(long_term(supporting_documents=False, promise_based=True, valid_from=TODAY))


def test_promise_lock_day_before_refused_day_of_allowed() -> None:
    history = promised()
    filing = state_of(history)
    day_before, day_of = at(date(2026, 9, 9)), at(date(2026, 9, 10))
    assert f.promise_lock_ends(filing, SETTINGS) == date(2026, 9, 10)
    change = f.ChangeFiling(reason="moved", visit_region="320200")
    with refused("filing.promise_lock"):
        f.decide_change(filing, change, SETTINGS, day_before)
    with refused("filing.promise_lock"):
        f.decide_cancel(filing, "moved back", SETTINGS, day_before)
    [changed] = f.decide_change(filing, change, SETTINGS, day_of)
    assert isinstance(changed, FilingChanged)
    assert [type(e) for e in f.decide_cancel(filing, "moved back", SETTINGS, day_of)] == [
        FilingCancelled
    ]


def test_a_documented_long_term_filing_changes_at_any_time() -> None:
    filing = state_of(submit(long_term()))
    [changed] = f.decide_change(
        filing, f.ChangeFiling(reason="moved", visit_region="320200"), SETTINGS, NOW
    )
    assert isinstance(changed, FilingChanged)
    assert changed.visit_region == "320200"
    assert changed.valid_from == TODAY
    assert changed.valid_to is None


def test_change_rules() -> None:
    filing = state_of(submit(long_term()))
    with refused("filing.local_visit", "visit_region"):
        f.decide_change(filing, f.ChangeFiling(reason="home", visit_region="321300"), SETTINGS, NOW)
    with refused("filing.visit_region", "visit_region"):
        f.decide_change(filing, f.ChangeFiling(reason="?"), SETTINGS, NOW)
    assert (
        f.decide_change(filing, f.ChangeFiling(reason="same", visit_region="320100"), SETTINGS, NOW)
        == []
    )
    pending = state_of(submit(long_term(supporting_documents=False)))
    with refused("filing.not_active"):
        f.decide_change(pending, f.ChangeFiling(reason="x", visit_region="320200"), SETTINGS, NOW)
    other = state_of(
        submit(
            referral(kind=FilingKind.OTHER_TEMPORARY, destination_institution=None, diagnosis=None)
        )
    )
    with refused("filing.change_not_allowed", "kind"):
        f.decide_change(other, f.ChangeFiling(reason="x", visit_region="320200"), SETTINGS, NOW)


def test_re_referral_changes_the_destination() -> None:
    history = submit(referral())
    [changed] = f.decide_change(
        state_of(history),
        f.ChangeFiling(reason="再次转院", destination_institution="H32010000002"),
        SETTINGS,
        NOW,
    )
    assert isinstance(changed, FilingChanged)
    assert (changed.visit_region, changed.destination_institution) == ("320100", "H32010000002")
    after = state_of([*history, changed])
    assert f.covers(after, "320100", "H32010000002", TODAY)
    assert not f.covers(after, "320100", "H32010000001", TODAY)
    with refused("filing.referral_destination"):
        f.decide_change(after, f.ChangeFiling(reason="x"), SETTINGS, NOW)


def test_an_expired_temporary_filing_cannot_be_changed() -> None:
    filing = state_of(submit(referral()))
    with refused("filing.expired"):
        f.decide_change(
            filing,
            f.ChangeFiling(reason="x", destination_institution="H2"),
            SETTINGS,
            at(date(2026, 9, 10)),
        )


def test_cancel_a_pending_filing_and_not_twice() -> None:
    history = submit(long_term(supporting_documents=False))
    history += f.decide_cancel(state_of(history), "withdrawn", SETTINGS, NOW)
    assert state_of(history).status is f.FilingStatus.CANCELLED
    with refused("filing.not_active"):
        f.decide_cancel(state_of(history), "again", SETTINGS, NOW)


# --- covers ----------------------------------------------------------------------------------


def test_covers_a_single_hospital_referral_inside_validity() -> None:
    filing = state_of(submit(referral()))
    assert f.covers(filing, "320102", "H32010000001", TODAY)
    assert f.covers(filing, "320100", "H32010000001", date(2026, 9, 9))
    assert not f.covers(filing, "320100", "H32010000001", date(2026, 9, 10))
    assert not f.covers(filing, "320100", "H32010000001", date(2026, 3, 9))
    assert not f.covers(filing, "320100", "H32010000099", TODAY)
    assert not f.covers(filing, "320200", "H32010000001", TODAY)


def test_an_admission_begun_inside_validity_is_covered_after_the_end() -> None:
    filing = state_of(submit(referral()))
    assert f.covers(
        filing, "320100", "H32010000001", date(2026, 9, 20), admission_date=date(2026, 9, 9)
    )
    assert not f.covers(
        filing, "320100", "H32010000001", date(2026, 9, 20), admission_date=date(2026, 9, 10)
    )


def test_long_term_covers_every_hospital_of_the_city_indefinitely() -> None:
    filing = state_of(submit(long_term()))
    assert f.covers(filing, "320105", "ANY", date(2040, 1, 1))


def test_pending_and_rejected_filings_cover_nothing() -> None:
    pending = submit(referral(diagnosis="J45.900"))
    assert not f.covers(state_of(pending), "320100", "H32010000001", TODAY)
    rejected = [*pending, *f.decide_reject(state_of(pending), "r", "no", NOW)]
    assert not f.covers(state_of(rejected), "320100", "H32010000001", TODAY)


def test_a_cancelled_filing_covers_only_admissions_begun_before_the_cancellation() -> None:
    history = submit(long_term())
    history += f.decide_cancel(state_of(history), "back home", SETTINGS, at(date(2026, 5, 1)))
    filing = state_of(history)
    assert f.covers(filing, "320100", "H1", date(2026, 5, 3), admission_date=date(2026, 4, 30))
    assert not f.covers(filing, "320100", "H1", date(2026, 5, 1))


def test_a_filing_cancelled_while_pending_never_covered_anything() -> None:
    history = submit(long_term(supporting_documents=False))
    history += f.decide_cancel(state_of(history), "withdrawn", SETTINGS, at(date(2026, 5, 1)))
    assert not f.covers(state_of(history), "320100", "H1", date(2026, 4, 30))


def test_the_whole_city_referral_covers_every_hospital() -> None:
    filing = state_of(submit(referral(destination_institution=None), settings=WHOLE_CITY))
    assert f.covers(filing, "320100", "H32010000007", TODAY)


# --- round trip ------------------------------------------------------------------------------


def test_each_decision_sees_the_fold_of_the_previous_ones() -> None:
    history = submit(long_term(supporting_documents=False))
    history += f.decide_approve(state_of(history), "reviewer-1", NOW)
    history += f.decide_change(
        state_of(history), f.ChangeFiling(reason="moved", visit_region="320200"), SETTINGS, NOW
    )
    history += f.decide_cancel(state_of(history), "returned", SETTINGS, at(date(2026, 4, 1)))
    assert [type(e) for e in history] == [
        FilingSubmitted,
        FilingApproved,
        FilingChanged,
        FilingCancelled,
    ]
    final = state_of(history)
    assert (final.status, final.visit_region, final.cancelled_on) == (
        f.FilingStatus.CANCELLED,
        "320200",
        date(2026, 4, 1),
    )
