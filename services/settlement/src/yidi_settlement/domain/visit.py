"""The Visit aggregate (one stream per visit_id), as a decider.

A handler loads the visit (`VISIT`), checks the visit is the caller's (`owned`), calls one
`decide_*` function with the command's data and `now`, and appends what it returns. Settling also
needs the person-year accumulators stream (see accumulators.py): the handler checks `settleable`,
computes the settlement with `engine.compute_settlement` and passes the result to `decide_settle`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from yidi_benefits.engine import SettlementComputation
from yidi_benefits.line_split import check_line_amount, split_line, split_return
from yidi_benefits.model import Catalogue, FeeLine, is_inpatient
from yidi_events.application import Aggregate
from yidi_events.contracts.settlement import (
    FeeLinesCancelled,
    FeeLineSplit,
    FeeLinesUploaded,
    SettlementCancelled,
    SettlementReversed,
    VisitSettled,
)
from yidi_events.kernel import Conflict, DomainError, Fen, NotFound, business_date
from yidi_settlement.domain.dates import check_visit_day, latest_day
from yidi_settlement.domain.events import (
    AdmissionChanged,
    Diagnosis,
    DischargeCancelled,
    PatientDischarged,
    SettlementReinstated,
    SettlementStaged,
    VisitDiagnosed,
    VisitRegistered,
    VisitRegistrationCancelled,
)


class VisitStatus(StrEnum):
    NONE = "none"
    OPEN = "open"
    DISCHARGED = "discharged"
    SETTLED = "settled"  # closed: an admission's final settlement stands
    REGISTRATION_CANCELLED = "registration_cancelled"


@dataclass(frozen=True, kw_only=True)
class Stage:
    """One settlement of the visit that stands, and the lines it settled."""

    settlement: VisitSettled
    fee_line_nos: tuple[str, ...]
    interim: bool = False
    deductible_left: Fen | None = None  # an interim stage: what the stay still owes


@dataclass(frozen=True, kw_only=True)
class VisitState:
    status: VisitStatus = VisitStatus.NONE
    registered: VisitRegistered | None = None
    # Every live line (uploaded, not cancelled), settled or not, returns included.
    lines: dict[str, FeeLineSplit] = field(default_factory=dict)
    settled_by: dict[str, str] = field(default_factory=dict)  # fee line -> settlement id
    principal_diagnosis: str | None = None
    disease_code: str | None = None  # 病种编码: a chronic visit's disease (2201 or 2203)
    diagnoses: tuple[Diagnosis, ...] = ()
    discharged_on: date | None = None
    stages: tuple[Stage, ...] = ()  # the settlements that stand, oldest first
    # The latest cancelled settlement and its cancellation id, while nothing changed since: a
    # 2601 of that cancellation may make it stand again.
    cancelled: tuple[Stage, str] | None = None
    reinstated: frozenset[str] = frozenset()  # cancellations a 2601 undid

    @property
    def settlement(self) -> VisitSettled | None:
        """The latest settlement that stands: the only one that may be cancelled."""
        return self.stages[-1].settlement if self.stages else None

    @property
    def unsettled(self) -> dict[str, FeeLineSplit]:
        return {no: x for no, x in self.lines.items() if no not in self.settled_by}


def _reopened(state: VisitState) -> VisitStatus:
    return VisitStatus.DISCHARGED if state.discharged_on else VisitStatus.OPEN


def _closes(state: VisitState, stage: Stage) -> bool:
    """An admission's final settlement closes the visit; an outpatient visit may settle further
    batches, and an interim stage leaves the stay open."""
    registered = state.registered
    return registered is not None and is_inpatient(registered.medical_type) and not stage.interim


def _stand(state: VisitState, stage: Stage) -> VisitState:
    settled = {no: stage.settlement.settlement_id for no in stage.fee_line_nos}
    state = replace(
        state,
        stages=(*state.stages, stage),
        settled_by={**state.settled_by, **settled},
        cancelled=None,
    )
    return replace(state, status=VisitStatus.SETTLED if _closes(state, stage) else state.status)


def _merge(known: tuple[Diagnosis, ...], changed: tuple[Diagnosis, ...]) -> tuple[Diagnosis, ...]:
    by_code = {d.code: d for d in known}
    for d in changed:
        by_code[d.code] = d
    return tuple(by_code.values())


def evolve(state: VisitState, event: Any) -> VisitState:
    match event:
        case VisitRegistered():
            return replace(
                state,
                status=VisitStatus.OPEN,
                registered=event,
                principal_diagnosis=event.principal_diagnosis,
                disease_code=event.disease_code,
            )
        case VisitRegistrationCancelled():
            return replace(state, status=VisitStatus.REGISTRATION_CANCELLED)
        case VisitDiagnosed():
            return replace(
                state,
                principal_diagnosis=event.principal_diagnosis,
                disease_code=event.disease_code or state.disease_code,
                diagnoses=_merge(state.diagnoses, event.diagnoses),
            )
        case AdmissionChanged() if state.registered is not None:
            registered = replace(
                state.registered,
                began_at=event.began_at,
                medical_type=event.medical_type,
                department=event.department or state.registered.department,
            )
            return replace(
                state,
                registered=registered,
                principal_diagnosis=event.principal_diagnosis or state.principal_diagnosis,
                diagnoses=_merge(state.diagnoses, event.diagnoses),
            )
        case FeeLinesUploaded():
            return replace(
                state,
                lines={**state.lines, **{x.fee_line_no: x for x in event.lines}},
                cancelled=None,
            )
        case FeeLinesCancelled():
            kept = {no: x for no, x in state.lines.items() if no not in event.fee_line_nos}
            return replace(state, lines=kept, cancelled=None)
        case PatientDischarged():
            return replace(
                state,
                status=VisitStatus.DISCHARGED,
                discharged_on=event.discharged_on,
                principal_diagnosis=event.principal_diagnosis or state.principal_diagnosis,
                cancelled=None,
            )
        case DischargeCancelled():
            return replace(state, status=VisitStatus.OPEN, discharged_on=None, cancelled=None)
        case VisitSettled():
            # It settles every live line not yet settled: what the handler computed it on.
            return _stand(state, Stage(settlement=event, fee_line_nos=tuple(state.unsettled)))
        case SettlementStaged() if state.stages:
            last = state.stages[-1]
            staged = replace(last, interim=True, deductible_left=event.deductible_left)
            return replace(state, stages=(*state.stages[:-1], staged), status=_reopened(state))
        case SettlementCancelled():
            undone = [
                x
                for x in state.stages
                if x.settlement.settlement_id == event.original_settlement_id
            ]
            standing = tuple(x for x in state.stages if x not in undone)
            settled = {
                no: sid
                for no, sid in state.settled_by.items()
                if sid != event.original_settlement_id
            }
            # Back to where it was before settling: the hospital may correct and settle again.
            return replace(
                state,
                status=_reopened(state),
                stages=standing,
                settled_by=settled,
                cancelled=(undone[0], event.settlement_id) if undone else None,
            )
        case SettlementReinstated() if state.cancelled is not None:
            stood = _stand(state, state.cancelled[0])
            return replace(stood, reinstated=state.reinstated | {event.cancellation_id})
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


def settleable(
    state: VisitState,
    insurance_type: str | None = None,
    *,
    interim: bool = False,
    trial: bool = False,
) -> VisitRegistered:
    """May the visit be (pre-)settled now? Checked before the computation, so a pre-settlement is
    refused as its settlement would be, and again when the settlement is recorded.

    An admission settles finally after discharge (2402), or in stages before it (`interim`,
    中途结算); a pre-settlement (`trial`) before discharge shows the bill so far and commits
    nothing, as real clients send it (his-interface.md section 0)."""
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
    inpatient = is_inpatient(registered.medical_type)
    if interim and not inpatient:
        raise DomainError(
            "visit.interim_not_inpatient",
            "only an admission settles in stages (interim settlement)",
            field="interim",
        )
    if interim and state.discharged_on is not None:
        raise DomainError(
            "visit.interim_after_discharge",
            f"visit {registered.visit_id} is discharged: it settles finally, not in an interim "
            "stage",
            field="interim",
        )
    if inpatient and state.discharged_on is None and not (interim or trial):
        raise DomainError(
            "visit.not_discharged",
            "an admission settles after discharge (2402 first)",
            field="visit_id",
        )
    if not state.unsettled:
        if state.stages:
            raise Conflict(
                "visit.settled",
                f"every fee line of visit {registered.visit_id} is settled (settlement_id "
                f"{state.stages[-1].settlement.settlement_id}); upload new lines or cancel it",
                field="visit_id",
            )
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


def settling_lines(state: VisitState) -> list[FeeLine]:
    """What a settlement now settles: the unsettled lines, each return netted into the line it
    returns (both settle together, the original at its net quantity and amount)."""
    unsettled = state.unsettled
    returns: dict[str, list[FeeLineSplit]] = {}
    for x in unsettled.values():
        if x.returned_line is not None:
            returns.setdefault(x.returned_line, []).append(x)
    return [_net(x, returns.get(no, ())) for no, x in unsettled.items() if x.returned_line is None]


def _as_line(x: FeeLineSplit) -> FeeLine:
    return FeeLine(
        fee_line_no=x.fee_line_no,
        catalogue_code=x.catalogue_code,
        quantity=x.quantity,
        unit_price=x.unit_price,
        amount=x.amount,
        charge_category=x.charge_category,
        fee_date=x.fee_date,
        hospital_item_code=x.hospital_item_code,
        charge_batch=x.charge_batch,
    )


def _net(original: FeeLineSplit, returns: Iterable[FeeLineSplit]) -> FeeLine:
    line = _as_line(original)
    for r in returns:
        line = replace(line, quantity=line.quantity + r.quantity, amount=line.amount + r.amount)
    return line


def split_upload(
    state: VisitState, lines: Sequence[FeeLine], catalogue: Catalogue, undated_on: date
) -> tuple[FeeLineSplit, ...]:
    """Split an upload's lines. A return (negative quantity or amount) must name an unsettled,
    live line of this visit or of this upload, with the same catalogue code,
    and may not return more than was charged: the original never nets below zero."""
    known: dict[str, FeeLineSplit] = dict(state.lines)
    netted: dict[str, FeeLine] = {}
    for no, x in state.lines.items():
        if x.returned_line is not None and x.returned_line in netted:
            netted[x.returned_line] = _net_by(netted[x.returned_line], x)
        elif x.returned_line is None:
            netted[no] = _as_line(x)
    done: list[FeeLineSplit] = []
    for line in lines:
        day = line.fee_date or undated_on
        line = replace(line, fee_date=day)
        entry = catalogue.entry(line.catalogue_code, day)
        if line.returned_line is None:
            if line.quantity < 0 or line.amount < 0:
                raise DomainError(
                    "visit.return_without_original",
                    f"fee line {line.fee_line_no} is negative: a return must name the line it "
                    "returns",
                    field="returned_line",
                )
            check_line_amount(line)  # after the sign: a negative line is told it needs an original
            split = split_line(line, entry)
            netted[line.fee_line_no] = line
        else:
            original = _returnable(state, known, netted, line)
            check_line_amount(line)
            split = split_return(line, original, entry)
            netted[line.returned_line] = _net_by(netted[line.returned_line], line)
        known[split.fee_line_no] = split
        done.append(split)
    return tuple(done)


def _net_by(line: FeeLine, returned: FeeLine | FeeLineSplit) -> FeeLine:
    return replace(
        line, quantity=line.quantity + returned.quantity, amount=line.amount + returned.amount
    )


def _returnable(
    state: VisitState,
    known: dict[str, FeeLineSplit],
    netted: dict[str, FeeLine],
    line: FeeLine,
) -> FeeLine:
    """The original a return takes off, as it nets before the return."""
    original_no = line.returned_line or ""
    original = known.get(original_no)
    if original is None or original.returned_line is not None:
        raise NotFound(
            "visit.returned_line_not_found",
            f"return {line.fee_line_no} names line {original_no}, which is not a charged line "
            "of this visit",
            field="returned_line",
            values={"line": original_no},
        )
    if original_no in state.settled_by:
        raise Conflict(
            "visit.returned_line_settled",
            f"line {original_no} is settled (settlement_id {state.settled_by[original_no]}); "
            "cancel that settlement before returning it",
            field="returned_line",
            values={"line": original_no, "settlement_id": state.settled_by[original_no]},
        )
    if line.catalogue_code != original.catalogue_code:
        raise DomainError(
            "visit.return_item",
            f"return {line.fee_line_no} is for {line.catalogue_code}, but line {original_no} "
            f"charged {original.catalogue_code}",
            field="catalogue_code",
        )
    if line.quantity > 0 or line.amount > 0:
        raise DomainError(
            "visit.return_sign",
            f"return {line.fee_line_no} must have a negative quantity and amount",
            field="quantity" if line.quantity > 0 else "amount",
        )
    before = netted[original_no]
    if before.quantity + line.quantity < 0 or before.amount + line.amount < 0:
        raise DomainError(
            "visit.return_exceeds_charge",
            f"return {line.fee_line_no} takes back more than line {original_no} still charges "
            f"({before.quantity} at {before.amount / 100:.2f} yuan)",
            field="quantity" if before.quantity + line.quantity < 0 else "amount",
            values={
                "line": original_no,
                "quantity": str(before.quantity),
                "left_fen": before.amount,
            },
        )
    return before


def admitted_on(registered: VisitRegistered) -> date:
    return business_date(registered.began_at)


def settlement_day(state: VisitState, now: datetime, skew: timedelta) -> date:
    """The day a settleable visit settles on, which chooses its policy year: an admission's
    discharge day (so one spanning New Year settles in the new year), otherwise today (an
    interim stage, or a trial before discharge, settles on today). A discharge day recorded
    before dates were checked is checked again here."""
    registered = state.registered
    if registered is None or not is_inpatient(registered.medical_type):
        return business_date(now)
    if state.discharged_on is None:
        return business_date(now)
    check_visit_day(
        "discharged_on",
        state.discharged_on,
        admitted_on=admitted_on(registered),
        latest=latest_day(now, skew),
    )
    return state.discharged_on


def stay_deductible_left(state: VisitState) -> Fen | None:
    """A later stage of a stay: what the stay still owes of its deductible."""
    if state.stages and state.stages[-1].interim:
        return state.stages[-1].deductible_left
    return None


def check_declared_total(declared: Fen | None, computed: Fen) -> None:
    """A total the hospital declares must be the total of the fee lines being settled."""
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
    """The visit is not closed by a final settlement."""
    registered = _open(state)
    if state.status is VisitStatus.SETTLED:
        raise Conflict(
            "visit.settled",
            f"visit {registered.visit_id} is already settled; cancel the settlement before {doing}",
            field="visit_id",
        )
    return registered


def _nothing_settled(state: VisitState, doing: str) -> VisitRegistered:
    registered = _not_settled(state, doing)
    if state.stages:
        raise Conflict(
            "visit.settled",
            f"visit {registered.visit_id} has a settlement (settlement_id "
            f"{state.stages[-1].settlement.settlement_id}); cancel it before {doing}",
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
    registered = _nothing_settled(state, "cancelling the registration")
    return [
        VisitRegistrationCancelled(
            visit_id=registered.visit_id,
            person_id=registered.person_id,
            institution_code=registered.institution_code,
            cancelled_at=now,
        )
    ]


def decide_diagnose(
    state: VisitState,
    diagnoses: tuple[Diagnosis, ...],
    now: datetime,
    disease_code: str | None = None,
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
            disease_code=disease_code,
        )
    ]


@dataclass(frozen=True, kw_only=True)
class AdmissionChange:
    began_at: datetime
    medical_type: str
    department: str | None
    principal_diagnosis: str | None
    diagnoses: tuple[Diagnosis, ...]


def decide_change_admission(
    state: VisitState, change: AdmissionChange, now: datetime, *, skew: timedelta
) -> list[Any]:
    """2403. What a settlement was computed on (the admission's start and medical type) changes
    only while nothing is settled; diagnoses may change until the final settlement."""
    registered = _not_settled(state, "changing the admission")
    if not is_inpatient(registered.medical_type):
        raise DomainError(
            "visit.not_inpatient", "only an admission can be changed by 2403", field="visit_id"
        )
    if not is_inpatient(change.medical_type):
        raise DomainError(
            "visit.not_inpatient",
            f"an admission keeps an inpatient medical type (2x), got {change.medical_type}",
            field="medical_type",
        )
    basis_changed = (
        change.began_at != registered.began_at or change.medical_type != registered.medical_type
    )
    if basis_changed and state.stages:
        raise Conflict(
            "visit.settled",
            f"visit {registered.visit_id} has an interim settlement (settlement_id "
            f"{state.stages[-1].settlement.settlement_id}); cancel it before changing the "
            "admission time or medical type",
            field="visit_id",
        )
    begins = business_date(change.began_at)
    if begins > latest_day(now, skew):
        raise DomainError(
            "visit.date_in_future",
            f"began_at {begins} is after today",
            field="began_at",
        )
    for line in state.lines.values():
        if line.fee_date is not None and line.fee_date < begins:
            raise DomainError(
                "visit.date_before_admission",
                f"fee line {line.fee_line_no} of {line.fee_date} would be before the admission "
                f"on {begins}",
                field="began_at",
            )
    if state.discharged_on is not None and state.discharged_on < begins:
        raise DomainError(
            "visit.date_before_admission",
            f"the discharge on {state.discharged_on} would be before the admission on {begins}",
            field="began_at",
        )
    principal = next((d.code for d in change.diagnoses if d.principal), change.principal_diagnosis)
    return [
        AdmissionChanged(
            visit_id=registered.visit_id,
            person_id=registered.person_id,
            institution_code=registered.institution_code,
            began_at=change.began_at,
            medical_type=change.medical_type,
            department=change.department,
            principal_diagnosis=principal,
            diagnoses=change.diagnoses,
            changed_at=now,
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


ALL = "0000"  # 2205/2302: every unsettled line


def decide_cancel_fee_lines(
    state: VisitState,
    fee_line_nos: tuple[str, ...],
    now: datetime,
    *,
    charge_batch: str | None = None,
) -> list[Any]:
    """2302 cancels lines by number, 2205 a charge batch (`charge_batch`); no number, or the
    batch "0000", cancels every unsettled line. A settled line is never cancelled; a cancelled
    line takes its returns with it."""
    registered = _not_settled(state, "cancelling fee lines")
    if charge_batch is not None and charge_batch != ALL:
        nos = tuple(no for no, x in state.lines.items() if x.charge_batch == charge_batch)
        if not nos:
            raise NotFound(
                "visit.charge_batch_not_found",
                f"charge batch {charge_batch} has no fee lines on visit {registered.visit_id}",
                field="charge_batch",
                values={"batch": charge_batch},
            )
        # As "0000" is every unsettled line, a batch is its unsettled lines; a batch whose
        # every line is settled is refused below.
        fee_line_nos = tuple(no for no in nos if no not in state.settled_by) or nos
    unknown = [no for no in fee_line_nos if no not in state.lines]
    if unknown:
        raise NotFound(
            "visit.fee_line_not_found",
            f"fee line {unknown[0]} is not on visit {registered.visit_id}",
            field="fee_line_no",
            values={"fee_line_no": unknown[0]},
        )
    settled = [no for no in fee_line_nos if no in state.settled_by]
    if settled:
        raise Conflict(
            "visit.fee_line_settled",
            f"fee line {settled[0]} is settled (settlement_id {state.settled_by[settled[0]]}); "
            "a settled line cannot be cancelled",
            field="charge_batch" if charge_batch is not None else "fee_line_no",
            values={"line": settled[0], "settlement_id": state.settled_by[settled[0]]},
        )
    nos = fee_line_nos or tuple(state.unsettled)
    returns = tuple(
        no
        for no, x in state.lines.items()
        if x.returned_line in nos and no not in nos and no not in state.settled_by
    )
    nos = (*nos, *returns)
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


def decide_cancel_discharge(state: VisitState, now: datetime) -> list[Any]:
    """2405: only before the final settlement (2305 first), which was computed on the discharge."""
    registered = _not_settled(state, "cancelling the discharge")
    if state.discharged_on is None:
        raise Conflict(
            "visit.not_discharged",
            f"visit {registered.visit_id} is not discharged",
            field="visit_id",
        )
    return [
        DischargeCancelled(
            visit_id=registered.visit_id,
            person_id=registered.person_id,
            institution_code=registered.institution_code,
            cancelled_at=now,
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
    interim: bool = False


def decide_settle(state: VisitState, command: SettleCommand, now: datetime) -> list[Any]:
    registered = settleable(state, interim=command.interim)
    computed = {x.fee_line_no for x in command.computation.lines}
    if computed != {x.fee_line_no for x in settling_lines(state)}:
        raise Conflict(
            "visit.fee_lines_changed",
            "the settlement was computed on other fee lines than the visit now has",
            field="fee_line_no",
        )
    c = command.computation
    ends = state.discharged_on or (
        business_date(now) if command.interim else registered.began_at.date()
    )
    events: list[Any] = [
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
            discharged_on=ends,
            principal_diagnosis=state.principal_diagnosis,
            totals=c.totals,
            fund_payments=c.fund_payments,
            account_balance_after=c.account_balance_after,
            movement=c.movement,
            message_id=command.message_id,
            settled_at=now,
        )
    ]
    if command.interim:
        events.append(
            SettlementStaged(
                visit_id=registered.visit_id,
                person_id=registered.person_id,
                settlement_id=command.settlement_id,
                deductible_left=c.deductible_left or 0,
            )
        )
    return events


def current_settlement(state: VisitState, settlement_id: str) -> VisitSettled:
    """Only the visit's latest settlement that stands can be cancelled: stages are undone from
    the last, so each later stage's deductible and admission stay right."""
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


def settled_lines(state: VisitState, settlement_id: str) -> tuple[FeeLineSplit, ...]:
    return tuple(x for no, x in state.lines.items() if state.settled_by.get(no) == settlement_id)


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


def reinstatable(state: VisitState, cancellation_id: str) -> VisitSettled | None:
    """The settlement a 2601 of cancellation `cancellation_id` makes stand again; None when it
    already stands again (a repeated reversal does nothing). Refused once anything changed the
    visit since the cancellation: the settlement would no longer be what the lines say."""
    if cancellation_id in state.reinstated:
        return None
    if state.cancelled is None or state.cancelled[1] != cancellation_id:
        visit_id = state.registered.visit_id if state.registered else ""
        raise Conflict(
            "reversal.cancellation_not_reversible",
            f"cancellation {cancellation_id} of visit {visit_id} cannot be reversed: the visit "
            "changed since (lines, discharge or a new settlement); settle again instead",
            field="original_message_id",
        )
    return state.cancelled[0].settlement


def decide_reinstate(
    state: VisitState,
    *,
    cancellation_id: str,
    original_message_id: str,
    reversed_transaction: str,
    message_id: str,
    now: datetime,
) -> list[Any]:
    settlement = reinstatable(state, cancellation_id)
    if settlement is None:
        return []
    return [
        SettlementReinstated(
            visit_id=settlement.visit_id,
            person_id=settlement.person_id,
            institution_code=settlement.institution_code,
            settlement_id=settlement.settlement_id,
            cancellation_id=cancellation_id,
            message_id=message_id,
            reinstated_at=now,
        ),
        SettlementReversed(
            person_id=settlement.person_id,
            institution_code=settlement.institution_code,
            original_message_id=original_message_id,
            reversed_transaction=reversed_transaction,
            settlement_id=cancellation_id,
            message_id=message_id,
            reversed_at=now,
            reinstated_settlement_id=settlement.settlement_id,
        ),
    ]
