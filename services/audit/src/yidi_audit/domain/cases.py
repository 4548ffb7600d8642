"""Cases: flags become cases that a reviewer confirms or dismisses; confirmed cases may sanction.

One case stream per case id. How a handler uses it:
- a flag arrives: look up the open case for (person, rule) in the projection (a partial unique
  index keeps one); fold its events (or none, with a new case id), call `decide_take_flag`;
- reviewer commands: fold, call `decide_confirm` / `decide_dismiss` / `decide_suspend_person` /
  `decide_suspend_hospital` / `decide_clawback` / `decide_lift_suspension` with the actor and
  today's business date, append what comes back;
- on suspicion, `decide_suspect` suspends the person at once, pending the case, and reports it;
  a dismissal voids that interim suspension, a confirmation turns it into the sanction
  (`decide_suspend_person`) or, without one, lifts it (`decide_close_interim`);
- a daily job calls `decide_expire_suspensions(state, today)` on cases with active suspensions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum

from yidi_audit.domain.events import (
    CaseConfirmed,
    CaseDismissed,
    CaseOpened,
    EvidenceSettlement,
    FlagAddedToCase,
    SuspicionReported,
)
from yidi_audit.domain.flags import Flag
from yidi_audit.domain.guards import Actor, add_months, require_agency, require_text
from yidi_events.application import Aggregate
from yidi_events.contracts.audit import (
    ClawbackDecided,
    DepartmentSuspended,
    DepartmentSuspensionEnded,
    DirectSettlementSuspended,
    DirectSettlementSuspensionEnded,
    HospitalSuspended,
    HospitalSuspensionEnded,
    SuspensionEndReason,
)
from yidi_events.kernel import Conflict, DomainError, Fen, NotFound, WorkingCalendar, province_of

CaseEvent = (
    CaseOpened
    | FlagAddedToCase
    | CaseConfirmed
    | CaseDismissed
    | DirectSettlementSuspended
    | DirectSettlementSuspensionEnded
    | HospitalSuspended
    | HospitalSuspensionEnded
    | DepartmentSuspended
    | DepartmentSuspensionEnded
    | ClawbackDecided
    | SuspicionReported
)


@dataclass(frozen=True)
class SanctionSettings:
    """REG art. 41: a person's direct settlement is suspended 3-12 months. No source fixes a range
    for an institution; art. 38's 6-12 months for a department is the default."""

    person_min_months: int = 3
    person_max_months: int = 12
    hospital_min_months: int = 6
    hospital_max_months: int = 12
    department_min_months: int = 6  # art. 38: a department 6-12 months
    department_max_months: int = 12
    # A suspension on suspicion is an interim measure: the case is confirmed or dismissed within
    # this many working days, or the suspension lapses (no source fixes the figure).
    suspicion_review_working_days: int = 10


class CaseStatus(StrEnum):
    NONE = "none"
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class SuspensionKind(StrEnum):
    PERSON = "person"
    HOSPITAL = "hospital"
    DEPARTMENT = "department"  # one department of the case's hospital


@dataclass(frozen=True)
class Suspension:
    suspended_from: date
    suspended_until: date
    ended_on: date | None = None
    interim: bool = False  # decided on suspicion, while the case is open
    department: str | None = None  # the department a department sanction targets

    @property
    def active(self) -> bool:
        return self.ended_on is None


@dataclass(frozen=True)
class CaseState:
    case_id: str = ""
    status: CaseStatus = CaseStatus.NONE
    rule_id: str = ""
    person_id: str = ""
    institution_code: str = ""
    visit_region: str = ""
    insured_region: str = ""
    flag_ids: frozenset[str] = frozenset()
    evidence: tuple[EvidenceSettlement, ...] = ()
    clawbacks: tuple[tuple[frozenset[str], Fen], ...] = ()
    suspensions: dict[SuspensionKind, Suspension] = field(default_factory=dict)
    suspicion_reported_on: date | None = None

    def evidence_of(self, settlement_id: str) -> EvidenceSettlement | None:
        return next((e for e in self.evidence if e.settlement_id == settlement_id), None)


def _merge(
    old: tuple[EvidenceSettlement, ...], new: tuple[EvidenceSettlement, ...]
) -> tuple[EvidenceSettlement, ...]:
    merged = {e.settlement_id: e for e in (*old, *new)}
    return tuple(merged[k] for k in sorted(merged))


def evolve(state: CaseState, event: CaseEvent) -> CaseState:
    match event:
        case CaseOpened():
            return CaseState(
                case_id=event.case_id,
                status=CaseStatus.OPEN,
                rule_id=event.rule_id,
                person_id=event.person_id,
                institution_code=event.institution_code,
                visit_region=event.visit_region,
                insured_region=event.insured_region,
                flag_ids=frozenset({event.flag_id}),
                evidence=_merge((), event.evidence),
            )
        case FlagAddedToCase():
            return replace(
                state,
                flag_ids=state.flag_ids | {event.flag_id},
                evidence=_merge(state.evidence, event.evidence),
            )
        case CaseConfirmed():
            return replace(state, status=CaseStatus.CONFIRMED)
        case CaseDismissed():
            return replace(state, status=CaseStatus.DISMISSED)
        case DirectSettlementSuspended() | HospitalSuspended():
            kind = (
                SuspensionKind.PERSON
                if isinstance(event, DirectSettlementSuspended)
                else SuspensionKind.HOSPITAL
            )
            # Decided while the case is open, a suspension can only be the interim one.
            started = Suspension(
                event.suspended_from,
                event.suspended_until,
                interim=state.status is CaseStatus.OPEN,
            )
            return replace(state, suspensions={**state.suspensions, kind: started})
        case DirectSettlementSuspensionEnded() | HospitalSuspensionEnded():
            kind = (
                SuspensionKind.PERSON
                if isinstance(event, DirectSettlementSuspensionEnded)
                else SuspensionKind.HOSPITAL
            )
            ended = replace(state.suspensions[kind], ended_on=event.ended_on)
            return replace(state, suspensions={**state.suspensions, kind: ended})
        case DepartmentSuspended():
            started = Suspension(
                event.suspended_from, event.suspended_until, department=event.department
            )
            return replace(
                state, suspensions={**state.suspensions, SuspensionKind.DEPARTMENT: started}
            )
        case DepartmentSuspensionEnded():
            kind = SuspensionKind.DEPARTMENT
            ended = replace(state.suspensions[kind], ended_on=event.ended_on)
            return replace(state, suspensions={**state.suspensions, kind: ended})
        case ClawbackDecided():
            taken = (frozenset(event.settlement_ids), event.amount)
            return replace(state, clawbacks=(*state.clawbacks, taken))
        case SuspicionReported():
            return replace(state, suspicion_reported_on=event.reported_on)
    return state


CASE = Aggregate(CaseState, evolve)


def decide_take_flag(state: CaseState, flag: Flag, case_id: str, on: date) -> list[CaseEvent]:
    """Open a case for the flag, or add it to this open case of the same person and rule."""
    if state.status is CaseStatus.NONE:
        # The region of the institution the flag names (two-city flags hold both cities).
        first = next(
            (e for e in flag.evidence if e.institution_code == flag.institution_code),
            flag.evidence[0] if flag.evidence else None,
        )
        return [
            CaseOpened(
                case_id=case_id,
                rule_id=flag.rule_id,
                person_id=flag.person_id,
                institution_code=flag.institution_code,
                visit_region=first.visit_region if first else "",
                insured_region=first.insured_region if first else "",
                flag_id=flag.flag_id,
                evidence=flag.evidence,
                opened_on=on,
            )
        ]
    if state.status is not CaseStatus.OPEN:
        raise Conflict(
            "audit.case.closed",
            f"case {state.case_id} is {state.status}; a new flag opens a new case",
            field="case_id",
        )
    if (state.person_id, state.rule_id) != (flag.person_id, flag.rule_id):
        raise Conflict(
            "audit.case.other_subject",
            f"case {state.case_id} is about {state.person_id} / {state.rule_id}, "
            f"not {flag.person_id} / {flag.rule_id}",
            field="case_id",
        )
    if flag.flag_id in state.flag_ids:
        return []
    return [
        FlagAddedToCase(
            case_id=state.case_id,
            person_id=state.person_id,
            flag_id=flag.flag_id,
            evidence=flag.evidence,
            added_on=on,
        )
    ]


def _require_status(state: CaseState, wanted: CaseStatus, doing: str) -> None:
    if state.status is CaseStatus.NONE:
        raise NotFound("audit.case.not_found", "no such case", field="case_id")
    if state.status is not wanted:
        raise Conflict(
            f"audit.case.not_{wanted}",
            f"case {state.case_id} is {state.status}; only a {wanted} case can be {doing}",
            field="case_id",
        )


def _review(state: CaseState, reviewer: Actor, reason: str, doing: str) -> str:
    _require_status(state, CaseStatus.OPEN, doing)
    # The visit place audits under its own catalogue and contracts (GP art. 43).
    require_agency(reviewer, state.visit_region, rule="audit.case.wrong_agency", role="visit-place")
    return require_text(reason, rule="audit.case.reason_required", field="reason", what="a reason")


def decide_confirm(state: CaseState, reviewer: Actor, reason: str, on: date) -> list[CaseEvent]:
    text = _review(state, reviewer, reason, "confirmed")
    return [
        CaseConfirmed(
            case_id=state.case_id,
            person_id=state.person_id,
            reviewer_id=reviewer.actor_id,
            agency_region=reviewer.agency_region,
            reason=text,
            confirmed_on=on,
        )
    ]


def decide_dismiss(state: CaseState, reviewer: Actor, reason: str, on: date) -> list[CaseEvent]:
    """A dismissed case voids the suspension decided on its suspicion: it ends as from its first
    day, so a visit begun while it ran settles directly too (the suspicion proved unfounded)."""
    text = _review(state, reviewer, reason, "dismissed")
    return [
        CaseDismissed(
            case_id=state.case_id,
            person_id=state.person_id,
            reviewer_id=reviewer.actor_id,
            agency_region=reviewer.agency_region,
            reason=text,
            dismissed_on=on,
        ),
        *_void_interim(state),
    ]


def decide_suspect(
    state: CaseState,
    reviewer: Actor,
    suspicion: str,
    on: date,
    calendar: WorkingCalendar,
    settings: SanctionSettings,
) -> list[CaseEvent]:
    """Suspend the person's direct settlement from today, pending the case, and report it to the
    provincial centre and the insured place (seed 003 §七, seed 000 §六(二)).

    The suspension lasts until the case's review deadline (`suspicion_review_working_days`
    working days from today, inclusive); the case decided earlier ends or replaces it, and if
    nobody decides in time it lapses with the daily expiry, as an interim measure must.
    """
    _require_status(state, CaseStatus.OPEN, "suspected")
    require_agency(reviewer, state.visit_region, rule="audit.case.wrong_agency", role="visit-place")
    text = require_text(
        suspicion, rule="audit.suspicion.reason_required", field="suspicion", what="a suspicion"
    )
    if state.suspicion_reported_on is not None:
        raise Conflict(
            "audit.suspicion.already_reported",
            f"case {state.case_id} was already reported on {state.suspicion_reported_on}",
            field="case_id",
        )
    current = state.suspensions.get(SuspensionKind.PERSON)
    if current is not None and current.active:
        raise Conflict(
            "audit.suspension.person_already_suspended",
            f"case {state.case_id} already suspends the person until {current.suspended_until}",
            field="case_id",
        )
    review_by = calendar.add_working_days(on, settings.suspicion_review_working_days)
    return [
        DirectSettlementSuspended(
            person_id=state.person_id,
            suspended_from=on,
            suspended_until=review_by,
            case_id=state.case_id,
            insured_region=state.insured_region,
            decided_by=reviewer.actor_id,
        ),
        SuspicionReported(
            case_id=state.case_id,
            person_id=state.person_id,
            rule_id=state.rule_id,
            institution_code=state.institution_code,
            visit_region=state.visit_region,
            insured_region=state.insured_region,
            centre_region=f"{province_of(state.visit_region)}0000",
            suspicion=text,
            evidence=state.evidence,
            reported_by=reviewer.actor_id,
            reported_on=on,
            review_by=review_by,
        ),
    ]


def _interim(state: CaseState) -> Suspension | None:
    current = state.suspensions.get(SuspensionKind.PERSON)
    return current if current is not None and current.active and current.interim else None


def _void_interim(state: CaseState) -> list[CaseEvent]:
    interim = _interim(state)
    if interim is None:
        return []
    return [
        _ended(state, SuspensionKind.PERSON, interim.suspended_from, SuspensionEndReason.LIFTED)
    ]


def decide_close_interim(state: CaseState, on: date) -> list[CaseEvent]:
    """The case decided without a person's sanction: the suspension on suspicion ends today."""
    if _interim(state) is None:
        return []
    return [_ended(state, SuspensionKind.PERSON, on, SuspensionEndReason.LIFTED)]


def _sanction_period(
    state: CaseState,
    kind: SuspensionKind,
    reviewer: Actor,
    starts_on: date | None,
    months: int,
    on: date,
    bounds: tuple[int, int],
) -> tuple[date, date]:
    """The sanction's first and last day. One that follows a suspension on suspicion continues
    it: it counts from the interim's first day, so the person is suspended without a gap and the
    time already served counts."""
    _require_status(state, CaseStatus.CONFIRMED, "sanctioned")
    require_agency(reviewer, state.visit_region, rule="audit.case.wrong_agency", role="visit-place")
    low, high = bounds
    if not low <= months <= high:
        raise DomainError(
            f"audit.suspension.{kind}_months",
            f"a {kind} suspension lasts {low} to {high} months, not {months}",
            field="months",
        )
    interim = _interim(state) if kind is SuspensionKind.PERSON else None
    if interim is not None:
        if starts_on is not None and starts_on != interim.suspended_from:
            raise DomainError(
                "audit.suspension.continues_interim",
                f"the sanction continues the suspension on suspicion begun on "
                f"{interim.suspended_from}; it cannot start on {starts_on}",
                field="starts_on",
            )
        first = interim.suspended_from
        return first, add_months(first, months) - timedelta(days=1)
    first = on if starts_on is None else starts_on
    if first < on:
        raise DomainError(
            "audit.suspension.starts_in_past",
            f"a suspension cannot start on {first}, before today ({on})",
            field="starts_on",
        )
    current = state.suspensions.get(kind)
    if current is not None and current.ended_on is None:
        raise Conflict(
            f"audit.suspension.{kind}_already_suspended",
            f"case {state.case_id} already suspends the {kind} until {current.suspended_until}",
            field="case_id",
        )
    return first, add_months(first, months) - timedelta(days=1)


def decide_suspend_person(
    state: CaseState,
    reviewer: Actor,
    starts_on: date | None,
    months: int,
    on: date,
    settings: SanctionSettings,
) -> list[CaseEvent]:
    """`starts_on` None: today, or the first day of the suspension on suspicion it continues."""
    bounds = (settings.person_min_months, settings.person_max_months)
    first, until = _sanction_period(
        state, SuspensionKind.PERSON, reviewer, starts_on, months, on, bounds
    )
    return [
        DirectSettlementSuspended(
            person_id=state.person_id,
            suspended_from=first,
            suspended_until=until,
            case_id=state.case_id,
            insured_region=state.insured_region,
            decided_by=reviewer.actor_id,
        )
    ]


def decide_suspend_hospital(
    state: CaseState,
    reviewer: Actor,
    starts_on: date | None,
    months: int,
    on: date,
    settings: SanctionSettings,
) -> list[CaseEvent]:
    bounds = (settings.hospital_min_months, settings.hospital_max_months)
    first, until = _sanction_period(
        state, SuspensionKind.HOSPITAL, reviewer, starts_on, months, on, bounds
    )
    return [
        HospitalSuspended(
            institution_code=state.institution_code,
            visit_region=state.visit_region,
            suspended_from=first,
            suspended_until=until,
            case_id=state.case_id,
            decided_by=reviewer.actor_id,
        )
    ]


def decide_suspend_department(
    state: CaseState,
    reviewer: Actor,
    department: str | None,
    starts_on: date | None,
    months: int,
    on: date,
    settings: SanctionSettings,
) -> list[CaseEvent]:
    """Suspend direct settlement of one department of the case's hospital, not the whole of it:
    the reviewer names the department code visits are registered under."""
    code = require_text(
        department or "",
        rule="audit.suspension.department_required",
        field="department",
        what="the department code",
    )
    bounds = (settings.department_min_months, settings.department_max_months)
    first, until = _sanction_period(
        state, SuspensionKind.DEPARTMENT, reviewer, starts_on, months, on, bounds
    )
    return [
        DepartmentSuspended(
            institution_code=state.institution_code,
            department=code,
            visit_region=state.visit_region,
            suspended_from=first,
            suspended_until=until,
            case_id=state.case_id,
            decided_by=reviewer.actor_id,
        )
    ]


def _ended(state: CaseState, kind: SuspensionKind, on: date, why: SuspensionEndReason) -> CaseEvent:
    if kind is SuspensionKind.DEPARTMENT:
        return DepartmentSuspensionEnded(
            institution_code=state.institution_code,
            department=state.suspensions[kind].department or "",
            visit_region=state.visit_region,
            case_id=state.case_id,
            ended_on=on,
            reason=why,
        )
    if kind is SuspensionKind.PERSON:
        return DirectSettlementSuspensionEnded(
            person_id=state.person_id,
            case_id=state.case_id,
            insured_region=state.insured_region,
            ended_on=on,
            reason=why,
        )
    return HospitalSuspensionEnded(
        institution_code=state.institution_code,
        visit_region=state.visit_region,
        case_id=state.case_id,
        ended_on=on,
        reason=why,
    )


def decide_lift_suspension(
    state: CaseState, kind: SuspensionKind, reviewer: Actor, on: date
) -> list[CaseEvent]:
    require_agency(reviewer, state.visit_region, rule="audit.case.wrong_agency", role="visit-place")
    current = state.suspensions.get(kind)
    if current is None or current.ended_on is not None:
        raise Conflict(
            "audit.suspension.not_active",
            f"case {state.case_id} has no active {kind} suspension to lift",
            field="kind",
        )
    return [_ended(state, kind, on, SuspensionEndReason.LIFTED)]


def decide_expire_suspensions(state: CaseState, today: date) -> list[CaseEvent]:
    """Suspensions whose last day is before today end, the day after their last day."""
    return [
        _ended(state, kind, s.suspended_until + timedelta(days=1), SuspensionEndReason.EXPIRED)
        for kind, s in sorted(state.suspensions.items())
        if s.ended_on is None and s.suspended_until < today
    ]


def decide_clawback(
    state: CaseState,
    reviewer: Actor,
    clawback_id: str,
    amount: Fen,
    on: date,
    settlement_ids: Sequence[str] = (),
) -> list[CaseEvent]:
    """Recover `amount` fen of fund money paid on some of the case's settlements (all by default).

    The chosen settlements must share one (insured place, visit place, insurance type), because
    clearing deducts the amount from that pair's statement; the total clawed back from them never
    exceeds what the funds paid on them.
    """
    _require_status(state, CaseStatus.CONFIRMED, "clawed back")
    require_agency(reviewer, state.visit_region, rule="audit.case.wrong_agency", role="visit-place")
    if amount <= 0:
        raise DomainError(
            "audit.clawback.amount_positive", "a clawback amount must be > 0 fen", field="amount"
        )
    chosen_ids = sorted(set(settlement_ids)) or [e.settlement_id for e in state.evidence]
    chosen = []
    for sid in chosen_ids:
        found = state.evidence_of(sid)
        if found is None:
            raise DomainError(
                "audit.clawback.not_evidence",
                f"settlement {sid} is not evidence of case {state.case_id}",
                field="settlement_ids",
            )
        chosen.append(found)
    pairs = {(e.insured_region, e.visit_region, e.insurance_type) for e in chosen}
    if len(pairs) != 1:
        raise DomainError(
            "audit.clawback.mixed_pairs",
            "the settlements belong to different insured/visit places or insurance types; "
            "decide one clawback per pair",
            field="settlement_ids",
        )
    ids = frozenset(chosen_ids)
    already = sum(taken_fen for taken, taken_fen in state.clawbacks if taken & ids)
    ceiling = sum(e.fund_total for e in chosen) - already
    if amount > ceiling:
        raise DomainError(
            "audit.clawback.exceeds_fund_total",
            f"{amount} fen is more than the {ceiling} fen the funds paid on these settlements "
            f"and not yet clawed back",
            field="amount",
        )
    ((insured_region, visit_region, insurance_type),) = pairs
    return [
        ClawbackDecided(
            clawback_id=clawback_id,
            case_id=state.case_id,
            person_id=state.person_id,
            settlement_ids=tuple(chosen_ids),
            insured_region=insured_region,
            visit_region=visit_region,
            insurance_type=insurance_type,
            amount=amount,
            decided_by=reviewer.actor_id,
            decided_on=on,
        )
    ]
