"""The monthly statement: per ordered pair (insured agency owes visit agency), what is owed.

`build_statement(period, settlements, deductions)` is pure and order-independent: the same inputs
in any order give an identical `Statement` and `input_hash`. Inputs not final by the cut-off (not
confirmed, or confirmed in a later month) are listed as held, never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from yidi_clearing.domain.events import HeldItem, StatementLine, StatementPart
from yidi_clearing.domain.inputs import (
    ConfirmedSettlement,
    Deduction,
    DeductionKind,
    check_deduction,
    check_settlement,
)
from yidi_clearing.domain.period import last_day, parse_period
from yidi_events.kernel import Conflict, DomainError

T = TypeVar("T")


@dataclass(frozen=True)
class Statement:
    period: str
    input_hash: str
    lines: tuple[StatementLine, ...]
    held: tuple[HeldItem, ...]


def line_id(payer_agency: str, receiver_agency: str) -> str:
    return f"{payer_agency}>{receiver_agency}"


def build_statement(
    period: str,
    settlements: Iterable[ConfirmedSettlement],
    deductions: Iterable[Deduction] = (),
) -> Statement:
    parse_period(period)
    settled = _unique(settlements, lambda s: s.settlement_id, "settlement_id")
    deducted = _unique(deductions, lambda d: d.deduction_id, "deduction_id")
    end = last_day(period)
    for s in settled:
        check_settlement(s)
        if s.business_date > end:
            raise DomainError(
                "clearing.settlement_after_period",
                f"settlement {s.settlement_id} of {s.business_date} cannot be cleared in {period}",
                field="business_date",
            )
    for d in deducted:
        check_deduction(d)

    held: list[HeldItem] = []
    groups: dict[tuple[str, str], dict[str, _PartTotals]] = defaultdict(dict)
    for s in settled:
        if s.confirmed_in_month is None or s.confirmed_in_month > period:
            held.append(_held_settlement(s))
            continue
        part = groups[(s.insured_agency, s.visit_agency)].setdefault(
            s.insurance_type, _PartTotals()
        )
        part.fund_paid += s.fund_total
        part.account_paid += s.account_paid
        part.settlement_ids.append(s.settlement_id)
    for d in deducted:
        if d.applies_in_month is None or d.applies_in_month > period:
            held.append(_held_deduction(d))
            continue
        part = groups[(d.insured_agency, d.visit_agency)].setdefault(
            d.insurance_type, _PartTotals()
        )
        if d.kind == DeductionKind.CLAWBACK:
            part.clawed_back += d.amount
            part.clawback_ids.append(d.deduction_id)
        else:
            part.audit_deducted += d.amount
            part.audit_deduction_ids.append(d.deduction_id)

    lines = tuple(
        _line(payer, receiver, parts) for (payer, receiver), parts in sorted(groups.items())
    )
    return Statement(
        period=period,
        input_hash=input_hash(period, settled, deducted),
        lines=lines,
        held=tuple(sorted(held, key=lambda h: (h.kind, h.item_id))),
    )


def input_hash(
    period: str, settlements: Iterable[ConfirmedSettlement], deductions: Iterable[Deduction]
) -> str:
    """sha256 over a canonical JSON of the period and the inputs sorted by id."""
    document = {
        "period": period,
        "settlements": sorted(
            (_canonical_settlement(s) for s in settlements), key=lambda r: str(r["id"])
        ),
        "deductions": sorted(
            (_canonical_deduction(d) for d in deductions), key=lambda r: str(r["id"])
        ),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def figure_sources(line: StatementLine, insurance_type: str, figure: str) -> tuple[str, ...]:
    """Drill-down: the ids behind one figure of a line ("fund_paid", "account_paid", ...)."""
    for part in line.parts:
        if part.insurance_type == insurance_type:
            if figure in ("fund_paid", "account_paid"):
                return part.settlement_ids
            if figure == "audit_deducted":
                return part.audit_deduction_ids
            if figure == "clawed_back":
                return part.clawback_ids
            raise DomainError(
                "clearing.figure_unknown", f"{figure!r} is not a figure", field="figure"
            )
    return ()


@dataclass
class _PartTotals:
    fund_paid: int = 0
    account_paid: int = 0
    audit_deducted: int = 0
    clawed_back: int = 0
    settlement_ids: list[str] = field(default_factory=list)
    audit_deduction_ids: list[str] = field(default_factory=list)
    clawback_ids: list[str] = field(default_factory=list)


def _line(payer: str, receiver: str, parts: dict[str, _PartTotals]) -> StatementLine:
    built = tuple(
        StatementPart(
            insurance_type=insurance_type,
            fund_paid=t.fund_paid,
            account_paid=t.account_paid,
            audit_deducted=t.audit_deducted,
            clawed_back=t.clawed_back,
            amount=t.fund_paid + t.account_paid - t.audit_deducted - t.clawed_back,
            settlement_ids=tuple(sorted(t.settlement_ids)),
            audit_deduction_ids=tuple(sorted(t.audit_deduction_ids)),
            clawback_ids=tuple(sorted(t.clawback_ids)),
        )
        for insurance_type, t in sorted(parts.items())
    )
    return StatementLine(
        line_id=line_id(payer, receiver),
        payer_agency=payer,
        receiver_agency=receiver,
        parts=built,
        amount=sum(p.amount for p in built),
    )


def _held_settlement(s: ConfirmedSettlement) -> HeldItem:
    reason = (
        "not confirmed by reconciliation yet"
        if s.confirmed_in_month is None
        else f"confirmed in {s.confirmed_in_month}, after the cut-off"
    )
    return HeldItem(
        item_id=s.settlement_id,
        kind="settlement",
        payer_agency=s.insured_agency,
        receiver_agency=s.visit_agency,
        amount=s.fund_total + s.account_paid,
        reason=reason,
    )


def _held_deduction(d: Deduction) -> HeldItem:
    reason = (
        "not final yet"
        if d.applies_in_month is None
        else f"applies in {d.applies_in_month}, after the cut-off"
    )
    return HeldItem(
        item_id=d.deduction_id,
        kind="deduction",
        payer_agency=d.insured_agency,
        receiver_agency=d.visit_agency,
        amount=-d.amount,
        reason=reason,
    )


def _unique(items: Iterable[T], key: Callable[[T], str], field_name: str) -> list[T]:
    """Drop exact repeats (at-least-once delivery); refuse one id carrying two different bodies."""
    seen: dict[str, T] = {}
    for item in items:
        item_key = key(item)
        previous = seen.get(item_key)
        if previous is not None and previous != item:
            raise Conflict(
                "clearing.duplicate_input",
                f"{item_key} was given twice with different contents",
                field=field_name,
            )
        seen[item_key] = item
    return [seen[k] for k in sorted(seen)]


def _canonical_settlement(s: ConfirmedSettlement) -> dict[str, Any]:
    return {
        "id": s.settlement_id,
        "insured_agency": s.insured_agency,
        "visit_agency": s.visit_agency,
        "insurance_type": str(s.insurance_type),
        "business_date": s.business_date.isoformat(),
        "fund_total": s.fund_total,
        "account_paid": s.account_paid,
        "confirmed_in_month": s.confirmed_in_month,
    }


def _canonical_deduction(d: Deduction) -> dict[str, Any]:
    return {
        "id": d.deduction_id,
        "kind": str(d.kind),
        "insured_agency": d.insured_agency,
        "visit_agency": d.visit_agency,
        "insurance_type": str(d.insurance_type),
        "amount": d.amount,
        "reason": d.reason,
        "case_id": d.case_id,
        "applies_in_month": d.applies_in_month,
    }
