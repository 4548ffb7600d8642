"""The filing handlers on the in-memory event store: given a stream's events, when a command is
handled, then exactly these events are appended; a refused command appends nothing.

Every expected event is worked out by hand from the rules (DOMAIN.md and the docstrings of
domain/), on Monday 2 March 2026 in Shanghai.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from filing_testkit import (
    CENTRE,
    CLERK,
    NANJING,
    NANJING_CLERK,
    REVIEWER,
    SUZHOU,
    TODAY,
    WANG,
    WUXI,
    WUXI_CLERK,
    WUXI_REVIEWER,
    ZHANG,
    ZHANG_ENROLLED,
    ZHANG_ID,
    Service,
    enrolled_zhang,
    person_principal,
    service,
)

from yidi_cli.sandbox import shared_dir
from yidi_events.auth.agency import Principal
from yidi_events.contracts.audit import (
    DirectSettlementSuspended,
    DirectSettlementSuspensionEnded,
    SuspensionEndReason,
)
from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    AssistanceIdentity,
    BenefitSource,
    BenefitsResumed,
    BenefitsSuspended,
    BenefitsTerminated,
    EnrolmentStatus,
    EnrolmentStatusChanged,
    FilingApproved,
    FilingCancelled,
    FilingChanged,
    FilingChannel,
    FilingKind,
    FilingRejected,
    InsuranceType,
    LongTermType,
    PersonDied,
    PersonEnrolledV1,
    PersonUpdatedV1,
    PolicyPublished,
)
from yidi_events.kernel import Conflict, DomainError, Forbidden, NotFound
from yidi_events.policy_document import parse_policy_document, policy_document
from yidi_filing.app import audit_policy, filings, his, persons, policies
from yidi_filing.app.his import ReferralCancel, ReferralUpload
from yidi_filing.domain.enrolment import EnrolPerson, UpdatePerson
from yidi_filing.domain.events import FilingSubmitted
from yidi_filing.domain.filing import ChangeFiling, SubmitFiling

# --- enrolment -------------------------------------------------------------------------------

ENROL_ZHANG = EnrolPerson(
    person_id=f" {ZHANG} ",
    insured_region=SUZHOU,
    insurance_type=InsuranceType.EMPLOYEE,
    person_category="1201",
    civil_servant=False,
    assistance_identities=(),
    name=" 张建国 ",
    certificate_type="01",
    certificate_no=ZHANG_ID,
    gender="1",
    birth_date=date(1956, 3, 12),
    card_serial=None,
    account_balance=350000,
)


async def test_enrolment_appends_the_person_trimmed_and_claims_the_number() -> None:
    s = service()
    assert await persons.enrol(s.ctx, CLERK, ENROL_ZHANG) == ZHANG
    assert s.events(f"person-{ZHANG}") == [
        PersonEnrolledV1(
            person_id=ZHANG,
            insured_region=SUZHOU,
            insurance_type=InsuranceType.EMPLOYEE,
            person_category="1201",
            civil_servant=False,
            assistance_identities=(),
            name="张建国",
            certificate_type="01",
            certificate_no=ZHANG_ID,
            gender="1",
            birth_date=date(1956, 3, 12),
            card_serial=None,
            account_balance=350000,
            enrolment_status=EnrolmentStatus.ACTIVE,
            enrolled_on=TODAY,
        )
    ]
    assert s.numbers.holders == {f"01:{ZHANG_ID}": ZHANG}


async def test_a_number_another_person_holds_refuses_the_enrolment() -> None:
    s = service()
    s.numbers.holders[f"01:{ZHANG_ID}"] = "32050000000000000009"
    with pytest.raises(Conflict) as refused:
        await persons.enrol(s.ctx, CLERK, ENROL_ZHANG)
    assert (refused.value.rule, refused.value.field) == (
        "person.duplicate_enrolment",
        "certificate_no",
    )
    assert s.committed() == []


async def test_an_enrolled_person_is_not_enrolled_twice() -> None:
    s = await enrolled_zhang()
    with pytest.raises(Conflict) as refused:
        await persons.enrol(s.ctx, CLERK, ENROL_ZHANG)
    assert refused.value.rule == "person.already_enrolled"
    assert s.committed() == [ZHANG_ENROLLED]


async def test_an_agency_enrols_only_in_its_own_region() -> None:
    s = service()
    with pytest.raises(Forbidden) as refused:
        await persons.enrol(s.ctx, WUXI_CLERK, ENROL_ZHANG)
    assert refused.value.rule == "auth.region"
    assert s.committed() == []


# --- population import -----------------------------------------------------------------------

HEADER = (
    "person_id,name,certificate_type,certificate_no,gender,birth_date,insured_region,"
    "insurance_type,person_category,civil_servant,assistance_identities,account_balance_yuan\n"
)
ROW_ZHANG = f"{ZHANG},张建国,01,{ZHANG_ID},1,1956-03-12,320500,310,1201,0,,3500.00\n"
ROW_WANG = f"{WANG},王大山,01,611000198506200335,1,1985-06-20,611000,390,1501,0,dibao|tekun,0\n"
POPULATION = HEADER + ROW_ZHANG + ROW_WANG

WANG_ENROLLED = PersonEnrolledV1(
    person_id=WANG,
    insured_region="611000",
    insurance_type=InsuranceType.RESIDENT,
    person_category="1501",
    civil_servant=False,
    assistance_identities=(AssistanceIdentity.DIBAO, AssistanceIdentity.TEKUN),
    name="王大山",
    certificate_type="01",
    certificate_no="611000198506200335",
    gender="1",
    birth_date=date(1985, 6, 20),
    card_serial=None,
    account_balance=0,
    enrolment_status=EnrolmentStatus.ACTIVE,
    enrolled_on=TODAY,
)


async def test_the_centre_imports_a_population_file_whole() -> None:
    s = service()
    assert await persons.import_population(s.ctx, CENTRE, POPULATION, "csv") == 2
    zhang = replace(ZHANG_ENROLLED, enrolled_on=TODAY)  # 3500.00 yuan
    assert s.events(f"person-{ZHANG}") == [zhang]
    assert s.events(f"person-{WANG}") == [WANG_ENROLLED]
    assert s.numbers.holders == {f"01:{ZHANG_ID}": ZHANG, "01:611000198506200335": WANG}


async def test_a_row_already_enrolled_refuses_the_whole_file() -> None:
    s = service()
    await s.given(f"person-{WANG}", WANG_ENROLLED)
    with pytest.raises(persons.RowErrors) as refused:
        await persons.import_population(s.ctx, CENTRE, POPULATION, "csv")
    assert [(e.row, e.field, e.rule) for e in refused.value.rows] == [
        (2, "person_id", "person.already_enrolled")
    ]
    assert s.committed() == [WANG_ENROLLED]


async def test_a_number_already_held_refuses_the_whole_file() -> None:
    s = service()
    s.numbers.holders[f"01:{ZHANG_ID}"] = "32050000000000000009"
    with pytest.raises(persons.RowErrors) as refused:
        await persons.import_population(s.ctx, CENTRE, POPULATION, "csv")
    assert [(e.row, e.field, e.rule) for e in refused.value.rows] == [
        (1, "certificate_no", "person.duplicate_enrolment")
    ]
    assert s.committed() == []


async def test_an_agency_imports_only_persons_of_its_own_region() -> None:
    s = service()
    with pytest.raises(persons.RowErrors) as refused:
        await persons.import_population(s.ctx, CLERK, POPULATION, "csv")
    assert [(e.row, e.field, e.rule) for e in refused.value.rows] == [
        (2, "insured_region", "auth.region")
    ]
    assert s.committed() == []


# --- decisions on an enrolled person ---------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "fact"),
    [
        (
            persons.credit(5000, " annual transfer "),
            AccountBalanceChanged(
                person_id=ZHANG,
                account_balance=355000,
                change=5000,
                reason="annual transfer",
                changed_on=TODAY,
            ),
        ),
        (
            persons.debit(50000, "outpatient visit"),
            AccountBalanceChanged(
                person_id=ZHANG,
                account_balance=300000,
                change=-50000,
                reason="outpatient visit",
                changed_on=TODAY,
            ),
        ),
        (
            persons.set_balance(0, "account closed"),
            AccountBalanceChanged(
                person_id=ZHANG,
                account_balance=0,
                change=-350000,
                reason="account closed",
                changed_on=TODAY,
            ),
        ),
        (
            persons.record_death(date(2026, 3, 1)),
            PersonDied(
                person_id=ZHANG, death_date=date(2026, 3, 1), recorded_on=TODAY, correction=False
            ),
        ),
        (
            persons.change_status(EnrolmentStatus.SUSPENDED, date(2026, 3, 1), "arrears"),
            EnrolmentStatusChanged(
                person_id=ZHANG,
                enrolment_status=EnrolmentStatus.SUSPENDED,
                effective_from=date(2026, 3, 1),
                reason="arrears",
            ),
        ),
        (
            persons.suspend(date(2026, 3, 3), date(2026, 6, 30), "records under review"),
            BenefitsSuspended(
                person_id=ZHANG,
                source=BenefitSource.INSURED_PLACE,
                effective_from=date(2026, 3, 3),
                until=date(2026, 6, 30),
                reason="records under review",
                case_id=None,
            ),
        ),
        (
            persons.terminate(date(2026, 4, 1), "emigrated"),
            BenefitsTerminated(
                person_id=ZHANG,
                source=BenefitSource.INSURED_PLACE,
                effective_from=date(2026, 4, 1),
                reason="emigrated",
                case_id=None,
            ),
        ),
        (
            persons.update(UpdatePerson(name="张建民", card_serial="C-77"), CLERK),
            PersonUpdatedV1(
                person_id=ZHANG,
                insured_region=SUZHOU,
                insurance_type=InsuranceType.EMPLOYEE,
                person_category="1201",
                civil_servant=False,
                assistance_identities=(),
                name="张建民",
                gender="1",
                birth_date=date(1956, 3, 12),
                card_serial="C-77",
                updated_on=TODAY,
            ),
        ),
    ],
)
async def test_an_agency_decision_on_its_own_person_appends_its_fact(
    decision: persons.Decision, fact: Any
) -> None:
    s = await enrolled_zhang()
    assert await persons.act(s.ctx, CLERK, ZHANG, decision) == 2
    assert s.events(f"person-{ZHANG}") == [ZHANG_ENROLLED, fact]


async def test_benefits_suspended_by_the_insured_place_resume() -> None:
    s = await enrolled_zhang()
    await persons.act(s.ctx, CLERK, ZHANG, persons.suspend(TODAY, None, "review"))
    assert await persons.act(s.ctx, CLERK, ZHANG, persons.resume(date(2026, 3, 9), "cleared")) == 3
    assert s.events(f"person-{ZHANG}")[2] == BenefitsResumed(
        person_id=ZHANG,
        source=BenefitSource.INSURED_PLACE,
        effective_from=date(2026, 3, 9),
        reason="cleared",
        case_id=None,
    )


async def test_a_terminated_enrolment_releases_the_number() -> None:
    s = await enrolled_zhang()
    terminate = persons.change_status(EnrolmentStatus.TERMINATED, TODAY, "moved abroad")
    await persons.act(s.ctx, CLERK, ZHANG, terminate)
    assert s.events(f"person-{ZHANG}")[1:] == [
        EnrolmentStatusChanged(
            person_id=ZHANG,
            enrolment_status=EnrolmentStatus.TERMINATED,
            effective_from=TODAY,
            reason="moved abroad",
        )
    ]
    assert s.numbers.holders == {}


async def test_a_repeated_decision_that_changes_nothing_appends_nothing() -> None:
    s = await enrolled_zhang()
    assert await persons.act(s.ctx, CLERK, ZHANG, persons.set_balance(350000, "same")) == 1
    assert s.committed() == [ZHANG_ENROLLED]


@pytest.mark.parametrize(
    ("principal", "decision", "refusal", "rule"),
    [
        (CLERK, persons.debit(350001, "too much"), Conflict, "person.insufficient_balance"),
        (CLERK, persons.resume(TODAY, "not suspended"), Conflict, "person.benefits_not_suspended"),
        (WUXI_CLERK, persons.credit(100, "wrong agency"), Forbidden, "auth.region"),
        (person_principal(ZHANG), persons.credit(100, "self"), Forbidden, "auth.kind"),
    ],
)
async def test_a_refused_decision_appends_nothing(
    principal: Principal, decision: persons.Decision, refusal: type[DomainError], rule: str
) -> None:
    s = await enrolled_zhang()
    with pytest.raises(refusal) as refused:
        await persons.act(s.ctx, principal, ZHANG, decision)
    assert refused.value.rule == rule
    assert s.committed() == [ZHANG_ENROLLED]


async def test_a_decision_on_a_person_never_enrolled_is_not_found() -> None:
    s = service()
    with pytest.raises(NotFound) as refused:
        await persons.act(s.ctx, CLERK, ZHANG, persons.credit(100, "transfer"))
    assert refused.value.rule == "person.not_enrolled"
    with pytest.raises(Forbidden):  # whoever asks about an unknown person must be agency staff
        await persons.act(s.ctx, person_principal(ZHANG), ZHANG, persons.credit(100, "x"))
    assert s.committed() == []


# --- filings ---------------------------------------------------------------------------------

LONG_TERM = SubmitFiling(
    filing_id="f-long",
    person_id=ZHANG,
    kind=FilingKind.LONG_TERM,
    channel=FilingChannel.COUNTER,
    visit_region=NANJING,
    long_term_type=LongTermType.RETIREE_RESETTLED,
    supporting_documents=True,
)

REFERRAL = SubmitFiling(
    filing_id="f-referral",
    person_id=ZHANG,
    kind=FilingKind.REFERRAL,
    channel=FilingChannel.COUNTER,
    visit_region=NANJING,
    destination_institution="H32010000001",
    diagnosis="i21.0",
)

# A referral without a designated hospital's opinion, for a diagnosis off the unconditional
# catalogue: it waits two working days for a reviewer (Monday -> Wednesday 4 March), and a
# temporary filing runs 6 months less a day from today (2 March -> 1 September).
REFERRAL_SUBMITTED = FilingSubmitted(
    filing_id="f-referral",
    person_id=ZHANG,
    kind=FilingKind.REFERRAL,
    long_term_type=None,
    insured_region=SUZHOU,
    visit_region=NANJING,
    destination_institution="H32010000001",
    diagnosis="I21.0",
    valid_from=TODAY,
    valid_to=date(2026, 9, 1),
    promise_based=False,
    channel=FilingChannel.COUNTER,
    supporting_documents=False,
    referral_opinion_from=None,
    admission_date=None,
    submitted_on=TODAY,
    review_due=date(2026, 3, 4),
    review_reasons=("filing.referral_without_opinion",),
)


def long_term_on_file(*, promise_based: bool) -> list[Any]:
    """A long-term filing of Zhang's to Nanjing that began on 5 January and was approved."""
    common: dict[str, Any] = {
        "filing_id": "f-long",
        "person_id": ZHANG,
        "kind": FilingKind.LONG_TERM,
        "long_term_type": LongTermType.RETIREE_RESETTLED,
        "insured_region": SUZHOU,
        "visit_region": NANJING,
        "destination_institution": None,
        "diagnosis": None,
        "valid_from": date(2026, 1, 5),
        "valid_to": None,
        "promise_based": promise_based,
        "channel": FilingChannel.COUNTER,
    }
    return [
        FilingSubmitted(
            **common,
            supporting_documents=not promise_based,
            referral_opinion_from=None,
            admission_date=None,
            submitted_on=date(2026, 1, 5),
            review_due=None,
            review_reasons=(),
        ),
        FilingApproved(**common, approved_on=date(2026, 1, 5), reviewer=None),
    ]


async def test_a_long_term_filing_with_documents_is_approved_on_submission() -> None:
    s = await enrolled_zhang()
    assert await filings.submit(s.ctx, CLERK, LONG_TERM) == "f-long"
    common: dict[str, Any] = {
        "filing_id": "f-long",
        "person_id": ZHANG,
        "kind": FilingKind.LONG_TERM,
        "long_term_type": LongTermType.RETIREE_RESETTLED,
        "insured_region": SUZHOU,
        "visit_region": NANJING,
        "destination_institution": None,
        "diagnosis": None,
        "valid_from": TODAY,
        "valid_to": None,  # long-term: valid until changed
        "promise_based": False,
        "channel": FilingChannel.COUNTER,
    }
    assert s.events("filing-f-long") == [
        FilingSubmitted(
            **common,
            supporting_documents=True,
            referral_opinion_from=None,
            admission_date=None,
            submitted_on=TODAY,
            review_due=None,
            review_reasons=(),
        ),
        FilingApproved(**common, approved_on=TODAY, reviewer=None),
    ]


async def test_a_referral_without_an_opinion_waits_for_a_reviewer() -> None:
    s = await enrolled_zhang()
    await filings.submit(s.ctx, CLERK, REFERRAL)
    assert s.events("filing-f-referral") == [REFERRAL_SUBMITTED]


@pytest.mark.parametrize(
    ("principal", "command", "refusal", "rule"),
    [
        (
            person_principal("32050000000000000002"),
            replace(LONG_TERM, channel=FilingChannel.ONLINE),
            Forbidden,
            "filing.online_self_only",
        ),
        (WUXI_CLERK, LONG_TERM, Forbidden, "auth.region"),
        (CLERK, replace(LONG_TERM, person_id=WANG), NotFound, None),
        (CLERK, replace(LONG_TERM, visit_region="320506"), DomainError, "filing.local_visit"),
    ],
)
async def test_a_refused_submission_appends_nothing(
    principal: Principal, command: SubmitFiling, refusal: type[DomainError], rule: str | None
) -> None:
    s = await enrolled_zhang()
    with pytest.raises(refusal) as refused:
        await filings.submit(s.ctx, principal, command)
    assert refused.value.rule == (rule or "person.not_enrolled")
    assert s.committed() == [ZHANG_ENROLLED]


async def test_a_submitted_filing_is_not_submitted_again() -> None:
    s = await enrolled_zhang()
    await s.given("filing-f-referral", REFERRAL_SUBMITTED)
    with pytest.raises(Conflict) as refused:
        await filings.submit(s.ctx, CLERK, REFERRAL)
    assert refused.value.rule == "filing.already_submitted"
    assert s.events("filing-f-referral") == [REFERRAL_SUBMITTED]


async def test_a_reviewer_of_the_insured_agency_approves_a_pending_filing() -> None:
    s = await enrolled_zhang()
    await s.given("filing-f-referral", REFERRAL_SUBMITTED)
    await filings.approve(s.ctx, REVIEWER, "f-referral")
    assert s.events("filing-f-referral")[1:] == [
        FilingApproved(
            filing_id="f-referral",
            person_id=ZHANG,
            kind=FilingKind.REFERRAL,
            long_term_type=None,
            insured_region=SUZHOU,
            visit_region=NANJING,
            destination_institution="H32010000001",
            diagnosis="I21.0",
            valid_from=TODAY,
            valid_to=date(2026, 9, 1),
            promise_based=False,
            channel=FilingChannel.COUNTER,
            approved_on=TODAY,
            reviewer="reviewer-320500",
        )
    ]


async def test_a_reviewer_rejects_a_pending_filing_with_a_reason() -> None:
    s = await enrolled_zhang()
    await s.given("filing-f-referral", REFERRAL_SUBMITTED)
    await filings.reject(s.ctx, REVIEWER, "f-referral", " no referral opinion ")
    assert s.events("filing-f-referral")[1:] == [
        FilingRejected(
            filing_id="f-referral",
            person_id=ZHANG,
            reviewer="reviewer-320500",
            reason="no referral opinion",
            rejected_on=TODAY,
        )
    ]


@pytest.mark.parametrize(
    ("principal", "refusal", "rule"),
    [
        (WUXI_REVIEWER, Forbidden, "filing.review_own_queue"),
        (CLERK, Forbidden, "auth.role"),
    ],
)
async def test_only_a_reviewer_of_the_insured_agency_reviews(
    principal: Principal, refusal: type[DomainError], rule: str
) -> None:
    s = await enrolled_zhang()
    await s.given("filing-f-referral", REFERRAL_SUBMITTED)
    with pytest.raises(refusal) as refused:
        await filings.approve(s.ctx, principal, "f-referral")
    assert refused.value.rule == rule
    assert s.events("filing-f-referral") == [REFERRAL_SUBMITTED]


async def test_an_approved_filing_is_not_reviewed_again() -> None:
    s = await enrolled_zhang()
    await s.given("filing-f-long", *long_term_on_file(promise_based=False))
    with pytest.raises(Conflict) as refused:
        await filings.reject(s.ctx, REVIEWER, "f-long", "late")
    assert refused.value.rule == "filing.not_pending"
    assert len(s.events("filing-f-long")) == 2


async def test_the_agency_changes_a_long_term_filing_to_a_new_residence_city() -> None:
    s = await enrolled_zhang()
    await s.given("filing-f-long", *long_term_on_file(promise_based=False))
    await filings.change(s.ctx, CLERK, "f-long", ChangeFiling(reason="moved", visit_region=WUXI))
    assert s.events("filing-f-long")[2:] == [
        FilingChanged(
            filing_id="f-long",
            person_id=ZHANG,
            kind=FilingKind.LONG_TERM,
            long_term_type=LongTermType.RETIREE_RESETTLED,
            insured_region=SUZHOU,
            visit_region=WUXI,
            destination_institution=None,
            diagnosis=None,
            valid_from=date(2026, 1, 5),
            valid_to=None,
            promise_based=False,
            channel=FilingChannel.COUNTER,
            changed_on=TODAY,
            reason="moved",
        )
    ]


async def test_the_person_cancels_their_own_filing_online() -> None:
    s = await enrolled_zhang()
    await s.given("filing-f-long", *long_term_on_file(promise_based=False))
    await filings.cancel(s.ctx, person_principal(ZHANG), "f-long", "back home")
    assert s.events("filing-f-long")[2:] == [
        FilingCancelled(filing_id="f-long", person_id=ZHANG, cancelled_on=TODAY, reason="back home")
    ]


async def test_a_promise_based_filing_is_locked_for_six_months() -> None:
    s = await enrolled_zhang()
    await s.given("filing-f-long", *long_term_on_file(promise_based=True))
    with pytest.raises(Conflict) as refused:  # began 5 January: locked until 5 July
        await filings.cancel(s.ctx, CLERK, "f-long", "back home")
    assert refused.value.rule == "filing.promise_lock"
    assert "2026-07-05" in refused.value.message
    assert len(s.events("filing-f-long")) == 2


@pytest.mark.parametrize(
    ("principal", "rule"),
    [
        (person_principal("32050000000000000002"), "filing.online_self_only"),
        (WUXI_CLERK, "auth.region"),
    ],
)
async def test_only_the_person_or_the_insured_agency_amends_a_filing(
    principal: Principal, rule: str
) -> None:
    s = await enrolled_zhang()
    await s.given("filing-f-long", *long_term_on_file(promise_based=False))
    with pytest.raises(Forbidden) as refused:
        await filings.change(
            s.ctx, principal, "f-long", ChangeFiling(reason="x", visit_region=WUXI)
        )
    assert refused.value.rule == rule
    assert len(s.events("filing-f-long")) == 2


# --- hospital referrals through the HIS gateway ----------------------------------------------

REFERRING = "H32050000001"  # the designated hospital in Suzhou that refers Zhang to Nanjing
HOSPITAL_FILING = his.hospital_filing_id(REFERRING, "msg-1")


def upload(person_id: str = ZHANG, insured_region: str | None = SUZHOU) -> ReferralUpload:
    return ReferralUpload(
        command=SubmitFiling(
            filing_id=HOSPITAL_FILING,
            person_id=person_id,
            kind=FilingKind.REFERRAL,
            channel=FilingChannel.HOSPITAL,
            visit_region=NANJING,
            destination_institution="H32010000001",
            diagnosis="I21.0",
            submitted_by_institution=REFERRING,
        ),
        insured_region=insured_region,
        insurance_type="310",
    )


async def test_a_hospital_referral_is_its_own_opinion_and_approved_at_once() -> None:
    s = await enrolled_zhang()
    assert await his.upload_referral(s.ctx, upload()) == HOSPITAL_FILING
    common: dict[str, Any] = {
        "filing_id": HOSPITAL_FILING,
        "person_id": ZHANG,
        "kind": FilingKind.REFERRAL,
        "long_term_type": None,
        "insured_region": SUZHOU,
        "visit_region": NANJING,
        "destination_institution": "H32010000001",
        "diagnosis": "I21.0",
        "valid_from": TODAY,
        "valid_to": date(2026, 9, 1),
        "promise_based": False,
        "channel": FilingChannel.HOSPITAL,
    }
    assert s.events(f"filing-{HOSPITAL_FILING}") == [
        FilingSubmitted(
            **common,
            supporting_documents=False,
            referral_opinion_from=REFERRING,
            admission_date=None,
            submitted_on=TODAY,
            review_due=None,
            review_reasons=(),
        ),
        FilingApproved(**common, approved_on=TODAY, reviewer=None),
    ]
    # A forwarded repeat of the same message answers the same filing and files nothing more.
    assert await his.upload_referral(s.ctx, upload()) == HOSPITAL_FILING
    assert len(s.events(f"filing-{HOSPITAL_FILING}")) == 2


@pytest.mark.parametrize(
    ("given_filed", "sent", "rule"),
    [
        (True, upload(person_id="32050000000000000002"), "his.message_reused"),
        (False, upload(insured_region=WUXI), "his.insured_region"),
        (False, upload(person_id="32050000000000000002"), "person.not_enrolled"),
    ],
)
async def test_a_refused_hospital_referral_appends_nothing(
    given_filed: bool, sent: ReferralUpload, rule: str
) -> None:
    s = await enrolled_zhang()
    if given_filed:
        await his.upload_referral(s.ctx, upload())
    before = s.committed()
    with pytest.raises(DomainError) as refused:
        await his.upload_referral(s.ctx, sent)
    assert refused.value.rule == rule
    assert s.committed() == before


async def test_the_referring_hospital_cancels_its_referral() -> None:
    s = await enrolled_zhang()
    await his.upload_referral(s.ctx, upload())
    cancel = ReferralCancel(filing_id=HOSPITAL_FILING, person_id=ZHANG, reason="not transferred")
    assert await his.cancel_referral(s.ctx, cancel, REFERRING) == HOSPITAL_FILING
    assert s.events(f"filing-{HOSPITAL_FILING}")[2:] == [
        FilingCancelled(
            filing_id=HOSPITAL_FILING,
            person_id=ZHANG,
            cancelled_on=TODAY,
            reason="not transferred",
        )
    ]


@pytest.mark.parametrize(
    ("person_id", "institution", "refusal", "rule"),
    [
        (ZHANG, "H32050000002", Forbidden, "filing.hospital_own_only"),
        ("32050000000000000002", REFERRING, NotFound, "filing.not_found"),
    ],
)
async def test_a_hospital_cancels_only_its_own_referral_of_that_person(
    person_id: str, institution: str, refusal: type[DomainError], rule: str
) -> None:
    s = await enrolled_zhang()
    await his.upload_referral(s.ctx, upload())
    cancel = ReferralCancel(filing_id=HOSPITAL_FILING, person_id=person_id, reason="x")
    with pytest.raises(refusal) as refused:
        await his.cancel_referral(s.ctx, cancel, institution)
    assert refused.value.rule == rule
    assert len(s.events(f"filing-{HOSPITAL_FILING}")) == 2


# --- benefit policies ------------------------------------------------------------------------

DOCUMENT = json.loads((shared_dir() / "sandbox/policies.json").read_text(encoding="utf-8"))[0]
FROM_JULY = {**DOCUMENT, "effective_from": "2026-07-01"}  # Nanjing, employees (310)
BOOK = "policy-320100-310"


async def test_publishing_versions_supersedes_the_current_one_from_the_new_date() -> None:
    s = service()
    assert await policies.publish(s.ctx, NANJING_CLERK, DOCUMENT) == 1
    assert await policies.publish(s.ctx, NANJING_CLERK, DOCUMENT) is None  # the same again
    assert await policies.publish(s.ctx, NANJING_CLERK, FROM_JULY) == 2
    assert s.events(BOOK) == [
        PolicyPublished(
            insured_region=NANJING,
            insurance_type=InsuranceType.EMPLOYEE,
            version=1,
            effective_from=date(2026, 1, 1),
            policy=parse_policy_document(DOCUMENT),
            superseded_version=None,
            superseded_effective_to=None,
            published_on=TODAY,
        ),
        PolicyPublished(
            insured_region=NANJING,
            insurance_type=InsuranceType.EMPLOYEE,
            version=2,
            effective_from=date(2026, 7, 1),
            policy=parse_policy_document(FROM_JULY),
            superseded_version=1,
            superseded_effective_to=date(2026, 6, 30),  # the day before the new version
            published_on=TODAY,
        ),
    ]


# Section 2's parts a real place uses: outpatient pooling, maternity, other inpatient, cuts inside
# the province, assistance by identity, a 三甲 priced apart, a July-June year, no supplementary.
EVERY_PART = {
    **DOCUMENT,
    "effective_from": "2026-07-01",
    "policy_year_start": "07-01",
    "supplementary": None,
    "outpatient_pooling": {
        "deductible": "200.00",
        "ratio": {"1": "0.7000", "2": "0.6000", "3": "0.5000", "3a": "0.4500"},
        "annual_cap": "3000.00",
    },
    "maternity": {"limit": {"1": "3000.00", "2": "4000.00", "3": "5000.00"}},
    "other_inpatient": True,
    "in_province_cut_points": {
        "long_term": 0,
        "emergency": 0,
        "referral": 5,
        "other_temporary": 20,
    },
    "assistance": {
        "identities": ["tekun", "dibao"],
        "ratio": "0.7000",
        "annual_cap": "30000.00",
        "by_identity": {"tekun": {"ratio": "1.0000", "annual_cap": "50000.00"}},
    },
}


async def test_a_policy_with_every_section_2_part_and_no_supplementary_layer_is_published() -> None:
    s = service()
    assert await policies.publish(s.ctx, NANJING_CLERK, DOCUMENT) == 1
    assert await policies.publish(s.ctx, NANJING_CLERK, EVERY_PART) == 2
    published = s.events(BOOK)[-1]
    assert published.policy == parse_policy_document(EVERY_PART)
    assert published.policy.supplementary is None
    assert policy_document(published.policy) == EVERY_PART


@pytest.mark.parametrize(
    ("principal", "document", "rule"),
    [
        (CLERK, DOCUMENT, "auth.region"),
        (NANJING_CLERK, {**DOCUMENT, "effective_from": "2025-12-31"}, "policy.backdated"),
    ],
)
async def test_a_refused_publication_appends_nothing(
    principal: Principal, document: dict[str, Any], rule: str
) -> None:
    s = service()
    await policies.publish(s.ctx, NANJING_CLERK, DOCUMENT)
    with pytest.raises(DomainError) as refused:
        await policies.publish(s.ctx, principal, document)
    assert refused.value.rule == rule
    assert len(s.events(BOOK)) == 1


# --- audit's suspensions of direct settlement ------------------------------------------------

SUSPENDED = DirectSettlementSuspended(
    person_id=ZHANG,
    suspended_from=date(2026, 3, 2),
    suspended_until=date(2026, 6, 1),
    case_id="AC-1",
    insured_region=SUZHOU,
    decided_by="auditor-7",
)
ENDED = DirectSettlementSuspensionEnded(
    person_id=ZHANG,
    case_id="AC-1",
    insured_region=SUZHOU,
    ended_on=date(2026, 4, 1),
    reason=SuspensionEndReason.LIFTED,
)
AUDIT_SUSPENSION = BenefitsSuspended(
    person_id=ZHANG,
    source=BenefitSource.AUDIT,
    effective_from=date(2026, 3, 2),
    until=date(2026, 6, 1),
    reason="audit case AC-1 decided by auditor-7",
    case_id="AC-1",
)


async def suspend(s: Service, event: DirectSettlementSuspended) -> None:
    async with s.store.begin() as unit:  # the consumer's transaction
        await audit_policy.suspend_direct_settlement(s.ctx, unit, event)


async def end(s: Service, event: DirectSettlementSuspensionEnded) -> None:
    async with s.store.begin() as unit:
        await audit_policy.end_direct_settlement_suspension(s.ctx, unit, event)


async def test_an_audit_suspension_becomes_a_fact_on_the_person_once() -> None:
    s = await enrolled_zhang()
    await suspend(s, SUSPENDED)
    await suspend(s, SUSPENDED)  # redelivered
    assert s.events(f"person-{ZHANG}") == [ZHANG_ENROLLED, AUDIT_SUSPENSION]


async def test_the_end_of_an_audit_suspension_resumes_that_case_once() -> None:
    s = await enrolled_zhang()
    await s.given(f"person-{ZHANG}", AUDIT_SUSPENSION)
    await end(s, ENDED)
    await end(s, ENDED)  # redelivered
    assert s.events(f"person-{ZHANG}")[2:] == [
        BenefitsResumed(
            person_id=ZHANG,
            source=BenefitSource.AUDIT,
            effective_from=date(2026, 4, 1),
            reason="audit suspension ended: lifted",
            case_id="AC-1",
        )
    ]


async def test_audit_facts_about_persons_this_service_cannot_change_are_ignored() -> None:
    s = await enrolled_zhang()
    await s.given(
        f"person-{ZHANG}", PersonDied(person_id=ZHANG, death_date=TODAY, recorded_on=TODAY)
    )
    await suspend(s, SUSPENDED)  # the person died
    await suspend(s, replace(SUSPENDED, person_id=WANG))
    await end(s, replace(ENDED, case_id="AC-9"))
    assert len(s.committed()) == 2
