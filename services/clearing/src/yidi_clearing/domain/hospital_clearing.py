"""Hospital clearing applications (national 3203 apply, 3204 withdraw, 3205A status query).

One stream per (institution, clearing agency, month, clearing category); its state is the current
application. A handler folds the stream with `evolve` into `HospitalClearing`, then calls:
  decide_apply(state, application_id=..., totals=..., reconciled=..., today=...)
  decide_withdraw(state, application_id, today)
  decide_change_status(state, application_id, to_status, changed_by, reason, today)
`application_id` is minted by the handler (the domain does no I/O). The application must equal the
reconciled totals figure by figure; the refusal names the first figure that differs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from yidi_clearing.domain.events import (
    ClearingApplicationWithdrawn,
    ClearingApplied,
    ClearingStatusChanged,
)
from yidi_clearing.domain.period import parse_period
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


@dataclass(frozen=True)
class HospitalClearing:
    application: ClearingApplied | None = None
    status: ClearingStatus | None = None
    withdrawn: bool = False

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
) -> list[Any]:
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
    return [
        ClearingStatusChanged(
            institution_code=application.institution_code,
            clearing_application_id=application_id,
            from_status=state.status.value,
            to_status=to_status,
            changed_by=changed_by,
            reason=reason,
            changed_on=today,
        )
    ]


def _current(state: HospitalClearing, application_id: str) -> ClearingApplied:
    application = state.application
    if application is None or application.clearing_application_id != application_id:
        raise NotFound(
            "clearing.application_unknown",
            f"no clearing application {application_id}",
            field="clearing_application_id",
        )
    return application
