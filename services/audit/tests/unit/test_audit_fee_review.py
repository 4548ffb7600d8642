"""The visit place's fee review: how much fund money a line carried, and deductions of it.

Figures worked by hand from the rule in domain/fee_review.py: the settlement's fund total shared
among its lines in proportion to their in-policy money (net of returns), in whole fen by the
largest remainder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from yidi_audit.domain import fee_review as fr
from yidi_audit.domain.facts import FeeLine, SettledVisit
from yidi_audit.domain.guards import Actor
from yidi_events.contracts.audit import DeductedLine, DeductionSource, FeeDeductionDecided
from yidi_events.kernel import Conflict, DomainError, Forbidden, NotFound

VisitFactory = Callable[..., SettledVisit]
OFFICER = Actor("nj-officer", "320100")
DAY = date(2026, 3, 10)


def line(no: str, amount: int, in_policy: int, returned: str | None = None) -> FeeLine:
    return FeeLine(
        catalogue_code=f"C{no}",
        charge_category="09",
        fee_date=DAY,
        quantity=Decimal(1),
        unit_price=Decimal(amount) / 100,
        amount=amount,
        fee_line_no=no,
        in_policy=in_policy,
        returned_line=returned,
    )


# 700.00 yuan from the funds on four lines; line 2 is 100.00 yuan over its limit, line 4 fully
# self-paid: in-policy 300.00 + 500.00 + 200.00 + 0 = 1,000.00 yuan.
LINES = (
    line("1", 30_000, 30_000),
    line("2", 60_000, 50_000),
    line("3", 20_000, 20_000),
    line("4", 5_000, 0),
)


@pytest.fixture
def settlement(visit: VisitFactory) -> SettledVisit:
    return visit(
        settlement_id="S1",
        medical_type="11",
        admitted_on=DAY,
        total_fee=115_000,
        fund_total=70_000,
        fee_lines=LINES,
    )


def test_a_lines_fund_money_is_its_share_of_the_in_policy_money(settlement: SettledVisit) -> None:
    # 70,000 x 300/1,000 = 21,000; x 500/1,000 = 35,000; x 200/1,000 = 14,000; line 4 none.
    assert fr.fund_carried(settlement) == {"1": 21_000, "2": 35_000, "3": 14_000, "4": 0}


def test_shares_in_whole_fen_add_up_to_the_fund_total(settlement: SettledVisit) -> None:
    thirds = replace(
        settlement,
        fund_total=10_000,
        fee_lines=(line("1", 100, 100), line("2", 100, 100), line("3", 100, 100)),
    )
    # 3,333 1/3 each: 3,333 rounded down, the fen left over to the first line.
    assert fr.fund_carried(thirds) == {"1": 3_334, "2": 3_333, "3": 3_333}


def test_a_return_nets_its_line_down_and_carries_nothing_itself(settlement: SettledVisit) -> None:
    returned = replace(settlement, fee_lines=(*LINES, line("5", -12_000, -10_000, returned="2")))
    # In-policy 300 + 400 + 200 = 900.00 yuan: 70,000 x 3/9 = 23,333.33, x 4/9 = 31,111.11,
    # x 2/9 = 15,555.56; rounded down 69,999, the fen left over to line 3 (.56 the largest).
    assert fr.fund_carried(returned) == {"1": 23_333, "2": 31_111, "3": 15_556, "4": 0}


def test_nothing_in_policy_carried_no_fund_money(settlement: SettledVisit) -> None:
    self_paid = replace(settlement, fund_total=0, fee_lines=(line("1", 100, 0),))
    assert fr.fund_carried(self_paid) == {"1": 0}


def command(*lines: fr.LineDeduction, reference: str = "R1") -> fr.DeductionCommand:
    return fr.DeductionCommand(
        reference=reference,
        settlement_id="S1",
        lines=lines,
        reason="超标准收费",
        evidence="物价文件 苏价医〔2026〕1号",
    )


def test_a_deduction_of_one_line_in_part_and_one_in_whole(settlement: SettledVisit) -> None:
    (decided,) = fr.decide_deduction(
        fr.FeeReviewState(),
        settlement,
        False,
        OFFICER,
        command(
            fr.LineDeduction("2", 5_000, "超限价部分"),
            fr.LineDeduction("3"),  # all it carried: 14,000
        ),
        DAY,
    )
    assert decided == FeeDeductionDecided(
        deduction_id="S1-R1",
        source=DeductionSource.FEE_REVIEW,
        settlement_id="S1",
        person_id=settlement.person_id,
        institution_code="H32010000001",
        department=None,
        insured_region="320500",
        visit_region="320100",
        insurance_type="310",
        settled_on=DAY,
        lines=(
            DeductedLine(fee_line_id="2", amount=5_000, reason="超限价部分"),
            DeductedLine(fee_line_id="3", amount=14_000, reason="超标准收费"),
        ),
        amount=19_000,
        reason="超标准收费",
        evidence="物价文件 苏价医〔2026〕1号",
        decided_by="nj-officer",
        decided_on=DAY,
    )


@pytest.mark.parametrize(
    ("lines", "rule", "field"),
    [
        ((), "audit.fee_review.lines_required", "lines"),
        ((fr.LineDeduction("9"),), "audit.fee_review.line_unknown", "fee_line_id"),
        (
            (fr.LineDeduction("1"), fr.LineDeduction("1")),
            "audit.fee_review.line_repeated",
            "fee_line_id",
        ),
        ((fr.LineDeduction("1", 21_001),), "audit.fee_review.exceeds_line_fund", "amount"),
        ((fr.LineDeduction("1", 0),), "audit.fee_review.amount_positive", "amount"),
        ((fr.LineDeduction("4"),), "audit.fee_review.amount_positive", "amount"),  # carried 0
    ],
)
def test_bad_deductions_are_refused_naming_the_field(
    settlement: SettledVisit, lines: tuple[fr.LineDeduction, ...], rule: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        fr.decide_deduction(fr.FeeReviewState(), settlement, False, OFFICER, command(*lines), DAY)
    assert (refused.value.rule, refused.value.field) == (rule, field)


def test_an_unknown_or_cancelled_settlement_or_another_city_is_refused(
    settlement: SettledVisit,
) -> None:
    one = command(fr.LineDeduction("1"))
    with pytest.raises(NotFound) as unknown:
        fr.decide_deduction(fr.FeeReviewState(), None, False, OFFICER, one, DAY)
    assert (unknown.value.rule, unknown.value.field) == (
        "audit.fee_review.settlement_unknown",
        "settlement_id",
    )
    with pytest.raises(Conflict) as cancelled:
        fr.decide_deduction(fr.FeeReviewState(), settlement, True, OFFICER, one, DAY)
    assert cancelled.value.rule == "audit.fee_review.settlement_cancelled"
    with pytest.raises(Forbidden):
        fr.decide_deduction(fr.FeeReviewState(), settlement, False, Actor("sz", "320500"), one, DAY)
    for missing in ("reason", "evidence", "reference"):
        blank = replace(one, **{missing: " "})
        with pytest.raises(DomainError) as empty:
            fr.decide_deduction(fr.FeeReviewState(), settlement, False, OFFICER, blank, DAY)
        assert empty.value.field == missing


def test_a_line_is_deducted_once_and_a_retry_changes_nothing(settlement: SettledVisit) -> None:
    first = command(fr.LineDeduction("1", 1_000))
    decided = fr.decide_deduction(fr.FeeReviewState(), settlement, False, OFFICER, first, DAY)
    state = fr.FEE_REVIEW.fold(decided)
    # The same command again (a retry): nothing new.
    assert fr.decide_deduction(state, settlement, False, OFFICER, first, DAY) == []
    # The same line under another reference: refused, even for what is left of it.
    with pytest.raises(Conflict) as twice:
        fr.decide_deduction(
            state,
            settlement,
            False,
            OFFICER,
            command(fr.LineDeduction("1", 1), reference="R2"),
            DAY,
        )
    assert (twice.value.rule, twice.value.field) == (
        "audit.fee_review.line_already_deducted",
        "fee_line_id",
    )
    # The reference again with other content: refused.
    with pytest.raises(Conflict) as reused:
        fr.decide_deduction(
            state, settlement, False, OFFICER, command(fr.LineDeduction("2", 1)), DAY
        )
    assert reused.value.rule == "audit.fee_review.reference_reused"
    # Another line under a new reference is fine.
    (other,) = fr.decide_deduction(
        state, settlement, False, OFFICER, command(fr.LineDeduction("2"), reference="R2"), DAY
    )
    assert (other.deduction_id, other.amount) == ("S1-R2", 35_000)
