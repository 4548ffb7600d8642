"""Daily totals per (institution, clearing agency, insurance type, clearing category, date).

A projection handler keeps a `DailyBook` (or the equivalent rows) and applies each consumed
settlement record with `add_record`; `daily_totals(records)` is the same fold from scratch, as a
rebuild does. The fold ignores a settlement id it has already counted, so redelivered events are
no-ops, and because it only adds, the order of arrival never changes the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from yidi_events.decider import fold
from yidi_reconciliation.domain.records import SettlementRecord, Totals


@dataclass(frozen=True, order=True)
class TotalsKey:
    institution_code: str
    clearing_agency: str
    insurance_type: str
    clearing_category: str
    business_date: date

    @staticmethod
    def of(record: SettlementRecord) -> TotalsKey:
        return TotalsKey(
            record.institution_code,
            record.clearing_agency,
            record.insurance_type,
            record.clearing_category,
            record.business_date,
        )


@dataclass(frozen=True)
class DailyBook:
    counted: frozenset[str] = frozenset()
    totals: Mapping[TotalsKey, Totals] = field(default_factory=dict)


def add_record(book: DailyBook, record: SettlementRecord) -> DailyBook:
    # The first record of an id wins; settlement facts are immutable, so a repeat is a redelivery.
    if record.settlement_id in book.counted:
        return book
    key = TotalsKey.of(record)
    totals = dict(book.totals)
    totals[key] = totals.get(key, Totals()) + Totals.of(record)
    return DailyBook(book.counted | {record.settlement_id}, totals)


def daily_totals(records: Iterable[SettlementRecord]) -> Mapping[TotalsKey, Totals]:
    return fold(add_record, DailyBook(), records).totals
