"""Invariants of the engine over random catalogues, fee lines, persons and accumulators."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from yidi_benefits.accumulators import Accumulators
from yidi_benefits.engine import SettlementComputation, cancellation_of, compute_settlement
from yidi_benefits.model import (
    Catalogue,
    CatalogueEntry,
    FeeLine,
    PersonAtSettlement,
    VisitFacts,
)
from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.policy import (
    AssistanceIdentity,
    BenefitPolicy,
    FilingKind,
    HospitalLevel,
)
from yidi_events.contracts.settlement import FundCode, ItemClass
from yidi_events.policy_document import parse_policy_document

SHARED = shared_dir()
_CASES = json.loads((SHARED / "vectors/settlement.json").read_text(encoding="utf-8"))
POLICIES = [parse_policy_document(_CASES[0]["policy"]), parse_policy_document(_CASES[6]["policy"])]
CODES = ["K1", "K2", "K3", "K4", "K5"]

ratios = st.integers(0, 10000).map(lambda n: Decimal(n) / 10000)
prices = st.integers(1, 500000).map(lambda n: Decimal(n) / 100)
entries = st.builds(
    CatalogueEntry,
    catalogue_code=st.just("?"),
    item_class=st.sampled_from(list(ItemClass)),
    self_pay_ratio=ratios,
    price_cap=st.none() | prices,
)
catalogues = st.dictionaries(st.sampled_from(CODES), entries)


@st.composite
def fee_lines(draw: st.DrawFn) -> FeeLine:
    price = draw(prices)
    quantity = Decimal(draw(st.integers(1, 50)))
    amount = int(price * quantity * 100)
    return FeeLine(
        fee_line_no=str(draw(st.integers(1, 999))),
        catalogue_code=draw(st.sampled_from([*CODES, "ABSENT"])),
        quantity=quantity,
        unit_price=price,
        amount=amount,
    )


fen = st.integers(0, 60_000_000)
accumulators = st.builds(
    Accumulators,
    policy_year=st.just(2026),
    inpatient_admissions=st.integers(0, 5),
    outpatient_deductible_used=st.integers(0, 150000),
    eligible_cum=fen,
    basic_paid_cum=st.integers(0, 41_000_000),
    supplementary_base_cum=fen,
    supplementary_paid_cum=st.integers(0, 31_000_000),
    assistance_paid_cum=st.integers(0, 6_000_000),
)


@st.composite
def settlements(draw: st.DrawFn) -> tuple[BenefitPolicy, SettlementComputation]:
    policy = draw(st.sampled_from(POLICIES))
    employee = policy.insurance_type.value == "310"
    category = draw(st.sampled_from(["1101", "1201", "1301"] if employee else ["1403", "1501"]))
    person = PersonAtSettlement(
        person_category=category,
        civil_servant=draw(st.booleans()),
        assistance_identities=frozenset(draw(st.sets(st.sampled_from(list(AssistanceIdentity))))),
        account_balance=draw(st.integers(0, 2_000_000)),
    )
    visit = VisitFacts(
        hospital_level=draw(st.sampled_from(list(HospitalLevel))),
        medical_type=draw(st.sampled_from(["11", "14", "21", "41"])),
        filing_kind=draw(st.sampled_from(list(FilingKind))),
        use_account=draw(st.booleans()),
        settled_on=date(2026, 7, 1),
    )
    return policy, compute_settlement(
        policy=policy,
        catalogue=Catalogue.undated(draw(catalogues)),
        person=person,
        visit=visit,
        fee_lines=draw(st.lists(fee_lines(), max_size=8)),
        accumulators=draw(accumulators),
    )


@settings(max_examples=300, deadline=None)
@given(settlements())
def test_money_adds_up_and_nothing_is_negative(
    drawn: tuple[BenefitPolicy, SettlementComputation],
) -> None:
    _, result = drawn
    t = result.totals
    assert t.total_fee == t.fully_self_paid + t.over_limit + t.pre_self_paid + t.in_policy
    funds = [p for p in result.fund_payments if p.fund_code is not FundCode.PERSONAL_ACCOUNT]
    assert t.fund_total == sum(p.amount for p in funds)
    assert t.personal_total == t.account_paid + t.cash_paid
    assert t.total_fee == t.fund_total + t.account_paid + t.cash_paid + t.hospital_borne
    assert all(getattr(t, name) >= 0 for name in t.__dataclass_fields__)
    assert all(p.amount > 0 for p in result.fund_payments)
    for line in result.lines:
        parts = (line.fully_self_paid, line.over_limit, line.pre_self_paid, line.in_policy)
        assert min(parts) >= 0
        assert sum(parts) == line.amount
    # The funds never pay more than the in-policy amount.
    assert t.fund_total <= t.in_policy


@settings(max_examples=300, deadline=None)
@given(settlements())
def test_caps_are_never_exceeded_by_this_settlement(
    drawn: tuple[BenefitPolicy, SettlementComputation],
) -> None:
    policy, result = drawn
    before, after = result.accumulators_before, result.accumulators_after
    assert result.totals.basic_fund <= max(0, policy.basic.annual_cap - before.basic_paid_cum)
    room = max(0, policy.supplementary.annual_cap - before.supplementary_paid_cum)
    assert after.supplementary_paid_cum - before.supplementary_paid_cum <= room
    assert policy.assistance is not None
    aid_room = max(0, policy.assistance.annual_cap - before.assistance_paid_cum)
    assert result.totals.medical_assistance <= aid_room
    if result.account_balance_after is not None:
        assert result.account_balance_after >= 0


@settings(max_examples=200, deadline=None)
@given(settlements())
def test_cancellation_restores_the_accumulators(
    drawn: tuple[BenefitPolicy, SettlementComputation],
) -> None:
    _, result = drawn
    undone = cancellation_of(result, result.accumulators_after, result.account_balance_after)
    assert undone.accumulators_after == result.accumulators_before
    assert undone.totals.negated() == result.totals
