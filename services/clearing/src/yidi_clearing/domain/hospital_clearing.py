"""Hospital clearing applications (national 3203 apply, 3204 withdraw, 3205A status query).

One stream per (institution, clearing agency, month, clearing category); its state is the current
application. A handler folds the stream with `evolve` into `HospitalClearing`, then calls:
  decide_apply(state, application_id=..., totals=..., reconciled=..., today=...)
  decide_withdraw(state, application_id, today)
  decide_change_status(state, application_id, to_status, changed_by, reason, today, payable=...)
  decide_record_payment(state, application_id, amount=..., bank_reference=..., ...)
Moving to 40 (reviewed) fixes the payable (`payable_of`: reconciled fund and account payments
less the month's deductions and clawbacks against the hospital) and posts it to the ledger; 60
(paid) comes only from recording the payment of exactly that amount, a ledger movement too.
Deadlines per step come from the clearing calendar (`hospital_deadlines`, `late_hospital_steps`).
`application_id` is minted by the handler (the domain does no I/O). The application must equal the
reconciled totals figure by figure; the refusal names the first figure that differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from yidi_clearing.domain.calendar import schedule
from yidi_clearing.domain.events import (
    ClearingApplicationWithdrawn,
    ClearingApplied,
    ClearingStatusChanged,
    HospitalPayableComputed,
    HospitalPaymentRecorded,
)
from yidi_clearing.domain.inputs import DeductionKind
from yidi_clearing.domain.ledger import credit, debit, make_entry
from yidi_clearing.domain.period import parse_period
from yidi_clearing.domain.settings import ClearingSettings, ClearingStep
from yidi_events.kernel import Conflict, DomainError, NotFound, fen_to_yuan


class ClearingStatus(StrEnum):
    APPLIED = "10"
    ACCEPTED = "20"
    REVIEWING = "30"
    REVIEWED = "40"
    CLEARED = "50"
    PAID = "60"
    REJECTED = "70"


_REJECTABLE = {
    ClearingStatus.APPLIED,
    ClearingStatus.ACCEPTED,
    ClearingStatus.REVIEWING,
    ClearingStatus.REVIEWED,
}
_NEXT = {
    ClearingStatus.APPLIED: ClearingStatus.ACCEPTED,
    ClearingStatus.ACCEPTED: ClearingStatus.REVIEWING,
    ClearingStatus.REVIEWING: ClearingStatus.REVIEWED,
    ClearingStatus.REVIEWED: ClearingStatus.CLEARED,
    ClearingStatus.CLEARED: ClearingStatus.PAID,
}


def allowed(from_status: ClearingStatus, to_status: ClearingStatus) -> bool:
    if to_status == ClearingStatus.REJECTED:
        return from_status in _REJECTABLE
    return _NEXT.get(from_status) == to_status


@dataclass(frozen=True, kw_only=True)
class ClearingTotals:
    """A month's figures for one clearing category: the hospital's claim or reconciliation's."""

    count: int
    total_fee: int
    fund_total: int
    account_paid: int
    cash_paid: int


_FIGURES = ("count", "total_fee", "fund_total", "account_paid", "cash_paid")


@dataclass(frozen=True, kw_only=True)
class ApplicationKey:
    institution_code: str
    clearing_agency: str
    month: str
    clearing_category: str


@dataclass(frozen=True, kw_only=True)
class HospitalDeduction:
    """A deduction or clawback decided in the month against one of the hospital's settlements."""

    deduction_id: str
    kind: DeductionKind
    amount: int


@dataclass(frozen=True, kw_only=True)
class Payable:
    reimbursable: int
    audit_deducted: int
    clawed_back: int
    amount: int
    deduction_ids: tuple[str, ...]


def payable_of(reconciled: ClearingTotals, deductions: Iterable[HospitalDeduction]) -> Payable:
    """The reconciled fund and personal-account payments (what the agency reimburses; the cash
    the patients paid the hospital themselves) less the month's deductions and clawbacks."""
    found = sorted(deductions, key=lambda d: d.deduction_id)
    audit = sum(d.amount for d in found if d.kind == DeductionKind.AUDIT_DEDUCTION)
    clawed = sum(d.amount for d in found if d.kind == DeductionKind.CLAWBACK)
    reimbursable = reconciled.fund_total + reconciled.account_paid
    return Payable(
        reimbursable=reimbursable,
        audit_deducted=audit,
        clawed_back=clawed,
        amount=reimbursable - audit - clawed,
        deduction_ids=tuple(d.deduction_id for d in found),
    )


def hospital_claims(agency: str) -> str:
    """What the agency's fund owes for its hospitals' care (the expense side of a payable)."""
    return f"hospital_claims:{agency}"


def hospital_payable(institution_code: str) -> str:
    return f"hospital_payable:{institution_code}"


def agency_bank(agency: str) -> str:
    return f"agency_bank:{agency}"


def ledger_label(application: ClearingApplied) -> str:
    """The journal's period label of an application's entries: its stream, one per key."""
    return (
        f"hospital-clearing:{application.institution_code}:{application.clearing_agency}:"
        f"{application.month}:{application.clearing_category}"
    )


def hospital_deadlines(month: str, settings: ClearingSettings) -> dict[str, date]:
    dates = schedule(month, settings)
    return {
        "application": dates[ClearingStep.HOSPITAL_APPLICATION],
        "review": dates[ClearingStep.HOSPITAL_REVIEW],
        "payment": dates[ClearingStep.HOSPITAL_PAYMENT],
    }


_DONE_BY = {"review": ClearingStatus.REVIEWED, "payment": ClearingStatus.PAID}
_ORDER = list(ClearingStatus)


def late_hospital_steps(
    month: str, status: str, applied_on: date, today: date, settings: ClearingSettings
) -> list[str]:
    """Steps of an application that missed the calendar: applied after its deadline; not yet
    reviewed (40) or paid (60) after theirs. A rejected application is late for nothing more."""
    deadlines = hospital_deadlines(month, settings)
    late = ["application"] if applied_on > deadlines["application"] else []
    current = ClearingStatus(status)
    if current == ClearingStatus.REJECTED:
        return late
    for step, done in _DONE_BY.items():
        if _ORDER.index(current) < _ORDER.index(done) and today > deadlines[step]:
            late.append(step)
    return late


@dataclass(frozen=True)
class HospitalClearing:
    application: ClearingApplied | None = None
    status: ClearingStatus | None = None
    withdrawn: bool = False
    payable: HospitalPayableComputed | None = None
    payment: HospitalPaymentRecorded | None = None

    @property
    def active(self) -> bool:
        return (
            self.application is not None
            and not self.withdrawn
            and self.status != ClearingStatus.REJECTED
        )


def evolve(state: HospitalClearing, event: Any) -> HospitalClearing:
    match event:
        case ClearingApplied():
            return HospitalClearing(application=event, status=ClearingStatus.APPLIED)
        case ClearingApplicationWithdrawn():
            return replace(state, withdrawn=True)
        case ClearingStatusChanged():
            return replace(state, status=ClearingStatus(event.to_status))
        case HospitalPayableComputed():
            return replace(state, payable=event)
        case HospitalPaymentRecorded():
            return replace(state, payment=event)
    return state


def decide_apply(
    state: HospitalClearing,
    *,
    application_id: str,
    key: ApplicationKey,
    totals: ClearingTotals,
    reconciled: ClearingTotals | None,
    today: date,
) -> list[Any]:
    parse_period(key.month, field="month")
    if state.active:
        assert state.application is not None
        raise Conflict(
            "clearing.already_applied",
            f"{key.institution_code} already applied to clear {key.month} category "
            f"{key.clearing_category} ({state.application.clearing_application_id}); "
            "withdraw it first",
            field="month",
            values={"application_id": state.application.clearing_application_id},
        )
    if reconciled is None:
        raise DomainError(
            "clearing.not_reconciled",
            f"{key.month} category {key.clearing_category} has no reconciled totals yet",
            field="month",
        )
    for figure in _FIGURES:
        claimed, expected = getattr(totals, figure), getattr(reconciled, figure)
        if claimed != expected:
            shown = (
                (str(claimed), str(expected))
                if figure == "count"
                else (fen_to_yuan(claimed), fen_to_yuan(expected))
            )
            raise DomainError(
                "clearing.totals_mismatch",
                f"{figure} {shown[0]} differs from the reconciled {shown[1]}; reconcile first",
                field=figure,
                values={"claimed": shown[0], "reconciled": shown[1]},
            )
    return [
        ClearingApplied(
            institution_code=key.institution_code,
            clearing_application_id=application_id,
            clearing_agency=key.clearing_agency,
            month=key.month,
            clearing_category=key.clearing_category,
            count=totals.count,
            total_fee=totals.total_fee,
            fund_total=totals.fund_total,
            account_paid=totals.account_paid,
            cash_paid=totals.cash_paid,
            applied_on=today,
        )
    ]


def decide_withdraw(state: HospitalClearing, application_id: str, today: date) -> list[Any]:
    application = _current(state, application_id)
    if state.withdrawn:
        return []
    if state.status != ClearingStatus.APPLIED:
        raise Conflict(
            "clearing.withdraw_not_allowed",
            f"application {application_id} is in status {state.status}; only status 10 "
            "(applied) can be withdrawn",
            field="clearing_application_id",
        )
    return [
        ClearingApplicationWithdrawn(
            institution_code=application.institution_code,
            clearing_application_id=application_id,
            withdrawn_on=today,
        )
    ]


def decide_change_status(
    state: HospitalClearing,
    application_id: str,
    to_status: str,
    changed_by: str,
    reason: str,
    today: date,
    payable: Payable | None = None,
) -> list[Any]:
    """Move the application one status on; at 40 (reviewed) `payable` is fixed and posted."""
    application = _current(state, application_id)
    if to_status not in {s.value for s in ClearingStatus}:
        raise DomainError(
            "clearing.status_unknown", f"{to_status!r} is not a clearing status", field="to_status"
        )
    target = ClearingStatus(to_status)
    assert state.status is not None
    if state.withdrawn or not allowed(state.status, target):
        now = "withdrawn" if state.withdrawn else state.status.value
        raise Conflict(
            "clearing.illegal_transition",
            f"application {application_id} cannot go from {now} to {to_status}",
            field="to_status",
        )
    if target == ClearingStatus.REJECTED and not reason.strip():
        raise DomainError(
            "clearing.reason_required", "a rejection must give its reason", field="reason"
        )
    if target == ClearingStatus.PAID:
        raise Conflict(
            "clearing.payment_required",
            f"application {application_id} is paid by recording the payment (amount and bank "
            "reference), not by a status change",
            field="to_status",
        )
    changed = ClearingStatusChanged(
        institution_code=application.institution_code,
        clearing_application_id=application_id,
        from_status=state.status.value,
        to_status=to_status,
        changed_by=changed_by,
        reason=reason,
        changed_on=today,
    )
    if target != ClearingStatus.REVIEWED:
        return [changed]
    if payable is None:
        raise DomainError(
            "clearing.not_reconciled",
            f"{application.month} category {application.clearing_category} has no reconciled "
            "totals to compute the payable from",
            field="month",
        )
    computed = HospitalPayableComputed(
        institution_code=application.institution_code,
        clearing_application_id=application_id,
        clearing_agency=application.clearing_agency,
        month=application.month,
        clearing_category=application.clearing_category,
        reimbursable=payable.reimbursable,
        audit_deducted=payable.audit_deducted,
        clawed_back=payable.clawed_back,
        amount=payable.amount,
        deduction_ids=payable.deduction_ids,
        computed_on=today,
    )
    if payable.amount <= 0:
        return [changed, computed]  # nothing to owe: deductions took it all
    label = ledger_label(application)
    entry = make_entry(
        period=label,
        entry_id=f"{label}/payable/{application_id}",
        memo=f"payable to {application.institution_code} for {application.month}, "
        f"category {application.clearing_category}",
        posted_on=today,
        lines=[
            debit(hospital_claims(application.clearing_agency), payable.amount, application_id),
            credit(hospital_payable(application.institution_code), payable.amount, application_id),
        ],
    )
    return [changed, computed, entry]


def decide_record_payment(
    state: HospitalClearing,
    application_id: str,
    *,
    amount: int,
    bank_reference: str,
    paid_by: str,
    today: date,
    settings: ClearingSettings,
) -> list[Any]:
    """The agency paid the hospital: exactly the payable, from status 50 (cleared) to 60."""
    application = _current(state, application_id)
    if state.payment is not None:
        if (state.payment.amount, state.payment.bank_reference) == (amount, bank_reference):
            return []
        raise Conflict(
            "clearing.already_paid",
            f"application {application_id} was paid ({state.payment.bank_reference})",
            field="clearing_application_id",
        )
    if state.withdrawn or state.status != ClearingStatus.CLEARED or state.payable is None:
        now = "withdrawn" if state.withdrawn else str(state.status)
        raise Conflict(
            "clearing.illegal_transition",
            f"application {application_id} cannot be paid from {now}; it must be cleared (50)",
            field="to_status",
        )
    if amount != state.payable.amount:
        raise DomainError(
            "clearing.payment_amount",
            f"the payable is {state.payable.amount} fen; a payment of {amount} fen differs",
            field="amount",
            values={"payable": state.payable.amount, "paid": amount},
        )
    if not bank_reference.strip():
        raise DomainError(
            "clearing.bank_reference_required",
            "a payment needs the bank reference",
            field="bank_reference",
        )
    deadline = hospital_deadlines(application.month, settings)["payment"]
    label = ledger_label(application)
    events: list[Any] = [
        ClearingStatusChanged(
            institution_code=application.institution_code,
            clearing_application_id=application_id,
            from_status=ClearingStatus.CLEARED.value,
            to_status=ClearingStatus.PAID.value,
            changed_by=paid_by,
            reason=f"paid, bank reference {bank_reference}",
            changed_on=today,
        ),
        HospitalPaymentRecorded(
            institution_code=application.institution_code,
            clearing_application_id=application_id,
            clearing_agency=application.clearing_agency,
            amount=amount,
            bank_reference=bank_reference,
            paid_by=paid_by,
            paid_on=today,
            late=today > deadline,
        ),
    ]
    if amount > 0:
        events.append(
            make_entry(
                period=label,
                entry_id=f"{label}/payment/{application_id}",
                memo=f"payment to {application.institution_code}",
                posted_on=today,
                lines=[
                    debit(hospital_payable(application.institution_code), amount, bank_reference),
                    credit(agency_bank(application.clearing_agency), amount, bank_reference),
                ],
            )
        )
    return events


def _current(state: HospitalClearing, application_id: str) -> ClearingApplied:
    application = state.application
    if application is None or application.clearing_application_id != application_id:
        raise NotFound(
            "clearing.application_unknown",
            f"no clearing application {application_id}",
            field="clearing_application_id",
        )
    return application
