"""A visit as the queries tell it (5201 visits, 5202 diagnoses, 5204/5205 fee lines): folded from
the visit stream, read only. Each settlement keeps the fee lines that stood when it was made, so
a settlement asked for later answers its own lines, not the visit's current ones."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time
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
from yidi_events.kernel import SHANGHAI, DomainError, NotFound, business_date
from yidi_settlement.domain.events import (
    Diagnosis,
    PatientDischarged,
    VisitDiagnosed,
    VisitRegistered,
)


class DiagnosisStage(StrEnum):
    ADMISSION = "admission"  # at registration or a diagnosis upload before discharge
    DISCHARGE = "discharge"


@dataclass(frozen=True, kw_only=True)
class RecordedDiagnosis:
    diagnosis: Diagnosis
    stage: DiagnosisStage
    at: datetime
    order: int  # 1-based, in the order the hospital listed them


@dataclass(frozen=True, kw_only=True)
class VisitRecord:
    registered: VisitRegistered | None = None
    diagnoses: tuple[RecordedDiagnosis, ...] = ()
    discharged: PatientDischarged | None = None
    lines: dict[str, FeeLineSplit] = field(default_factory=dict)
    line_times: dict[str, datetime] = field(default_factory=dict)  # when each line was uploaded
    settled: dict[str, VisitSettled] = field(default_factory=dict)
    settled_lines: dict[str, tuple[FeeLineSplit, ...]] = field(default_factory=dict)
    cancelled: frozenset[str] = frozenset()  # settlements a negative record cancelled


def _diagnosed(state: VisitRecord, event: VisitDiagnosed) -> VisitRecord:
    # A diagnosis upload states the visit's diagnoses anew: it replaces the one before.
    stage = DiagnosisStage.DISCHARGE if state.discharged else DiagnosisStage.ADMISSION
    kept = tuple(d for d in state.diagnoses if d.stage is not stage)
    new = tuple(
        RecordedDiagnosis(diagnosis=d, stage=stage, at=event.diagnosed_at, order=n)
        for n, d in enumerate(event.diagnoses, start=1)
    )
    return replace(state, diagnoses=kept + new)


def _principal(
    code: str | None, stage: DiagnosisStage, at: datetime
) -> tuple[RecordedDiagnosis, ...]:
    if not code:
        return ()
    # registration and discharge name the principal diagnosis by code only
    return (
        RecordedDiagnosis(
            diagnosis=Diagnosis(code=code, name="", principal=True), stage=stage, at=at, order=1
        ),
    )


def evolve(state: VisitRecord, event: Any) -> VisitRecord:
    match event:
        case VisitRegistered():
            principal = _principal(
                event.principal_diagnosis, DiagnosisStage.ADMISSION, event.began_at
            )
            return replace(state, registered=event, diagnoses=principal)
        case VisitDiagnosed():
            return _diagnosed(state, event)
        case FeeLinesUploaded():
            times = {x.fee_line_no: event.uploaded_at for x in event.lines}
            return replace(
                state,
                lines={**state.lines, **{x.fee_line_no: x for x in event.lines}},
                line_times={**state.line_times, **times},
            )
        case FeeLinesCancelled():
            kept = {no: x for no, x in state.lines.items() if no not in event.fee_line_nos}
            return replace(state, lines=kept)
        case PatientDischarged():
            named = {
                d.diagnosis.code for d in state.diagnoses if d.stage is DiagnosisStage.DISCHARGE
            }
            extra = (
                ()
                if event.principal_diagnosis in named
                else _principal(
                    event.principal_diagnosis, DiagnosisStage.DISCHARGE, event.discharged_at
                )
            )
            return replace(state, discharged=event, diagnoses=state.diagnoses + extra)
        case VisitSettled():
            return replace(
                state,
                settled={**state.settled, event.settlement_id: event},
                settled_lines={
                    **state.settled_lines,
                    event.settlement_id: tuple(state.lines.values()),
                },
            )
        case SettlementCancelled():
            return replace(state, cancelled=state.cancelled | {event.original_settlement_id})
    return state


VISIT_RECORD = Aggregate(VisitRecord, evolve)


def own_record(
    state: VisitRecord, *, visit_id: str, institution_code: str, person_id: str | None = None
) -> VisitRegistered:
    """A hospital reads only its own visits, for the visit's own person when it names one."""
    registered = state.registered
    if registered is None or registered.institution_code != institution_code:
        raise NotFound(
            "visit.not_found",
            f"visit {visit_id} is not a visit of this institution",
            field="visit_id",
        )
    if person_id is not None and registered.person_id != person_id:
        raise DomainError(
            "visit.person_mismatch",
            f"visit {visit_id} belongs to another person",
            field="person_id",
        )
    return registered


def ended_at(state: VisitRecord, now: datetime) -> datetime:
    """When the visit ended: its discharge, else its last settlement; a visit still open has
    lasted until now."""
    if state.discharged is not None:
        return state.discharged.discharged_at
    if state.settled:
        return max(s.settled_at for s in state.settled.values())
    return now


def settlement_lines(
    state: VisitRecord, visit_id: str, settlement_id: str
) -> tuple[FeeLineSplit, ...]:
    """The fee lines a settlement of the visit settled."""
    if settlement_id not in state.settled_lines:
        raise NotFound(
            "settlement.not_found",
            f"settlement {settlement_id} is not a settlement of visit {visit_id}",
            field="settlement_id",
        )
    return state.settled_lines[settlement_id]


def fee_time(state: VisitRecord, line: FeeLineSplit) -> datetime:
    """When a fee arose: the line's own fee date, else when it was uploaded."""
    uploaded = state.line_times[line.fee_line_no]
    if line.fee_date is None or line.fee_date == business_date(uploaded):
        return uploaded
    return datetime.combine(line.fee_date, time(), tzinfo=SHANGHAI)


CHRONIC_OUTPATIENT = "14"  # 门诊慢特病 (chronic and special diseases, outpatient): the visits 5205 tells the drugs of
DRUG_LIST_PREFIX = "1"  # list types 1xx are medicines (西药中成药, 中药饮片, 制剂, 民族药, 颗粒)


def is_medicine(list_type: str | None) -> bool:
    return bool(list_type) and str(list_type).startswith(DRUG_LIST_PREFIX)
