"""Daily totals: the fold is order-independent and idempotent per settlement id."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yidi_events.kernel import DomainError
from yidi_reconciliation.domain.daily_totals import DailyBook, TotalsKey, add_record, daily_totals
from yidi_reconciliation.domain.records import SettlementRecord, Totals

DAY = date(2026, 3, 2)


def rec(
    sid: str, total: int = 10000, *, refund_of: str | None = None, **kw: object
) -> SettlementRecord:
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
        "business_date": DAY,
        "total_fee": sign * total,
        "fund_total": sign * total * 7 // 10,
        "account_paid": sign * total // 10,
        "cash_paid": sign * (total - total * 7 // 10 - total // 10),
        "is_refund": refund_of is not None,
        "original_settlement_id": refund_of,
    }
    fields.update(kw)
    return SettlementRecord(**fields)  # type: ignore[arg-type]


KEY = TotalsKey("H32010000001", "320100", "310", "21", DAY)


def test_cancellation_counts_as_a_record_with_negative_amounts() -> None:
    totals = daily_totals([rec("S1", 10000), rec("S2", 10000, refund_of="S1")])
    assert totals[KEY] == Totals(2, 0, 0, 0, 0)


def test_totals_split_by_insurance_type_category_and_date() -> None:
    totals = daily_totals(
        [
            rec("S1", 10000),
            rec("S2", 5000, insurance_type="390"),
            rec("S3", 3000, clearing_category="11"),
            rec("S4", 2000, business_date=date(2026, 3, 3)),
        ]
    )
    assert totals[KEY] == Totals(1, 10000, 7000, 1000, 2000)
    assert len(totals) == 4
    assert totals[TotalsKey("H32010000001", "320100", "390", "21", DAY)].total_fee == 5000


def test_same_settlement_twice_changes_nothing() -> None:
    book = add_record(DailyBook(), rec("S1", 10000))
    assert add_record(book, rec("S1", 10000)) is book


def test_cancellation_must_name_its_original() -> None:
    with pytest.raises(DomainError) as err:
        rec("S2", 100, is_refund=True)
    assert err.value.rule == "reconciliation.record_invalid"
    assert err.value.field == "original_settlement_id"


records_strategy = st.lists(
    st.builds(
        lambda i, amount, refund, cat, d: rec(
            f"S{i}",
            amount,
            refund_of="S0" if refund else None,
            clearing_category=cat,
            business_date=date(2026, 3, d),
        ),
        st.integers(0, 30),
        st.integers(0, 5_000_000),
        st.booleans(),
        st.sampled_from(["11", "21", "41"]),
        st.integers(1, 3),
    ),
    max_size=30,
    unique_by=lambda r: r.settlement_id,
)


@given(records_strategy, st.data())
def test_any_permutation_or_duplication_gives_the_same_totals(
    records: list[SettlementRecord], data: st.DataObject
) -> None:
    expected = daily_totals(records)
    duplicated = (
        records + data.draw(st.lists(st.sampled_from(records), max_size=20)) if records else []
    )
    shuffled = data.draw(st.permutations(duplicated))
    assert daily_totals(shuffled) == expected
    # and each key's figures equal a direct sum of that key's distinct records
    for key, totals in expected.items():
        assert totals == Totals.sum(r for r in records if TotalsKey.of(r) == key)
