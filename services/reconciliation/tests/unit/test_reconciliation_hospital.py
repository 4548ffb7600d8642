"""Hospital reconciliation: 3201 totals and 3202 detail comparisons."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from yidi_events.kernel import Conflict, DomainError
from yidi_reconciliation.domain.hospital_detail import (
    DetailOutcome,
    HospitalRow,
    compare_details,
    detail_reconciled,
)
from yidi_reconciliation.domain.hospital_totals import (
    StatementScope,
    TotalsClaim,
    compare_totals,
    totals_reconciled,
)
from yidi_reconciliation.domain.records import SettlementRecord

START, END = date(2026, 3, 1), date(2026, 3, 31)
NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)


def rec(sid: str, total: int, *, refund_of: str | None = None, **kw: object) -> SettlementRecord:
    sign = -1 if refund_of else 1
    fields: dict[str, object] = {
        "settlement_id": sid,
        "visit_id": f"V{sid}",
        "person_id": "P1",
        "institution_code": "H32010000001",
        "clearing_agency": "320100",
        "insured_region": "320500",
        "visit_region": "320100",
        "insurance_type": "310",
        "clearing_category": "21",
        "business_date": date(2026, 3, 10),
        "total_fee": sign * total,
        "fund_total": sign * total * 7 // 10,
        "account_paid": sign * total // 10,
        "cash_paid": sign * (total - total * 7 // 10 - total // 10),
        "is_refund": refund_of is not None,
        "original_settlement_id": refund_of,
    }
    fields.update(kw)
    return SettlementRecord(**fields)  # type: ignore[arg-type]


RECORDS = [
    rec("S1", 100000),  # 1000.00 yuan: fund 700.00, account 100.00
    rec("S2", 23450),  # 234.50: fund 164.15, account 23.45
    rec("S3", 20000),
    rec("S4", 20000, refund_of="S3"),
    rec("X1", 99900, institution_code="H32010000002"),
    rec("X2", 99900, insurance_type="390"),
    rec("X3", 99900, clearing_category="11"),
    rec("X4", 99900, clearing_agency="320200"),
    rec("X5", 99900, business_date=date(2026, 4, 1)),
    rec("X6", 99900, business_date=date(2026, 2, 28)),
]


def scope(include_refunds: bool = True, **kw: object) -> StatementScope:
    fields: dict[str, object] = {
        "institution_code": "H32010000001",
        "clearing_agency": "320100",
        "start_date": START,
        "end_date": END,
        "include_refunds": include_refunds,
        "insurance_type": "310",
        "clearing_category": "21",
    }
    fields.update(kw)
    return StatementScope(**fields)  # type: ignore[arg-type]


def claim(
    count: int, total: int, fund: int, account: int, include_refunds: bool = True
) -> TotalsClaim:
    return TotalsClaim(
        scope=scope(include_refunds),
        count=count,
        total_fee=total,
        fund_total=fund,
        account_paid=account,
    )


# --- 3201 ------------------------------------------------------------------------------------------


def test_balanced_when_every_figure_agrees_including_refunds() -> None:
    result = compare_totals(claim(4, 123450, 86415, 12345), RECORDS)
    assert result.balanced
    assert result.differences == ()
    assert result.description.startswith("Balanced for 2026-03-01 to 2026-03-31")
    assert "4 settlements" in result.description


def test_refunds_excluded_when_the_hospital_asks_without_them() -> None:
    # Only the cancellation record S4 drops out; the cancelled original S3 is a normal record.
    without = compare_totals(claim(3, 143450, 100415, 14345, include_refunds=False), RECORDS)
    assert without.balanced
    assert without.platform.count == 3
    # The same figures with refunds included are off by the cancellation record.
    included = compare_totals(claim(3, 143450, 100415, 14345, include_refunds=True), RECORDS)
    assert [d.figure for d in included.differences] == [
        "total_fee",
        "fund_total",
        "account_paid",
        "count",
    ]
    assert "count: platform 4, hospital 3" in included.description


def test_unbalanced_names_each_differing_figure_in_yuan() -> None:
    result = compare_totals(claim(3, 123450, 86365, 12345), RECORDS)
    assert not result.balanced
    assert [d.figure for d in result.differences] == ["fund_total", "count"]
    assert "fund_total: platform 864.15, hospital 863.65" in result.description
    assert "count: platform 4, hospital 3" in result.description
    assert "total_fee" not in result.description
    event = totals_reconciled(claim(3, 123450, 86365, 12345), result, NOW)
    assert event.balanced is False
    assert event.institution_code == "H32010000001"
    assert event.platform.count == 4


def test_one_fen_off_is_unbalanced() -> None:
    result = compare_totals(claim(4, 123451, 86415, 12345), RECORDS)
    assert [d.figure for d in result.differences] == ["total_fee"]
    assert "total_fee: platform 1234.50, hospital 1234.51" in result.description


def test_period_edges_are_inclusive() -> None:
    edge = [rec("E1", 100, business_date=START), rec("E2", 100, business_date=END)]
    assert compare_totals(claim(2, 200, 140, 20), edge).balanced


def test_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        scope(start_date=END, end_date=START)
    assert err.value.rule == "reconciliation.date_range"
    assert err.value.field == "end_date"


def test_totals_claim_must_name_insurance_type() -> None:
    with pytest.raises(DomainError) as err:
        TotalsClaim(
            scope=scope(insurance_type=None), count=0, total_fee=0, fund_total=0, account_paid=0
        )
    assert err.value.field == "insurance_type"


# --- 3202 ------------------------------------------------------------------------------------------


def row(r: SettlementRecord, **kw: object) -> HospitalRow:
    fields: dict[str, object] = {
        "settlement_id": r.settlement_id,
        "visit_id": r.visit_id,
        "person_id": r.person_id,
        "total_fee": r.total_fee,
        "fund_total": r.fund_total,
        "account_paid": r.account_paid,
        "is_refund": r.is_refund,
    }
    fields.update(kw)
    return HospitalRow(**fields)  # type: ignore[arg-type]


def detail_scope(include_refunds: bool = True) -> StatementScope:
    return scope(include_refunds, insurance_type=None, clearing_category=None)


def test_detail_finds_left_out_altered_and_unknown_settlements() -> None:
    s1, s2, _s3, s4 = RECORDS[:4]
    rows = [
        row(s1),
        row(s2, fund_total=s2.fund_total - 50),  # altered
        row(s4),
        HospitalRow(
            settlement_id="H9",
            visit_id="V9",
            person_id="P9",
            total_fee=100,
            fund_total=0,
            account_paid=0,
            is_refund=False,
        ),
    ]  # S3 left out; X2, X3 (other type/category, same agency) also left out
    records = [r for r in RECORDS if r.settlement_id not in ("X2", "X3")]
    result = compare_details(detail_scope(), rows, records)
    by_id = {line.settlement_id: line for line in result.lines}
    assert by_id["S1"].outcome is DetailOutcome.MATCHED
    assert by_id["S2"].outcome is DetailOutcome.AMOUNT_MISMATCH
    assert by_id["S2"].fields == ("fund_total",)
    assert "fund_total: platform 164.15, hospital 163.65" in by_id["S2"].memo
    assert by_id["S3"].outcome is DetailOutcome.MISSING_AT_HOSPITAL
    assert by_id["S4"].outcome is DetailOutcome.MATCHED
    assert by_id["H9"].outcome is DetailOutcome.MISSING_ON_PLATFORM
    assert set(by_id) == {"S1", "S2", "S3", "S4", "H9"}  # out-of-scope records ignored
    assert not result.balanced
    event = detail_reconciled(detail_scope(), result, NOW)
    assert (
        event.matched,
        event.amount_mismatch,
        event.missing_at_hospital,
        event.missing_on_platform,
    ) == (2, 1, 1, 1)
    assert {d.settlement_id for d in event.discrepancies} == {"S2", "S3", "H9"}


def test_detail_names_refund_flag_and_identity_differences() -> None:
    s1 = RECORDS[0]
    result = compare_details(
        detail_scope(), [row(s1, is_refund=True, person_id="P2", account_paid=0)], [s1]
    )
    (line,) = result.lines
    assert line.outcome is DetailOutcome.AMOUNT_MISMATCH
    assert line.fields == ("account_paid", "is_refund", "person_id")


def test_detail_without_refunds_ignores_cancellations_on_both_sides() -> None:
    s1, s4 = RECORDS[0], RECORDS[3]
    result = compare_details(detail_scope(include_refunds=False), [row(s1), row(s4)], [s1, s4])
    assert [line.settlement_id for line in result.lines] == ["S1"]
    assert result.balanced


def test_detail_refuses_a_settlement_listed_twice() -> None:
    s1 = RECORDS[0]
    with pytest.raises(Conflict) as err:
        compare_details(detail_scope(), [row(s1, line=2), row(s1, line=5)], [s1])
    assert err.value.rule == "reconciliation.duplicate_row"
    assert "lines 2 and 5" in err.value.message
