"""The claim's rules, pure: intake checks, verification verdicts, direct settlements, the workflow
with its deadlines in working days, four eyes, the payment's ledger movement."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal

import pytest

from yidi_benefits.filings import FilingSnapshot
from yidi_events.contracts.policy import FilingKind
from yidi_events.contracts.reimbursement import (
    ClaimChecked,
    ClaimInvoice,
    ClaimReceived,
    ClaimReviewed,
    LedgerEntry,
)
from yidi_events.contracts.settlement import FundCode, FundPayment
from yidi_events.kernel import SHANGHAI, Conflict, DomainError, Forbidden, WorkingCalendar
from yidi_reimbursement.domain import claim as model
from yidi_reimbursement.domain.detail_list import parse_detail_list
from yidi_reimbursement.domain.terms import ClaimTerms
from yidi_reimbursement.domain.verification import Verdict, Verification

HOSPITAL = "H32010000009"  # the sandbox's non-networked hospital
# Friday 6 March 2026; Monday 9 March made a holiday in these terms' calendar, so deadlines
# skip it as well as the weekend.
FRIDAY = date(2026, 3, 6)
NOW = datetime.combine(FRIDAY, time(10), SHANGHAI)
TERMS = ClaimTerms(
    calendar=WorkingCalendar.of(holidays=[date(2026, 3, 9)]), two_reviewers_above=50_000
)

DETAIL = """line_no,catalogue_code,item_name,quantity,unit_price,amount,fee_date
1,XA001,急诊诊查,1,300.00,300.00,2026-03-01
2,XB002,药品,10,45.50,455.00,2026-03-01
3,C001,自费材料,1,245.00,245.00,2026-03-02
"""


def invoice(number: str, amount: int, issued_on: date = date(2026, 3, 2)) -> ClaimInvoice:
    return ClaimInvoice(
        invoice_code="32060126",
        invoice_number=number,
        amount=amount,
        issued_on=issued_on,
        issuing_institution=HOSPITAL,
    )


def valid(inv: ClaimInvoice) -> Verification:
    return Verification(
        verdict=Verdict.VALID,
        amount=inv.amount,
        issued_on=inv.issued_on,
        issuing_institution=inv.issuing_institution,
    )


INTAKE = model.Intake(
    claim_id="RC1",
    person_id="P007",
    insured_region="320500",
    channel="counter",
    institution_code=HOSPITAL,
    institution_name="南京市某非联网医院",
    visit_region="320100",
    hospital_level="2",
    medical_type="21",
    emergency=True,
    admitted_on=date(2026, 3, 1),
    discharged_on=date(2026, 3, 2),
    # 300 + 455 + 245 = 1,000.00 yuan listed; the invoices 600.00 + 400.00
    invoices=(invoice("00000001", 60_000), invoice("00000002", 40_000)),
    fee_lines=parse_detail_list(DETAIL),
    discharge_summary_ref="DS-2026-0001",
    bank_account="6222020200112233445",
    use_account=False,
)


def receive(intake: model.Intake = INTAKE, **kw: object) -> list[model.ClaimEvent]:
    args: dict[str, object] = {
        "verifications": [valid(i) for i in intake.invoices],
        "settled": [],
        "received_by": "clerk-1",
        "terms": TERMS,
        "now": NOW,
    }
    args.update(kw)
    return model.decide_receive(None, intake, **args)  # type: ignore[arg-type]


def fold(events: list[model.ClaimEvent], state: model.Claim | None = None) -> model.Claim:
    for e in events:
        state = model.evolve(state, e)
    assert state is not None
    return state


def test_the_detail_list_is_read_exactly_in_fen() -> None:
    lines = parse_detail_list(DETAIL)
    assert [(x.line_no, x.catalogue_code, x.amount) for x in lines] == [
        ("1", "XA001", 30_000),
        ("2", "XB002", 45_500),
        ("3", "C001", 24_500),
    ]
    assert lines[1].quantity == "10"
    assert lines[1].unit_price == "45.50"


@pytest.mark.parametrize(
    ("text", "column", "row"),
    [
        ("line_no,catalogue_code,quantity,unit_price,amount\n1,XA001,1,3.00,3.001\n", "amount", 2),
        ("line_no,catalogue_code,quantity,unit_price,amount\n1,XA001,x,3.00,3.00\n", "quantity", 2),
        (
            "line_no,catalogue_code,quantity,unit_price,amount\n1,XA001,1,3,3\n1,XA1,1,3,3\n",
            "line_no",
            3,
        ),
        (
            "line_no,catalogue_code,quantity,unit_price,amount,fee_date\n1,X,1,3,3,2026-13-01\n",
            "fee_date",
            2,
        ),
    ],
)
def test_a_bad_detail_list_is_refused_naming_row_and_column(
    text: str, column: str, row: int
) -> None:
    with pytest.raises(DomainError) as refused:
        parse_detail_list(text)
    assert refused.value.rule == "reimbursement.detail_file"
    assert refused.value.field == "detail_file"
    assert refused.value.values == {"row": row, "column": column}


def test_a_claim_received_is_due_for_acceptance_five_working_days_later() -> None:
    (received,) = receive()
    assert isinstance(received, ClaimReceived)
    assert received.claimed_total == 100_000
    # Friday 6 March: 10, 11, 12, 13 (Mon 9 a holiday, weekend not counted), then Monday 16.
    assert received.acceptance_due == date(2026, 3, 16)
    assert received.received_on == FRIDAY


def test_a_detail_list_that_does_not_sum_to_the_invoices_is_refused() -> None:
    short = replace(INTAKE, invoices=(invoice("00000001", 60_000), invoice("00000002", 39_999)))
    with pytest.raises(DomainError) as refused:
        receive(short)
    assert refused.value.rule == "reimbursement.detail_mismatch"
    assert refused.value.field == "detail_file"
    assert refused.value.values == {"detail_total": 100_000, "invoice_total": 99_999}


@pytest.mark.parametrize(
    ("verdict", "rule"),
    [
        (Verdict.VOIDED, "reimbursement.invoice_voided"),
        (Verdict.RED_FLUSHED, "reimbursement.invoice_red_flushed"),
        (Verdict.UNKNOWN, "reimbursement.invoice_unknown"),
    ],
)
def test_an_invoice_not_valid_at_its_issuer_is_refused(verdict: Verdict, rule: str) -> None:
    first, _second = INTAKE.invoices
    with pytest.raises(DomainError) as refused:
        receive(verifications=[valid(first), Verification(verdict=verdict)])
    assert refused.value.rule == rule
    assert refused.value.field == "invoices[1].invoice_number"


def test_an_invoice_whose_amount_differs_from_its_issuers_record_is_refused() -> None:
    first, second = INTAKE.invoices
    forged = replace(valid(second), amount=4_000)
    with pytest.raises(DomainError) as refused:
        receive(verifications=[valid(first), forged])
    assert (refused.value.rule, refused.value.field) == (
        "reimbursement.invoice_mismatch",
        "invoices[1].amount",
    )


def test_an_invoice_of_another_institution_or_listed_twice_is_refused() -> None:
    other = replace(INTAKE.invoices[0], issuing_institution="H32010000001")
    with pytest.raises(DomainError) as refused:
        receive(replace(INTAKE, invoices=(other, INTAKE.invoices[1])))
    assert refused.value.field == "invoices[0].issuing_institution"
    with pytest.raises(Conflict) as twice:
        receive(replace(INTAKE, invoices=(INTAKE.invoices[0], INTAKE.invoices[0])))
    assert twice.value.rule == "reimbursement.invoice_repeated"


def test_a_visit_settled_directly_at_the_institution_on_overlapping_dates_is_refused() -> None:
    settled = model.SettledVisit(
        settlement_id="S1",
        institution_code=HOSPITAL,
        admitted_on=date(2026, 3, 2),
        discharged_on=date(2026, 3, 4),
    )
    with pytest.raises(Conflict) as refused:
        receive(settled=[settled])
    assert refused.value.rule == "reimbursement.settled_directly"
    assert refused.value.values == {"settlement_id": "S1"}
    # The day after the claim's discharge, or another institution: not this visit.
    receive(settled=[replace(settled, admitted_on=date(2026, 3, 3))])
    receive(settled=[replace(settled, institution_code="H32010000001")])


def test_a_claim_cannot_be_received_twice() -> None:
    claim = fold(receive())
    with pytest.raises(Conflict):
        model.decide_receive(
            claim,
            INTAKE,
            [valid(i) for i in INTAKE.invoices],
            [],
            received_by="clerk-1",
            terms=TERMS,
            now=NOW,
        )


def test_review_is_due_ten_working_days_after_acceptance_and_large_claims_need_two() -> None:
    claim = fold(receive())
    (checked,) = model.decide_check(
        claim, "RC1", filing_kind=FilingKind.EMERGENCY, officer="clerk-1", terms=TERMS, now=NOW
    )
    assert isinstance(checked, ClaimChecked)
    # 10, 11, 12, 13, 16, 17, 18, 19, 20, 23 March
    assert checked.review_due == date(2026, 3, 23)
    assert checked.reviewers_needed == 2  # 1,000.00 yuan claimed, above 500.00
    small = ClaimTerms(calendar=TERMS.calendar, two_reviewers_above=100_000)
    (at_threshold,) = model.decide_check(
        claim, "RC1", filing_kind=FilingKind.EMERGENCY, officer="clerk-1", terms=small, now=NOW
    )
    assert isinstance(at_threshold, ClaimChecked)
    assert at_threshold.reviewers_needed == 1


def snapshot(filing_id: str, kind: FilingKind, **kw: object) -> FilingSnapshot:
    fields: dict[str, object] = {
        "filing_id": filing_id,
        "kind": kind,
        "visit_region": "320100",
        "valid_from": date(2026, 3, 1),
        "valid_to": date(2026, 8, 31),
    }
    fields.update(kw)
    return FilingSnapshot(**fields)  # type: ignore[arg-type]


CUTS = {
    FilingKind.LONG_TERM: Decimal(0),
    FilingKind.EMERGENCY: Decimal(0),
    FilingKind.REFERRAL: Decimal(5),
    FilingKind.OTHER_TEMPORARY: Decimal(20),
}


def test_the_filing_a_claim_is_paid_under_is_chosen_as_direct_settlement_chooses() -> None:
    (received,) = receive()
    assert isinstance(received, ClaimReceived)
    # An emergency: the emergency level, whatever else the person holds.
    other = snapshot("F1", FilingKind.OTHER_TEMPORARY)
    assert model.filing_kind_for(received, [other], CUTS) is FilingKind.EMERGENCY
    planned = replace(received, emergency=False)
    # Not an emergency and nothing filed: refused until the person files (补办).
    with pytest.raises(DomainError) as refused:
        model.filing_kind_for(planned, [], CUTS)
    assert (refused.value.rule, refused.value.field) == ("reimbursement.no_filing", "admitted_on")
    # A filing made afterwards covering the admission day (补办): its kind.
    assert model.filing_kind_for(planned, [other], CUTS) is FilingKind.OTHER_TEMPORARY
    # Of two covering, the smaller cut; one beginning after the admission, or for another city,
    # covers nothing.
    referral = snapshot("F2", FilingKind.REFERRAL)
    assert model.filing_kind_for(planned, [other, referral], CUTS) is FilingKind.REFERRAL
    late = snapshot("F3", FilingKind.LONG_TERM, valid_from=date(2026, 3, 2), valid_to=None)
    elsewhere = snapshot("F4", FilingKind.LONG_TERM, visit_region="320200", valid_to=None)
    assert model.filing_kind_for(planned, [other, late, elsewhere], CUTS) is (
        FilingKind.OTHER_TEMPORARY
    )


def test_two_reviewers_are_two_people_other_than_the_officer_who_accepted() -> None:
    claim = fold(receive())
    claim = fold(
        model.decide_check(
            claim, "RC1", filing_kind=FilingKind.EMERGENCY, officer="clerk-1", terms=TERMS, now=NOW
        ),
        claim,
    )
    with pytest.raises(Forbidden):
        model.decide_review(claim, "RC1", reviewer="clerk-1", note="", now=NOW)
    first = model.decide_review(claim, "RC1", reviewer="rev-1", note="ok", now=NOW)
    assert not model.reviews_complete(claim, first)
    claim = fold(first, claim)
    assert isinstance(first[0], ClaimReviewed)
    with pytest.raises(Forbidden) as again:
        model.decide_review(claim, "RC1", reviewer="rev-1", note="", now=NOW)
    assert again.value.rule == "reimbursement.four_eyes"
    second = model.decide_review(claim, "RC1", reviewer="rev-2", note="ok", now=NOW)
    assert model.reviews_complete(claim, second)


def test_a_claim_not_accepted_is_not_reviewed_and_a_refused_one_is_closed() -> None:
    claim = fold(receive())
    with pytest.raises(Conflict):
        model.decide_review(claim, "RC1", reviewer="rev-1", note="", now=NOW)
    refused = fold(
        model.decide_refuse(claim, "RC1", reason="no discharge summary", officer="c", now=NOW),
        claim,
    )
    assert refused.step is model.Step.REFUSED
    assert refused.due is None
    with pytest.raises(Conflict):
        model.decide_check(
            refused, "RC1", filing_kind=FilingKind.EMERGENCY, officer="c", terms=TERMS, now=NOW
        )


def test_the_payment_debits_each_fund_and_the_account_and_credits_the_bank() -> None:
    entries = model.payment_entries(
        (
            FundPayment(fund_code=FundCode.EMPLOYEE_BASIC, amount=52_000),
            FundPayment(fund_code=FundCode.PERSONAL_ACCOUNT, amount=8_000),
        ),
        60_000,
    )
    assert entries == (
        LedgerEntry(account="fund:310100", debit=52_000, credit=0),
        LedgerEntry(account="personal_account", debit=8_000, credit=0),
        LedgerEntry(account="bank_payable", debit=0, credit=60_000),
    )
    with pytest.raises(DomainError):
        model.payment_entries((FundPayment(fund_code=FundCode.EMPLOYEE_BASIC, amount=1),), 2)


def test_overdue_is_after_the_deadline_day() -> None:
    due = date(2026, 3, 16)
    assert not model.overdue(due, due)
    assert model.overdue(due, date(2026, 3, 17))
    assert not model.overdue(None, date(2030, 1, 1))
