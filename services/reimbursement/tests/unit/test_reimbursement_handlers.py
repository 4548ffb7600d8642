"""The claim handlers on the in-memory write path: given facts, when a command, then exactly these
events; a refusal appends nothing. The approval's figures are the benefit engine's, worked here by
hand from the Suzhou employee policy of the sandbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path

import pytest

from yidi_benefits.filings import FilingSnapshot
from yidi_cli.sandbox import shared_dir
from yidi_events.application import InMemoryEventStore, Unit, WritePath
from yidi_events.auth.agency import Principal
from yidi_events.contracts.policy import AssistanceIdentity
from yidi_events.contracts.reimbursement import (
    ClaimApproved,
    ClaimChecked,
    ClaimInvoice,
    ClaimPaid,
    ClaimReceived,
    ClaimReviewed,
    LedgerEntry,
)
from yidi_events.contracts.settlement import AccumulatorMovement, FundCode, FundPayment
from yidi_events.kernel import SHANGHAI, Conflict, DomainError, Forbidden, WorkingCalendar
from yidi_events.policy_document import parse_policy_document
from yidi_events.settings import ServiceSettings
from yidi_reimbursement.app.claims import Claims
from yidi_reimbursement.domain import claim as model
from yidi_reimbursement.domain.computation import (
    InsuredPerson,
    PolicyInForce,
    load_catalogue,
)
from yidi_reimbursement.domain.detail_list import parse_detail_list
from yidi_reimbursement.domain.events import BankTransfer, PaymentBatchExported
from yidi_reimbursement.domain.terms import ClaimTerms
from yidi_reimbursement.domain.verification import Verdict, Verification
from yidi_reimbursement.settings import DEFAULT_CATALOGUE, province_terms

SUZHOU = "320500"
HOSPITAL = "H32010000009"
PERSON = "32050000000000000001"  # 张建国, Suzhou employee, retired (1201)
NOW = datetime.combine(date(2026, 3, 6), time(10), SHANGHAI)
CLERK = Principal("clerk-1", SUZHOU, frozenset({"reimbursement"}))
REVIEWER = Principal("rev-1", SUZHOU, frozenset({"reimbursement"}))
SECOND = Principal("rev-2", SUZHOU, frozenset({"reimbursement"}))
WUXI = Principal("wx-1", "320200", frozenset({"reimbursement"}))

DETAIL = """line_no,catalogue_code,item_name,quantity,unit_price,amount,fee_date
1,XA001,急诊诊查,1,300.00,300.00,2026-03-01
2,XB002,药品,10,45.50,455.00,2026-03-01
3,C001,自费材料,1,245.00,245.00,2026-03-02
"""


def _policy() -> PolicyInForce:
    documents = json.loads((shared_dir() / "sandbox" / "policies.json").read_text())
    doc = next(d for d in documents if (d["insuplc_admdvs"], d["insutype"]) == (SUZHOU, "310"))
    return PolicyInForce(version=1, policy=parse_policy_document(doc))


@dataclass
class Facts:
    insured: InsuredPerson | None
    stated: AccumulatorMovement | None = None
    settled: list[model.SettledVisit] = field(default_factory=list)
    claimed: dict[tuple[str, str], str] = field(default_factory=dict)
    approved: dict[str, tuple[str, int, AccumulatorMovement]] = field(default_factory=dict)
    in_force: PolicyInForce = field(default_factory=_policy)

    async def settled_visits(self, unit: Unit, person_id: str) -> list[model.SettledVisit]:
        return self.settled

    async def claim_invoices(
        self, unit: Unit, claim_id: str, invoices: tuple[ClaimInvoice, ...]
    ) -> None:
        for i, inv in enumerate(invoices):
            if (inv.invoice_code, inv.invoice_number) in self.claimed:
                raise Conflict("reimbursement.invoice_claimed", "claimed before", field=f"{i}")
        for inv in invoices:
            self.claimed[(inv.invoice_code, inv.invoice_number)] = claim_id

    async def filings(self, unit: Unit, person_id: str) -> list[FilingSnapshot]:
        return []

    async def person(self, unit: Unit, person_id: str) -> InsuredPerson | None:
        known = self.insured
        return known if known is not None and known.person_id == person_id else None

    async def policy(
        self, unit: Unit, insured_region: str, insurance_type: str, on: date
    ) -> PolicyInForce | None:
        return self.in_force

    async def stated_year(
        self, unit: Unit, person_id: str, policy_year: int
    ) -> AccumulatorMovement | None:
        return self.stated

    async def uncounted_claims(
        self, unit: Unit, person_id: str, policy_year: int
    ) -> list[AccumulatorMovement]:
        return [m for _, year, m in self.approved.values() if year == policy_year]

    async def awaiting_payment(self, unit: Unit, insured_region: str) -> list[str]:
        return sorted(self.approved)


@dataclass
class Verifier:
    verdicts: dict[str, Verdict] = field(default_factory=dict)

    async def verify(self, invoices: Sequence[ClaimInvoice]) -> list[Verification]:
        return [
            Verification(
                verdict=self.verdicts.get(i.invoice_number, Verdict.VALID),
                amount=i.amount,
                issued_on=i.issued_on,
                issuing_institution=i.issuing_institution,
            )
            for i in invoices
        ]


@dataclass
class Clock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


ZHANG = InsuredPerson(
    person_id=PERSON,
    insured_region=SUZHOU,
    insurance_type="310",
    person_category="1201",
    civil_servant=False,
    assistance_identities=frozenset[AssistanceIdentity](),
    account_balance=350_000,
)


def setup(
    province: ClaimTerms | None = None, **terms: int
) -> tuple[Claims, InMemoryEventStore, Facts, Verifier]:
    """`province`: the terms the province file gives (default DOMAIN.md's, `terms` changed)."""
    clock = Clock(NOW)
    store = InMemoryEventStore()
    facts = Facts(insured=ZHANG)
    verifier = Verifier()
    claims = Claims(
        write=WritePath(store, clock),
        facts=facts,
        verifier=verifier,
        terms=province or ClaimTerms(calendar=WorkingCalendar.of(), **terms),
        catalogue=load_catalogue(DEFAULT_CATALOGUE),
        clock=clock,
    )
    return claims, store, facts, verifier


def intake(claim_id: str = "RC1", numbers: tuple[str, str] = ("0001", "0002")) -> model.Intake:
    return model.Intake(
        claim_id=claim_id,
        person_id=PERSON,
        insured_region=SUZHOU,
        channel="counter",
        institution_code=HOSPITAL,
        institution_name="南京市非联网医院",
        visit_region="320100",
        hospital_level="2",
        medical_type="21",
        emergency=True,
        admitted_on=date(2026, 3, 1),
        discharged_on=date(2026, 3, 2),
        invoices=tuple(
            ClaimInvoice(
                invoice_code="32060126",
                invoice_number=n,
                amount=a,
                issued_on=date(2026, 3, 2),
                issuing_institution=HOSPITAL,
            )
            for n, a in zip(numbers, (60_000, 40_000), strict=True)
        ),
        fee_lines=parse_detail_list(DETAIL),
        discharge_summary_ref="DS-1",
        bank_account="6222020200112233445",
        use_account=False,
    )


STREAM = model.claim_stream("RC1")


async def test_a_claim_goes_from_the_counter_to_approval_with_the_engines_figures() -> None:
    claims, store, _, _ = setup()
    received = await claims.receive(CLERK, intake())
    assert isinstance(received, ClaimReceived)
    await claims.check(CLERK, "RC1")
    approved = await claims.review(REVIEWER, "RC1", "materials complete")
    assert approved is not None
    types = [type(p) for p in store.payloads(STREAM)]
    assert types == [ClaimReceived, ClaimChecked, ClaimReviewed, ClaimApproved]
    # By hand, Suzhou employees (310), retired, level-2 hospital, first admission of 2026:
    # lines: XA001 300.00 in policy; XB002 455.00, 10% pre-self-paid 45.50, 409.50 in policy;
    # C001 245.00 fully self-paid. In policy 709.50; inpatient deductible (level 2) 500.00;
    # 209.50 eligible, in the first band (up to 20,000.00) at the retired level-2 ratio 0.92:
    # 192.74 from the basic fund (emergency: no cut). The large-amount layer starts above its
    # own 5,000.00: nothing. The person paid 1,000.00 in full, so 192.74 is paid back.
    t = approved.totals
    assert (t.total_fee, t.fully_self_paid, t.pre_self_paid, t.in_policy) == (
        100_000,
        24_500,
        4_550,
        70_950,
    )
    assert (t.deductible_applied, t.basic_fund, t.large_amount_fund, t.fund_total) == (
        50_000,
        19_274,
        0,
        19_274,
    )
    assert (t.account_paid, t.cash_paid) == (0, 80_726)
    assert approved.payable == 19_274
    assert approved.fund_payments == (
        FundPayment(fund_code=FundCode.EMPLOYEE_BASIC, amount=19_274),
    )
    m = approved.movement
    assert (m.policy_year, m.inpatient_admissions, m.eligible_cum, m.basic_paid_cum) == (
        2026,
        1,
        20_950,
        19_274,
    )
    # Payment 20 working days after approval (Friday 6 March: 3 April, weekends only here).
    assert approved.payment_due == date(2026, 4, 3)


async def test_the_province_file_s_terms_are_the_deadlines_a_claim_gets(tmp_path: Path) -> None:
    province = tmp_path / "province.toml"
    province.write_text(
        "[reimbursement]\nreview_days = 3\ntwo_reviewers_above = 50000\n", encoding="utf-8"
    )
    claims, store, _, _ = setup(province_terms(ServiceSettings(province_file=province)))
    received = await claims.receive(CLERK, intake())
    await claims.check(CLERK, "RC1")
    checked = store.payloads(STREAM)[1]
    assert isinstance(checked, ClaimChecked)
    # Checked Friday 6 March: three working days are Monday 9, Tuesday 10, Wednesday 11 March
    # (the default ten would be 20 March); 1,000.00 claimed is above 500.00: two reviewers.
    assert (checked.review_due, checked.reviewers_needed) == (date(2026, 3, 11), 2)
    # Acceptance is not named in the file: DOMAIN.md's five working days, Friday 13 March.
    assert isinstance(received, ClaimReceived)
    assert received.acceptance_due == date(2026, 3, 13)


async def test_the_year_so_far_is_what_filing_stated_plus_claims_it_has_not_counted() -> None:
    claims, _, facts, _ = setup()
    # Filing states a first admission already (its deductible paid) and 1,000.00 eligible.
    facts.stated = replace(
        AccumulatorMovement.zero(2026), inpatient_admissions=1, eligible_cum=100_000
    )
    await claims.receive(CLERK, intake())
    await claims.check(CLERK, "RC1")
    approved = await claims.review(REVIEWER, "RC1", "")
    assert approved is not None
    # Second admission: the second-admission deductible of level 2, 250.00; 709.50 - 250.00 =
    # 459.50 eligible at 0.92 = 422.74.
    assert approved.totals.deductible_applied == 25_000
    assert approved.totals.basic_fund == 42_274


async def test_a_large_claim_needs_a_second_reviewer_before_it_is_computed() -> None:
    claims, store, _, _ = setup(two_reviewers_above=99_999)
    await claims.receive(CLERK, intake())
    await claims.check(CLERK, "RC1")
    assert await claims.review(REVIEWER, "RC1", "") is None
    with pytest.raises(Forbidden):
        await claims.review(REVIEWER, "RC1", "")
    assert await claims.review(SECOND, "RC1", "") is not None
    assert [type(p) for p in store.payloads(STREAM)][-3:] == [
        ClaimReviewed,
        ClaimReviewed,
        ClaimApproved,
    ]


async def test_payment_pays_every_approved_claim_in_one_balanced_batch() -> None:
    claims, store, facts, _ = setup()
    await claims.receive(CLERK, intake())
    await claims.check(CLERK, "RC1")
    approved = await claims.review(REVIEWER, "RC1", "")
    assert approved is not None
    facts.approved["RC1"] = ("RC1", 2026, approved.movement)
    batch = await claims.pay(CLERK, SUZHOU)
    paid = store.payloads(STREAM)[-1]
    assert paid == ClaimPaid(
        claim_id="RC1",
        person_id=PERSON,
        insured_region=SUZHOU,
        amount=19_274,
        payment_batch=batch,
        entries=(
            LedgerEntry(account="fund:310100", debit=19_274, credit=0),
            LedgerEntry(account="bank_payable", debit=0, credit=19_274),
        ),
        paid_on=date(2026, 3, 6),
        paid_at=NOW,
    )
    (exported,) = store.payloads(f"payment-batch-{batch}")
    assert isinstance(exported, PaymentBatchExported)
    assert exported.transfers == (
        BankTransfer(
            claim_id="RC1", person_id=PERSON, bank_account="6222020200112233445", amount=19_274
        ),
    )


async def test_refusals_at_intake_append_nothing() -> None:
    claims, store, facts, verifier = setup()
    verifier.verdicts["0002"] = Verdict.VOIDED
    with pytest.raises(DomainError) as voided:
        await claims.receive(CLERK, intake())
    assert voided.value.rule == "reimbursement.invoice_voided"
    verifier.verdicts.clear()
    facts.settled = [
        model.SettledVisit(
            settlement_id="S1",
            institution_code=HOSPITAL,
            admitted_on=date(2026, 3, 1),
            discharged_on=date(2026, 3, 2),
        )
    ]
    with pytest.raises(Conflict) as settled:
        await claims.receive(CLERK, intake())
    assert settled.value.rule == "reimbursement.settled_directly"
    with pytest.raises(Forbidden):
        await claims.receive(WUXI, intake())
    assert store.payloads(STREAM) == []
    facts.settled = []
    await claims.receive(CLERK, intake())
    with pytest.raises(Conflict) as again:
        await claims.receive(CLERK, intake("RC2"))
    assert again.value.rule == "reimbursement.invoice_claimed"
    assert store.payloads(model.claim_stream("RC2")) == []


async def test_a_person_claims_online_for_themself_only() -> None:
    claims, _, _, _ = setup()
    me = Principal(PERSON, SUZHOU, frozenset(), kind="person")
    other = Principal("someone-else", SUZHOU, frozenset(), kind="person")
    online = replace(intake(), channel="online")
    with pytest.raises(Forbidden):
        await claims.receive(other, online)
    received = await claims.receive(me, online)
    assert received.channel == "online"
    assert received.received_by == PERSON


async def test_an_employee_may_have_the_account_pay_the_rest_and_it_is_paid_back_too() -> None:
    claims, store, facts, _ = setup()
    await claims.receive(CLERK, replace(intake(), use_account=True))
    await claims.check(CLERK, "RC1")
    approved = await claims.review(REVIEWER, "RC1", "")
    assert approved is not None
    # The funds pay 192.74 as before; of the 807.26 left, the account (3,500.00) pays it all:
    # the person paid the hospital 1,000.00, so 1,000.00 goes back to the bank account and the
    # account moves by -807.26.
    assert (approved.totals.account_paid, approved.totals.cash_paid) == (80_726, 0)
    assert approved.payable == 100_000
    assert approved.movement.account_balance == -80_726
    facts.approved["RC1"] = ("RC1", 2026, approved.movement)
    await claims.pay(CLERK, SUZHOU)
    paid = store.payloads(STREAM)[-1]
    assert isinstance(paid, ClaimPaid)
    assert paid.entries == (
        LedgerEntry(account="fund:310100", debit=19_274, credit=0),
        LedgerEntry(account="personal_account", debit=80_726, credit=0),
        LedgerEntry(account="bank_payable", debit=0, credit=100_000),
    )
