"""Given events / when command / then events for the Visit; eligibility refusals; accumulators."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from yidi_benefits import accumulators
from yidi_benefits.engine import cancellation_of, compute_settlement
from yidi_benefits.filings import FilingSnapshot
from yidi_benefits.line_split import split_lines
from yidi_benefits.model import (
    Catalogue,
    CatalogueEntry,
    FeeLine,
    PersonAtSettlement,
    VisitFacts,
)
from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.policy import FilingKind, HospitalLevel
from yidi_events.contracts.settlement import (
    FeeLinesUploaded,
    ItemClass,
    SettlementCancelled,
    VisitSettled,
)
from yidi_events.decider import fold
from yidi_events.kernel import DomainError
from yidi_events.policy_document import parse_policy_document
from yidi_events.registry import decode, encode, spec_of
from yidi_settlement.domain import visit
from yidi_settlement.domain.eligibility import (
    EnrolmentStatus,
    HospitalSnapshot,
    PersonSnapshot,
    check_eligibility,
)
from yidi_settlement.domain.events import PatientDischarged, VisitRegistered

SHARED = shared_dir()
_VECTORS = (SHARED / "vectors/settlement.json").read_text(encoding="utf-8")
EMPLOYEE = parse_policy_document(json.loads(_VECTORS)[0]["policy"])
CATALOGUE = {
    "A": CatalogueEntry(
        catalogue_code="A", item_class=ItemClass.A, self_pay_ratio=Decimal(0), price_cap=None
    )
}
NOW = datetime(2026, 5, 10, 9, 0, tzinfo=UTC)
REGISTERED = VisitRegistered(
    visit_id="V1",
    person_id="P1",
    insured_region="320500",
    visit_region="320100",
    institution_code="H32010000001",
    insurance_type="310",
    medical_type="21",
    began_at=datetime(2026, 5, 1, 8, 0, tzinfo=UTC),
)
LINES = split_lines(
    [
        FeeLine(
            fee_line_no=str(n),
            catalogue_code="A",
            quantity=Decimal(1),
            unit_price=Decimal(1000),
            amount=100000,
        )
        for n in (1, 2)
    ],
    Catalogue.undated(CATALOGUE),
    date(2026, 5, 2),
)
UPLOADED = FeeLinesUploaded(
    visit_id="V1", person_id="P1", institution_code="H32010000001", lines=LINES, uploaded_at=NOW
)
DISCHARGED = PatientDischarged(
    visit_id="V1",
    person_id="P1",
    institution_code="H32010000001",
    discharged_on=date(2026, 5, 9),
    discharged_at=NOW,
)


def state(*events: Any) -> visit.VisitState:
    return fold(visit.evolve, visit.VisitState(), events)


def computation(acc: accumulators.Accumulators | None = None) -> Any:
    return compute_settlement(
        policy=EMPLOYEE,
        catalogue=Catalogue.undated(CATALOGUE),
        person=PersonAtSettlement(person_category="1201", account_balance=50000),
        visit=VisitFacts(
            hospital_level=HospitalLevel.THREE,
            medical_type="21",
            filing_kind=FilingKind.LONG_TERM,
            use_account=True,
            settled_on=date(2026, 5, 9),
        ),
        fee_lines=[
            FeeLine(
                fee_line_no=x.fee_line_no,
                catalogue_code=x.catalogue_code,
                quantity=x.quantity,
                unit_price=x.unit_price,
                amount=x.amount,
            )
            for x in LINES
        ],
        accumulators=acc or accumulators.Accumulators(policy_year=2026),
    )


def settle_command(settlement_id: str = "S1") -> visit.SettleCommand:
    return visit.SettleCommand(
        settlement_id=settlement_id,
        message_id="M1",
        clearing_agency="320100",
        clearing_category="21",
        filing_kind="long_term",
        computation=computation(),
    )


def test_settle_after_discharge_carries_totals_and_movement() -> None:
    [settled] = visit.decide_settle(state(REGISTERED, UPLOADED, DISCHARGED), settle_command(), NOW)
    assert isinstance(settled, VisitSettled)
    assert settled.admitted_on == date(2026, 5, 1)
    assert settled.discharged_on == date(2026, 5, 9)
    assert settled.totals.total_fee == 200000
    assert settled.movement.inpatient_admissions == 1
    # The fact survives the event codec unchanged.
    spec = spec_of(settled)
    assert decode(spec.event_type, spec.version, encode(settled)) == settled


def test_admission_cannot_settle_before_discharge() -> None:
    with pytest.raises(DomainError) as refused:
        visit.decide_settle(state(REGISTERED, UPLOADED), settle_command(), NOW)
    assert refused.value.rule == "visit.not_discharged"


def test_settles_only_once_and_registration_cancel_is_refused_after() -> None:
    given = state(REGISTERED, UPLOADED, DISCHARGED)
    settled = visit.decide_settle(given, settle_command(), NOW)
    after = fold(visit.evolve, given, settled)
    with pytest.raises(DomainError) as twice:
        visit.decide_settle(after, settle_command("S2"), NOW)
    assert twice.value.rule == "visit.settled"
    with pytest.raises(DomainError) as cancel:
        visit.decide_cancel_registration(after, NOW)
    assert cancel.value.rule == "visit.settled"
    with pytest.raises(DomainError) as upload:
        visit.decide_upload_fee_lines(after, LINES, NOW, skew=timedelta(0))
    assert upload.value.rule == "visit.settled"


def test_cancelled_settlement_reopens_the_visit_and_moves_accumulators_back() -> None:
    given = state(REGISTERED, UPLOADED, DISCHARGED)
    settled = visit.decide_settle(given, settle_command(), NOW)
    original = settle_command().computation
    [moved] = [e.movement for e in settled if isinstance(e, VisitSettled)]
    acc_now = accumulators.initial(2026).moved(moved)
    assert acc_now == original.accumulators_after
    [cancelled] = visit.decide_cancel_settlement(
        fold(visit.evolve, given, settled),
        settlement_id="S1",
        cancellation_id="S1-C",
        cancellation=cancellation_of(original, acc_now, original.account_balance_after),
        message_id="M2",
        now=NOW,
    )
    assert isinstance(cancelled, SettlementCancelled)
    assert cancelled.original_settlement_id == "S1"
    assert cancelled.totals.fund_total == -original.totals.fund_total
    assert cancelled.account_balance_after == 50000
    assert acc_now.moved(cancelled.movement) == accumulators.initial(2026)
    reopened = fold(visit.evolve, given, [*settled, cancelled])
    assert reopened.status is visit.VisitStatus.DISCHARGED


def test_duplicate_fee_line_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        visit.decide_upload_fee_lines(
            state(REGISTERED, UPLOADED), LINES[:1], NOW, skew=timedelta(0)
        )
    assert refused.value.rule == "visit.duplicate_fee_line"


def test_fee_lines_changed_after_computation_are_refused() -> None:
    cancelled = visit.decide_cancel_fee_lines(state(REGISTERED, UPLOADED), ("2",), NOW)
    given = state(REGISTERED, UPLOADED, *cancelled, DISCHARGED)
    with pytest.raises(DomainError) as refused:
        visit.decide_settle(given, settle_command(), NOW)
    assert refused.value.rule == "visit.fee_lines_changed"


def test_register_twice_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        visit.decide_register(state(REGISTERED), REGISTERED)
    assert refused.value.rule == "visit.already_registered"


# --- eligibility --------------------------------------------------------------------------------

PERSON = PersonSnapshot(person_id="P1", insured_region="320500", certificate_no="320500X")
NANJING = HospitalSnapshot(institution_code="H32010000001", region="320100", networked=True)
LONG_TERM = FilingSnapshot(
    filing_id="F1",
    kind=FilingKind.LONG_TERM,
    visit_region="320100",
    valid_from=date(2026, 1, 1),
    valid_to=None,
)
REFERRAL = FilingSnapshot(
    filing_id="F2",
    kind=FilingKind.REFERRAL,
    visit_region="320100",
    valid_from=date(2026, 1, 1),
    valid_to=date(2026, 6, 30),
    institution_code="H32010000002",
)


def eligible(**changes: Any) -> Any:
    args: dict[str, Any] = {
        "person": PERSON,
        "filings": [LONG_TERM],
        "hospital": NANJING,
        "visit_date": date(2026, 5, 1),
        "emergency": False,
    }
    return check_eligibility(**{**args, **changes})


def test_long_term_filing_covers_any_hospital_in_the_city() -> None:
    assert eligible().filing_kind is FilingKind.LONG_TERM


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"filings": []}, "eligibility.no_filing"),
        ({"filings": [REFERRAL]}, "eligibility.no_filing"),  # referral names another hospital
        (
            {"filings": [REFERRAL], "hospital": NANJING, "visit_date": date(2026, 7, 1)},
            "eligibility.no_filing",
        ),
        (
            {"hospital": HospitalSnapshot(institution_code="H", region="320100", networked=False)},
            "eligibility.hospital_not_networked",
        ),
        (
            {
                "hospital": HospitalSnapshot(
                    institution_code="H", region="320100", networked=True, suspended=True
                )
            },
            "eligibility.hospital_suspended",
        ),
        (
            {"hospital": HospitalSnapshot(institution_code="H", region="320506", networked=True)},
            "eligibility.local_visit",
        ),
        (
            {
                "person": PersonSnapshot(
                    person_id="P1",
                    insured_region="320500",
                    certificate_no="320500X",
                    enrolment_status=EnrolmentStatus.SUSPENDED,
                )
            },
            "eligibility.benefits_suspended",
        ),
        (
            {
                "person": PersonSnapshot(
                    person_id="P1",
                    insured_region="320500",
                    certificate_no="320500X",
                    death_date=date(2026, 4, 30),
                )
            },
            "eligibility.person_deceased",
        ),
        ({"certificate_no": "OTHER"}, "eligibility.identity_mismatch"),
    ],
)
def test_refusals_name_their_rule(changes: dict[str, Any], rule: str) -> None:
    with pytest.raises(DomainError) as refused:
        eligible(**changes)
    assert refused.value.rule == rule


def test_a_suspension_in_force_on_the_day_of_the_request_refuses_a_visit_begun_before_it() -> None:
    # Admitted on 1 May; suspended on suspicion from 5 May to 19 May; settling on 6 May.
    suspended_now = replace(PERSON, direct_settlement_suspended_today=date(2026, 5, 19))
    with pytest.raises(DomainError) as refused:
        eligible(person=suspended_now)
    assert refused.value.rule == "eligibility.direct_settlement_suspended"
    assert refused.value.values == {"until": "2026-05-19"}
    # Nothing in force on either day: the stay settles.
    assert eligible(person=PERSON).filing_kind is FilingKind.LONG_TERM


def test_a_sanction_on_one_department_refuses_its_visits_only() -> None:
    sanctioned = replace(NANJING, suspended_departments=frozenset({"A01"}))
    with pytest.raises(DomainError) as refused:
        eligible(hospital=sanctioned, department="A01")
    assert (refused.value.rule, refused.value.field) == (
        "eligibility.department_suspended",
        "department",
    )
    assert refused.value.values == {"institution": NANJING.institution_code, "department": "A01"}
    # Another department of the same hospital, or a visit naming none, settles as before.
    assert eligible(hospital=sanctioned, department="B02").filing_kind is FilingKind.LONG_TERM
    assert eligible(hospital=sanctioned).filing_kind is FilingKind.LONG_TERM


def test_referral_to_the_named_hospital_and_emergency_without_filing() -> None:
    named = HospitalSnapshot(institution_code="H32010000002", region="320100", networked=True)
    assert eligible(filings=[REFERRAL], hospital=named).filing_id == "F2"
    # The last valid day still covers an admission.
    assert eligible(filings=[REFERRAL], hospital=named, visit_date=date(2026, 6, 30)).filing_id
    emergency = eligible(filings=[], emergency=True)
    assert (emergency.filing_kind, emergency.filing_id) == (FilingKind.EMERGENCY, None)


def test_a_cancelled_filing_covers_admissions_begun_before_the_cancellation_day() -> None:
    cancelled = replace(LONG_TERM, cancelled_on=date(2026, 5, 1))
    assert eligible(filings=[cancelled], visit_date=date(2026, 4, 30)).filing_id == "F1"
    with pytest.raises(DomainError) as refused:
        eligible(filings=[cancelled], visit_date=date(2026, 5, 1))
    assert refused.value.rule == "eligibility.no_filing"
