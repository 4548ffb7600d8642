"""The engine's rules one by one, at their boundaries, and the cancellation that undoes them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from yidi_benefits.accumulators import Accumulators
from yidi_benefits.engine import (
    SettlementComputation,
    cancellation_of,
    compute_settlement,
)
from yidi_benefits.line_split import split_line
from yidi_benefits.model import (
    Catalogue,
    CatalogueEntry,
    FeeLine,
    PersonAtSettlement,
    VisitFacts,
    person_group,
)
from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.policy import (
    AssistanceIdentity,
    BenefitPolicy,
    FilingKind,
    HospitalLevel,
    PersonGroup,
)
from yidi_events.contracts.settlement import FundCode, ItemClass
from yidi_events.kernel import DomainError
from yidi_events.policy_document import parse_policy_document

SHARED = shared_dir()
_CASES = json.loads((SHARED / "vectors/settlement.json").read_text(encoding="utf-8"))
EMPLOYEE = parse_policy_document(_CASES[0]["policy"])  # Nanjing 310: 1000/500 at level 3
RESIDENT = parse_policy_document(_CASES[6]["policy"])  # Shangluo 390
A = CatalogueEntry(
    catalogue_code="A", item_class=ItemClass.A, self_pay_ratio=Decimal(0), price_cap=None
)
CATALOGUE = {"A": A}
DAY = date(2026, 5, 4)


def line(amount: int, code: str = "A", price: str | None = None, qty: str = "1") -> FeeLine:
    unit = Decimal(price) if price is not None else Decimal(amount) / 100
    return FeeLine(
        fee_line_no="1", catalogue_code=code, quantity=Decimal(qty), unit_price=unit, amount=amount
    )


def visit(**changes: object) -> VisitFacts:
    base = VisitFacts(
        hospital_level=HospitalLevel.THREE,
        medical_type="21",
        filing_kind=FilingKind.LONG_TERM,
        use_account=True,
        settled_on=DAY,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def settle(
    amount: int,
    *,
    policy: BenefitPolicy = EMPLOYEE,
    person: PersonAtSettlement | None = None,
    acc: Accumulators | None = None,
    **visit_changes: object,
) -> SettlementComputation:
    return compute_settlement(
        policy=policy,
        catalogue=Catalogue.undated(CATALOGUE),
        person=person or PersonAtSettlement(person_category="1101", account_balance=0),
        visit=visit(**visit_changes),
        fee_lines=[line(amount)],
        accumulators=acc or Accumulators(policy_year=2026),
    )


# --- step 1: line split -------------------------------------------------------------------------


def test_line_at_the_price_cap_is_not_over_limit() -> None:
    capped = replace(A, price_cap=Decimal("60.00"))
    assert split_line(line(6000, price="60.00"), capped).over_limit == 0
    assert split_line(line(6001, price="60.01"), capped).over_limit == 1


def test_b_item_self_pay_ratio_applies_after_the_over_limit_part() -> None:
    b = CatalogueEntry(
        catalogue_code="B",
        item_class=ItemClass.B,
        self_pay_ratio=Decimal("0.2000"),
        price_cap=Decimal("50.00"),
    )
    split = split_line(line(130000, code="B", price="65.00", qty="20"), b)
    assert (split.over_limit, split.pre_self_paid, split.in_policy) == (30000, 20000, 80000)


def test_b_item_rounds_half_up_once() -> None:
    b = replace(A, item_class=ItemClass.B, self_pay_ratio=Decimal("0.1000"))
    assert split_line(line(5), b).pre_self_paid == 1  # 0.5 fen -> 1
    assert split_line(line(4), b).pre_self_paid == 0


def test_unknown_code_and_class_c_are_fully_self_paid() -> None:
    c = replace(A, item_class=ItemClass.C, self_pay_ratio=Decimal(1))
    assert split_line(line(999), None).fully_self_paid == 999
    assert split_line(line(999), c).fully_self_paid == 999
    assert split_line(line(999), c).in_policy == 0


def test_over_limit_never_exceeds_the_line_amount() -> None:
    capped = replace(A, price_cap=Decimal("1.00"))
    split = split_line(line(100, price="500.00", qty="3"), capped)
    assert split.over_limit == 100
    assert split.in_policy == 0


def test_negative_line_amount_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        split_line(line(-1), A)
    assert refused.value.rule == "settlement.fee_line_amount"


# --- step 2: deductible -------------------------------------------------------------------------


def test_in_policy_below_the_deductible_pays_no_fund() -> None:
    result = settle(99999)
    assert result.totals.deductible_applied == 99999
    assert result.totals.basic_fund == 0
    assert result.accumulators_after.eligible_cum == 0
    assert result.accumulators_after.inpatient_admissions == 1


def test_second_admission_uses_the_lower_deductible() -> None:
    later = settle(200000, acc=Accumulators(policy_year=2026, inpatient_admissions=1))
    assert later.totals.deductible_applied == 50000


def test_outpatient_deductible_is_annual_and_runs_out() -> None:
    used = Accumulators(policy_year=2026, outpatient_deductible_used=100000)
    result = settle(10000, acc=used, medical_type="11")
    assert result.totals.deductible_applied == 0
    assert result.totals.basic_fund == 8500  # in service, level 3, first band: 0.8500
    assert result.accumulators_after.inpatient_admissions == 0


def test_outpatient_deductible_partly_used() -> None:
    used = Accumulators(policy_year=2026, outpatient_deductible_used=99000)
    result = settle(10000, acc=used, medical_type="11")
    assert result.totals.deductible_applied == 1000
    assert result.accumulators_after.outpatient_deductible_used == 100000


# --- step 3: basic fund -------------------------------------------------------------------------


def test_band_boundary_is_marginal() -> None:
    # eligible cum 19,000 -> 21,000 yuan: 1,000 at 0.85 and 1,000 at 0.90.
    acc = Accumulators(policy_year=2026, inpatient_admissions=1, eligible_cum=1900000)
    result = settle(250000, acc=acc)
    assert result.totals.basic_fund == 85000 + 90000


def test_filing_cut_never_takes_the_ratio_below_zero() -> None:
    harsh = replace(
        EMPLOYEE, filing_cut_points={**EMPLOYEE.filing_cut_points, FilingKind.REFERRAL: Decimal(95)}
    )
    result = settle(500000, policy=harsh, filing_kind=FilingKind.REFERRAL)
    assert result.totals.basic_fund == 0
    assert result.totals.fund_total >= 0


def test_basic_fund_stops_exactly_at_the_annual_cap() -> None:
    acc = Accumulators(policy_year=2026, inpatient_admissions=1, basic_paid_cum=39999999)
    result = settle(500000, acc=acc)
    assert result.totals.basic_fund == 1
    assert result.accumulators_after.basic_paid_cum == EMPLOYEE.basic.annual_cap


def test_person_group_missing_from_the_policy_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        settle(500000, person=PersonAtSettlement(person_category="1501"))
    assert refused.value.rule == "settlement.policy_person_group"


@pytest.mark.parametrize(
    ("category", "group"),
    [
        ("1101", PersonGroup.IN_SERVICE),
        ("1201", PersonGroup.RETIRED),
        ("1301", PersonGroup.RETIRED),
        ("1403", PersonGroup.RESIDENT),
        ("1501", PersonGroup.RESIDENT),
    ],
)
def test_person_group_from_category(category: str, group: PersonGroup) -> None:
    assert person_group(category) is group


@pytest.mark.parametrize("category", ["1601", "11", "11a1", ""])
def test_unknown_person_category_is_refused(category: str) -> None:
    with pytest.raises(DomainError) as refused:
        person_group(category)
    assert refused.value.field == "person_category"


# --- steps 4-8 ----------------------------------------------------------------------------------


def test_supplementary_starts_exactly_above_its_deductible() -> None:
    # personal share so far 4,999.99 yuan; this settlement adds a personal share above it.
    acc = Accumulators(policy_year=2026, inpatient_admissions=1, supplementary_base_cum=499999)
    result = settle(50000, acc=acc)  # deductible 500 takes it all: share 50,000 fen
    assert result.totals.large_amount_fund == 39999  # (50,000 - 1) fen x 0.8 = 39,999.2
    assert [p.fund_code for p in result.fund_payments] == [FundCode.LARGE_AMOUNT]


def test_supplementary_cap_is_never_exceeded() -> None:
    acc = Accumulators(
        policy_year=2026,
        inpatient_admissions=1,
        supplementary_base_cum=10000000,
        supplementary_paid_cum=EMPLOYEE.supplementary.annual_cap - 10,
    )
    result = settle(500000, acc=acc)
    assert result.totals.large_amount_fund == 10


def test_resident_gets_critical_illness_code_and_no_account() -> None:
    acc = Accumulators(policy_year=2026, supplementary_base_cum=2000000)
    person = PersonAtSettlement(person_category="1501", account_balance=50000)
    result = settle(100000, policy=RESIDENT, person=person, acc=acc)
    codes = [p.fund_code for p in result.fund_payments]
    assert codes == [FundCode.RESIDENT_BASIC, FundCode.CRITICAL_ILLNESS]
    assert result.totals.account_paid == 0
    assert result.account_balance_after is None


def test_assistance_needs_an_identity_the_policy_names() -> None:
    fanpin = PersonAtSettlement(
        person_category="1501", assistance_identities=frozenset({AssistanceIdentity.FANPIN})
    )
    assert settle(100000, policy=RESIDENT, person=fanpin).totals.medical_assistance == 0
    dibao = replace(fanpin, assistance_identities=frozenset({AssistanceIdentity.DIBAO}))
    assert settle(100000, policy=RESIDENT, person=dibao).totals.medical_assistance > 0


def test_account_pays_everything_when_the_balance_allows() -> None:
    rich = PersonAtSettlement(person_category="1101", account_balance=10**9)
    result = settle(300000, person=rich)
    assert result.totals.cash_paid == 0
    assert result.totals.account_paid == result.totals.total_fee - result.totals.fund_total
    assert result.account_balance_after == 10**9 - result.totals.account_paid


def test_account_untouched_when_not_used() -> None:
    rich = PersonAtSettlement(person_category="1101", account_balance=10**9)
    result = settle(300000, person=rich, use_account=False)
    assert result.totals.account_paid == 0
    assert result.account_balance_after == 10**9


# --- dates --------------------------------------------------------------------------------------


def test_policy_not_in_force_on_the_settlement_date_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        settle(1000, settled_on=date(2025, 12, 31), acc=Accumulators(policy_year=2025))
    assert refused.value.rule == "settlement.policy_not_in_force"


def test_accumulators_of_another_year_are_refused() -> None:
    with pytest.raises(DomainError) as refused:
        settle(1000, acc=Accumulators(policy_year=2027))
    assert refused.value.rule == "settlement.policy_year"


# --- cancellation -------------------------------------------------------------------------------


def test_cancellation_moves_accumulators_back_exactly_after_later_settlements() -> None:
    person = PersonAtSettlement(person_category="1101", account_balance=100000)
    start = Accumulators(policy_year=2026)
    first = settle(500000, person=person, acc=start)
    later = settle(300000, acc=first.accumulators_after)
    cancelled = cancellation_of(first, later.accumulators_after, account_balance=0)
    assert cancelled.accumulators_after == start.moved(later.movement)
    assert cancelled.totals.total_fee == -first.totals.total_fee
    assert [p.amount for p in cancelled.fund_payments] == [-p.amount for p in first.fund_payments]
    assert cancelled.account_balance_after == first.totals.account_paid


def test_cancellation_against_another_year_is_refused() -> None:
    first = settle(500000)
    with pytest.raises(DomainError) as refused:
        cancellation_of(first, Accumulators(policy_year=2027), account_balance=None)
    assert refused.value.rule == "settlement.cancel_policy_year"
