"""The Visit aggregate (one stream per visit_id), as a decider.

A handler loads the visit (`VISIT`), checks the visit is the caller's (`owned`), calls one
`decide_*` function with the command's data and `now`, and appends what it returns. Settling also
needs the person-year accumulators stream (see accumulators.py): the handler checks `settleable`,
computes the settlement with `engine.compute_settlement` and passes the result to `decide_settle`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from yidi_events.application import Aggregate
from yidi_events.contracts.settlement import (
    FeeLinesCancelled,
    FeeLineSplit,
    FeeLinesUploaded,
    SettlementCancelled,
    VisitSettled,
)
from yidi_events.kernel import Conflict, DomainError, Fen, NotFound, business_date
from yidi_settlement.domain.dates import check_visit_day, latest_day
from yidi_settlement.domain.engine import SettlementComputation
from yidi_settlement.domain.events import (
    Diagnosis,
    PatientDischarged,
    VisitDiagnosed,
    VisitRegistered,
    VisitRegistrationCancelled,
)
from yidi_settlement.domain.model import is_inpatient


class VisitStatus(StrEnum):
    NONE = "none"
    OPEN = "open"
    DISCHARGED = "discharged"
    SETTLED = "settled"
    REGISTRATION_CANCELLED = "registration_cancelled"


@dataclass(frozen=True, kw_only=True)
class VisitState:
    status: VisitStatus = VisitStatus.NONE
    registered: VisitRegistered | None = None
    lines: dict[str, FeeLineSplit] = field(default_factory=dict)
    principal_diagnosis: str | None = None
    discharged_on: date | None = None
    settlement: VisitSettled | None = None


def evolve(state: VisitState, event: Any) -> VisitState:
    match event:
        case VisitRegistered():
            return replace(
                state,
                status=VisitStatus.OPEN,
                registered=event,
                principal_diagnosis=event.principal_diagnosis,
            )
        case VisitRegistrationCancelled():
            return replace(state, status=VisitStatus.REGISTRATION_CANCELLED)
        case VisitDiagnosed():
            return replace(state, principal_diagnosis=event.principal_diagnosis)
        case FeeLinesUploaded():
            return replace(state, lines={**state.lines, **{x.fee_line_no: x for x in event.lines}})
        case FeeLinesCancelled():
            kept = {no: x for no, x in state.lines.items() if no not in event.fee_line_nos}
            return replace(state, lines=kept)
        case PatientDischarged():
            return replace(
                state,
                status=VisitStatus.DISCHARGED,
                discharged_on=event.discharged_on,
                principal_diagnosis=event.principal_diagnosis or state.principal_diagnosis,
            )
        case VisitSettled():
            return replace(state, status=VisitStatus.SETTLED, settlement=event)
        case SettlementCancelled():
            # Back to where it was before settling: the hospital may correct and settle again.
            after = VisitStatus.DISCHARGED if state.discharged_on else VisitStatus.OPEN
            return replace(state, status=after, settlement=None)
    return state


VISIT = Aggregate(VisitState, evolve)


def stream_id(visit_id: str) -> str:
    return f"visit-{visit_id}"


def owned(
    state: VisitState, *, visit_id: str, institution_code: str, person_id: str
) -> VisitRegistered:
    """A hospital acts only on its own visits, for the visit's own person."""
    registered = state.registered
    if registered is None or registered.institution_code != institution_code:
        raise NotFound(
            "visit.not_found",
            f"visit {visit_id} is not a visit of this institution",
            field="visit_id",
            values={"visit_id": visit_id},
        )
    if registered.person_id != person_id:
        raise DomainError(
            "visit.person_mismatch",
            f"visit {visit_id} belongs to another person",
            field="person_id",
        )
    return registered


def check_registration(
    *,
    institution_code: str,
    hospital_region: str,
    visit_region: str,
    insured_region: str | None,
    person_insured_region: str,
    insurance_type: str,
    person_insurance_type: str,
) -> None:
    """What the hospital claims of a new visit must be what the registry and the insured place
    say: the hospital's region, the person's insured place and insurance."""
    if visit_region != hospital_region:
        raise DomainError(
            "his.visit_region",
            f"visit_region {visit_region} is not the region {hospital_region} of "
            f"{institution_code}",
            field="visit_region",
            values={"expected": hospital_region},
        )
    if insured_region is not None and insured_region != person_insured_region:
        raise DomainError(
            "his.insured_region",
            f"insured_region {insured_region} is not the person's insured place "
            f"{person_insured_region}",
            field="insured_region",
            values={"expected": person_insured_region},
        )
    if insurance_type != person_insurance_type:
        raise DomainError(
            "his.insurance_type",
            f"the person is insured under {person_insurance_type}, not {insurance_type}",
            field="insurance_type",
            values={"expected": person_insurance_type},
        )


def settleable(state: VisitState, insurance_type: str | None = None) -> VisitRegistered:
    """May the visit be (pre-)settled now? Checked before the computation, so a pre-settlement is
    refused as its settlement would be, and again when the settlement is recorded."""
    registered = state.registered
    if registered is None:
        raise NotFound("visit.not_found", "no open visit with this visit_id", field="visit_id")
    if state.status is VisitStatus.REGISTRATION_CANCELLED:
        raise NotFound(
            "visit.not_found",
            f"visit {registered.visit_id} was cancelled (2202) and cannot be settled",
            field="visit_id",
        )
    if state.status is VisitStatus.SETTLED:
        raise Conflict(
            "visit.settled",
            f"visit {registered.visit_id} is already settled (settlement_id "
            f"{state.settlement.settlement_id if state.settlement else ''}); cancel it first",
            field="visit_id",
            values={"settlement_id": state.settlement.settlement_id} if state.settlement else None,
        )
    if is_inpatient(registered.medical_type) and state.discharged_on is None:
        raise DomainError(
            "visit.not_discharged",
            "an admission settles after discharge (2402 first)",
            field="visit_id",
        )
    if not state.lines:
        raise DomainError(
            "visit.no_fee_lines",
            f"visit {registered.visit_id} has no fee lines to settle",
            field="visit_id",
        )
    if insurance_type is not None and insurance_type != registered.insurance_type:
        raise DomainError(
            "his.insurance_type",
            f"insurance_type {insurance_type} is not the visit's {registered.insurance_type}",
            field="insurance_type",
        )
    return registered


def admitted_on(registered: VisitRegistered) -> date:
    return business_date(registered.began_at)


def settlement_day(state: VisitState, now: datetime, skew: timedelta) -> date:
    """The day a settleable visit settles on, which chooses its policy year: an admission's
    discharge day (so one spanning New Year settles in the new year), otherwise today. A discharge
    day recorded before dates were checked is checked again here."""
    registered = settleable(state)
    if not is_inpatient(registered.medical_type) or state.discharged_on is None:
        return business_date(now)
    check_visit_day(
        "discharged_on",
        state.discharged_on,
        admitted_on=admitted_on(registered),
        latest=latest_day(now, skew),
    )
    return state.discharged_on


def check_declared_total(declared: Fen | None, computed: Fen) -> None:
    """A total the hospital declares must be the total of the fee lines it uploaded."""
    if declared is not None and declared != computed:
        raise DomainError(
            "settlement.total_mismatch",
            f"total_fee {declared / 100:.2f} differs from the uploaded fee lines' total "
            f"{computed / 100:.2f}",
            field="total_fee",
            values={"declared_fen": declared, "computed_fen": computed},
        )


def _open(state: VisitState) -> VisitRegistered:
    if state.registered is None or state.status is VisitStatus.REGISTRATION_CANCELLED:
        raise NotFound("visit.not_found", "no open visit with this visit_id", field="visit_id")
    return state.registered


def _not_settled(state: VisitState, doing: str) -> VisitRegistered:
    registered = _open(state)
    if state.status is VisitStatus.SETTLED:
        raise Conflict(
            "visit.settled",
            f"visit {registered.visit_id} is already settled; cancel the settlement before {doing}",
            field="visit_id",
        )
    return registered


def decide_register(state: VisitState, registration: VisitRegistered) -> list[Any]:
    if state.status is not VisitStatus.NONE:
        raise Conflict(
            "visit.already_registered",
            f"visit {registration.visit_id} is already registered",
            field="visit_id",
        )
    return [registration]


def decide_cancel_registration(state: VisitState, now: datetime) -> list[Any]:
    registered = _not_settled(state, "cancelling the registration")
    return [
        VisitRegistrationCancelled(
            visit_id=registered.visit_id,
            person_id=registered.person_id,
            institution_code=registered.institution_code,
            cancelled_at=now,
        )
    ]


def decide_diagnose(
    state: VisitState, diagnoses: tuple[Diagnosis, ...], now: datetime
) -> list[Any]:
    registered = _not_settled(state, "changing the diagnosis")
    principal = next((d.code for d in diagnoses if d.principal), state.principal_diagnosis)
    return [
        VisitDiagnosed(
            visit_id=registered.visit_id,
            person_id=registered.person_id,
            institution_code=registered.institution_code,
            diagnoses=diagnoses,
            principal_diagnosis=principal,
            diagnosed_at=now,
        )
    ]


def decide_upload_fee_lines(
    state: VisitState,
    lines: tuple[FeeLineSplit, ...],
    now: datetime,
    message_id: str | None = None,
    *,
    skew: timedelta,
) -> list[Any]:
    registered = _not_settled(state, "uploading more fee lines")
    seen: set[str] = set()
    latest = latest_day(now, skew)
    for line in lines:
        if line.fee_date is not None:
            check_visit_day(
                "fee_date", line.fee_date, admitted_on=admitted_on(registered), latest=latest
            )
        if line.fee_line_no in state.lines or line.fee_line_no in seen:
            raise Conflict(
                "visit.duplicate_fee_line",
                f"fee line {line.fee_line_no} is already on visit {registered.visit_id}",
                field="fee_line_no",
                values={"fee_line_no": line.fee_line_no},
            )
        seen.add(line.fee_line_no)
    if not lines:
        raise DomainError("visit.no_fee_lines", "an upload needs at least one fee line")
    return [
        FeeLinesUploaded(
            visit_id=registered.visit_id,
            person_id=registered.person_id,
            institution_code=registered.institution_code,
            lines=lines,
            uploaded_at=now,
            message_id=message_id,
        )
    ]


def decide_cancel_fee_lines(
    state: VisitState, fee_line_nos: tuple[str, ...], now: datetime
) -> list[Any]:
    registered = _not_settled(state, "cancelling fee lines")
    unknown = [no for no in fee_line_nos if no not in state.lines]
    if unknown:
        raise NotFound(
            "visit.fee_line_not_found",
            f"fee line {unknown[0]} is not on visit {registered.visit_id}",
            field="fee_line_no",
            values={"fee_line_no": unknown[0]},
        )
    # An empty request cancels every line, as 2205/2302 with no serial number does.
    nos = fee_line_nos or tuple(state.lines)
    if not nos:
        return []
    return [
        FeeLinesCancelled(
            visit_id=registered.visit_id,
            person_id=registered.person_id,
            institution_code=registered.institution_code,
            fee_line_nos=nos,
            cancelled_at=now,
        )
    ]


def decide_discharge(
    state: VisitState, discharged_on: date, now: datetime, died: bool = False, *, skew: timedelta
) -> list[Any]:
    registered = _not_settled(state, "discharging")
    if not is_inpatient(registered.medical_type):
        raise DomainError(
            "visit.not_inpatient", "only an admission can be discharged", field="medical_type"
        )
    if state.status is VisitStatus.DISCHARGED:
        raise Conflict("visit.already_discharged", "the patient is already discharged")
    check_visit_day(
        "discharged_on",
        discharged_on,
        admitted_on=admitted_on(registered),
        latest=latest_day(now, skew),
    )
    return [
        PatientDischarged(
            visit_id=registered.visit_id,
            person_id=registered.person_id,
            institution_code=registered.institution_code,
            discharged_on=discharged_on,
            discharged_at=now,
            principal_diagnosis=state.principal_diagnosis,
            died=died,
        )
    ]


@dataclass(frozen=True, kw_only=True)
class SettleCommand:
    settlement_id: str
    message_id: str
    clearing_agency: str
    clearing_category: str
    filing_kind: str
    computation: SettlementComputation


def decide_settle(state: VisitState, command: SettleCommand, now: datetime) -> list[Any]:
    registered = settleable(state)
    computed = {x.fee_line_no for x in command.computation.lines}
    if computed != set(state.lines):
        raise Conflict(
            "visit.fee_lines_changed",
            "the settlement was computed on other fee lines than the visit now has",
            field="fee_line_no",
        )
    c = command.computation
    return [
        VisitSettled(
            settlement_id=command.settlement_id,
            visit_id=registered.visit_id,
            person_id=registered.person_id,
            insured_region=registered.insured_region,
            visit_region=registered.visit_region,
            institution_code=registered.institution_code,
            clearing_agency=command.clearing_agency,
            clearing_category=command.clearing_category,
            insurance_type=registered.insurance_type,
            medical_type=registered.medical_type,
            filing_kind=command.filing_kind,
            admitted_on=registered.began_at.date(),
            discharged_on=state.discharged_on or registered.began_at.date(),
            principal_diagnosis=state.principal_diagnosis,
            totals=c.totals,
            fund_payments=c.fund_payments,
            account_balance_after=c.account_balance_after,
            movement=c.movement,
            message_id=command.message_id,
            settled_at=now,
        )
    ]


def current_settlement(state: VisitState, settlement_id: str) -> VisitSettled:
    """Only the visit's current settlement can be cancelled."""
    original = state.settlement
    if original is None or original.settlement_id != settlement_id:
        visit_id = state.registered.visit_id if state.registered else ""
        raise NotFound(
            "visit.settlement_not_found",
            f"settlement {settlement_id} is not the current settlement of visit {visit_id}",
            field="settlement_id",
            values={"settlement_id": settlement_id},
        )
    return original


def decide_cancel_settlement(
    state: VisitState,
    *,
    settlement_id: str,
    cancellation_id: str,
    cancellation: SettlementComputation,
    message_id: str,
    now: datetime,
) -> list[Any]:
    """`cancellation` is `engine.cancellation_of(original, current accumulators, balance)`."""
    original = current_settlement(state, settlement_id)
    return [
        SettlementCancelled(
            settlement_id=cancellation_id,
            original_settlement_id=original.settlement_id,
            visit_id=original.visit_id,
            person_id=original.person_id,
            insured_region=original.insured_region,
            visit_region=original.visit_region,
            institution_code=original.institution_code,
            clearing_agency=original.clearing_agency,
            clearing_category=original.clearing_category,
            insurance_type=original.insurance_type,
            medical_type=original.medical_type,
            totals=original.totals.negated(),
            fund_payments=cancellation.fund_payments,
            account_balance_after=cancellation.account_balance_after,
            movement=original.movement.negated(),
            message_id=message_id,
            cancelled_at=now,
        )
    ]
