"""The filing (备案): a person's permission to settle directly in another city.

A handler loads the filing's stream and the person's (to know who is filing), then:

    filing = fold(evolve, None, filing_events)          # None: not submitted yet
    person = fold(person.evolve, None, person_events)
    new_events = decide_submit(filing, command, person, settings_of(person.insured_region), now)

Approval rules on submission (otherwise the filing waits for a reviewer, due within
`settings.review_working_days` working days):
- long-term: approved when supporting documents are on file or the person signs a promise (承诺制);
- referral: approved when a designated hospital gave a referral opinion (a hospital channel
  submission is its own opinion) or the diagnosis is on the unconditional-referral catalogue;
- emergency: always approved, it is "treated as filed"; it needs the admission date and must be
  completed before discharge settlement;
- other temporary: always approved, no extra material is required.

A begin date in the past (补办) is accepted for a person still in hospital: it needs an
admission date, may go back no further than it, and then the hospital settles directly (GP 第16条).
After a discharge the person paid in full (出院自费结算) 补办 is allowed too, marked as such
(`self_paid_discharge`, with the admission and discharge dates): 医保发〔2022〕22号 §二(四) lets
the person then claim manual reimbursement under the insured place's rules (DOMAIN.md sections 1
and 6; seed 003 asks persons to file "or 补办 as the rules say", 按规定补办备案; seed 002 §一(三)
and seed 000 §七(二) send what could not settle directly back to the insured place for manual
reimbursement). The seeds set no time limit for it; an insured place may
(`FilingSettings.self_paid_refiling_months`). The published FilingApproved is the same fact as
for any filing: its valid_from (the admission day at the latest) and valid_to say the person was
filed for the visit, which is what the reimbursement service checks a claim's dates against.
`covers` is the eligibility query; its rule (`yidi_events.coverage`) is the one settlement applies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from yidi_events import coverage
from yidi_events.application import Aggregate
from yidi_events.contracts.filing import (
    EnrolmentStatus,
    FilingApproved,
    FilingCancelled,
    FilingChanged,
    FilingChannel,
    FilingKind,
    FilingRejected,
    LongTermType,
)
from yidi_events.kernel import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    business_date,
    city_of,
)
from yidi_events.kernel import validate_region as _validate_region
from yidi_filing.domain.events import FilingSubmitted
from yidi_filing.domain.filing_settings import FilingSettings, add_months
from yidi_filing.domain.person import BenefitStatus, Person

FilingEvent = FilingSubmitted | FilingApproved | FilingRejected | FilingChanged | FilingCancelled

TEMPORARY_KINDS = frozenset({FilingKind.REFERRAL, FilingKind.EMERGENCY, FilingKind.OTHER_TEMPORARY})
# A hospital uploads referrals (2501) and completes emergency filings for its inpatients.
HOSPITAL_KINDS = frozenset({FilingKind.REFERRAL, FilingKind.EMERGENCY})


class FilingStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class SubmitFiling:
    filing_id: str
    person_id: str
    kind: FilingKind
    channel: FilingChannel
    visit_region: str
    long_term_type: LongTermType | None = None
    destination_institution: str | None = None
    diagnosis: str | None = None
    valid_from: date | None = None  # default: today, or the admission date for an emergency
    valid_to: date | None = None  # temporary default: valid_from + 6 months - 1 day
    promise_based: bool = False
    supporting_documents: bool = False
    referral_opinion_from: str | None = None
    submitted_by_institution: str | None = None  # the hospital, for the hospital channel
    admission_date: date | None = None
    discharge_settled: bool = False
    # 补办 after a discharge the person paid in full: the filing covers that stay (admission to
    # discharge) and leads to a manual-reimbursement claim, not to a direct settlement.
    self_paid_discharge: bool = False
    discharge_date: date | None = None
    # An approved filing carried over from the agency's previous system (its records, at the
    # counter): it began in the past, so the retroactive (补办) rules of a new filing do not apply.
    carried_over: bool = False


@dataclass(frozen=True, kw_only=True)
class ChangeFiling:
    """A new residence city (long-term) or a re-referral (new destination, maybe a new city).
    For a referral, `destination_institution` None means the whole city."""

    reason: str
    visit_region: str | None = None
    destination_institution: str | None = None


@dataclass(frozen=True, kw_only=True)
class Filing:
    filing_id: str
    person_id: str
    kind: FilingKind
    long_term_type: LongTermType | None
    insured_region: str
    visit_region: str
    destination_institution: str | None
    diagnosis: str | None
    valid_from: date
    valid_to: date | None
    promise_based: bool
    channel: FilingChannel
    referral_opinion_from: str | None = None  # a hospital cancels only referrals it gave
    status: FilingStatus = FilingStatus.PENDING
    # Approved at some point: a filing cancelled while pending never covered anything.
    was_approved: bool = False
    review_due: date | None = None
    cancelled_on: date | None = None

    def terms(self) -> coverage.FilingTerms:
        return coverage.FilingTerms(
            approved=self.was_approved,
            visit_region=self.visit_region,
            destination_institution=self.destination_institution,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            cancelled_on=self.cancelled_on,
        )


# --- evolve ----------------------------------------------------------------------------------


def _submitted(event: FilingSubmitted) -> Filing:
    return Filing(
        filing_id=event.filing_id,
        person_id=event.person_id,
        kind=event.kind,
        long_term_type=event.long_term_type,
        insured_region=event.insured_region,
        visit_region=event.visit_region,
        destination_institution=event.destination_institution,
        diagnosis=event.diagnosis,
        valid_from=event.valid_from,
        valid_to=event.valid_to,
        promise_based=event.promise_based,
        channel=event.channel,
        referral_opinion_from=event.referral_opinion_from,
        review_due=event.review_due,
    )


def evolve(state: Filing | None, event: FilingEvent) -> Filing | None:
    if isinstance(event, FilingSubmitted):
        return _submitted(event)
    if state is None:
        return None
    if isinstance(event, FilingApproved | FilingChanged):
        return replace(
            state,
            status=FilingStatus.APPROVED,
            was_approved=True,
            visit_region=event.visit_region,
            destination_institution=event.destination_institution,
            diagnosis=event.diagnosis,
            valid_from=event.valid_from,
            valid_to=event.valid_to,
        )
    if isinstance(event, FilingRejected):
        return replace(state, status=FilingStatus.REJECTED)
    if isinstance(event, FilingCancelled):
        return replace(state, status=FilingStatus.CANCELLED, cancelled_on=event.cancelled_on)
    return state


def _not_submitted() -> Filing | None:
    return None


FILING: Aggregate[Filing | None] = Aggregate(_not_submitted, evolve)


# --- the eligibility query -------------------------------------------------------------------


def covers(
    filing: Filing,
    visit_region: str,
    institution_code: str,
    visit_date: date,
    admission_date: date | None = None,
) -> bool:
    """Whether this filing lets a visit settle directly, judged by the day the visit began."""
    return coverage.covers(
        filing.terms(),
        visit_region=visit_region,
        institution_code=institution_code,
        began=admission_date or visit_date,
    )


def promise_lock_ends(filing: Filing, settings: FilingSettings) -> date | None:
    """The first day a promise-based filing may be changed or cancelled (None: no lock)."""
    if not filing.promise_based:
        return None
    return add_months(filing.valid_from, settings.promise_lock_months)


def default_valid_to(valid_from: date, settings: FilingSettings) -> date:
    return add_months(valid_from, settings.temporary_min_months) - timedelta(days=1)


# --- decisions -------------------------------------------------------------------------------


def decide_submit(
    state: Filing | None,
    command: SubmitFiling,
    person: Person,
    settings: FilingSettings,
    now: datetime,
) -> list[FilingEvent]:
    if state is not None:
        raise Conflict(
            "filing.already_submitted",
            f"filing {command.filing_id} was already submitted",
            field="filing_id",
        )
    today = business_date(now)
    _check_person(command, person)
    _check_kind(command)
    _check_channel(command)
    visit_region = _check_visit_region(command.visit_region, person.insured_region)
    destination = _check_destination(command.kind, command.destination_institution, settings)
    diagnosis = (command.diagnosis or "").strip().upper() or None
    if command.kind is FilingKind.REFERRAL and diagnosis is None:
        raise DomainError(
            "filing.diagnosis_required", "a referral must state the diagnosis", field="diagnosis"
        )
    valid_from = (
        _check_self_paid(command, today, settings)
        if command.self_paid_discharge
        else _check_begin(command, today)
    )
    valid_to = _check_end(command.kind, valid_from, command.valid_to, settings)
    opinion = command.referral_opinion_from
    if command.channel is FilingChannel.HOSPITAL and command.kind is FilingKind.REFERRAL:
        opinion = _designated_referrer(command, destination, person.insured_region, settings)
    reasons = _review_reasons(command, opinion, diagnosis, settings)
    review_due = (
        settings.calendar.add_working_days(today, settings.review_working_days) if reasons else None
    )
    submitted = FilingSubmitted(
        filing_id=command.filing_id,
        person_id=person.person_id,
        kind=command.kind,
        long_term_type=command.long_term_type,
        insured_region=person.insured_region,
        visit_region=visit_region,
        destination_institution=destination,
        diagnosis=diagnosis,
        valid_from=valid_from,
        valid_to=valid_to,
        promise_based=command.promise_based,
        channel=command.channel,
        supporting_documents=command.supporting_documents,
        referral_opinion_from=opinion,
        admission_date=command.admission_date,
        self_paid_discharge=command.self_paid_discharge,
        discharge_date=command.discharge_date,
        submitted_on=today,
        review_due=review_due,
        review_reasons=reasons,
    )
    if reasons:
        return [submitted]
    return [submitted, _approved(_submitted(submitted), today, reviewer=None)]


def decide_approve(state: Filing | None, reviewer: str, now: datetime) -> list[FilingEvent]:
    filing = _pending(state)
    return [_approved(filing, business_date(now), reviewer=_required(reviewer, "reviewer"))]


def decide_reject(
    state: Filing | None, reviewer: str, reason: str, now: datetime
) -> list[FilingEvent]:
    filing = _pending(state)
    return [
        FilingRejected(
            filing_id=filing.filing_id,
            person_id=filing.person_id,
            reviewer=_required(reviewer, "reviewer"),
            reason=_required(reason, "reason"),
            rejected_on=business_date(now),
        )
    ]


def decide_change(
    state: Filing | None, command: ChangeFiling, settings: FilingSettings, now: datetime
) -> list[FilingEvent]:
    filing = _existing(state)
    today = business_date(now)
    reason = _required(command.reason, "reason")
    if filing.status is not FilingStatus.APPROVED:
        raise Conflict(
            "filing.not_active",
            f"only an approved filing can be changed; this one is {filing.status.value}",
            field="filing_id",
        )
    if filing.valid_to is not None and today > filing.valid_to:
        raise Conflict(
            "filing.expired",
            f"the filing ended on {filing.valid_to.isoformat()}; submit a new one",
            field="filing_id",
            values={"valid_to": filing.valid_to.isoformat()},
        )
    if filing.kind not in (FilingKind.LONG_TERM, FilingKind.REFERRAL):
        raise DomainError(
            "filing.change_not_allowed",
            f"a {filing.kind.value} filing cannot be changed; cancel it and file again",
            field="kind",
        )
    _check_promise_lock(filing, settings, today)
    new_region = filing.visit_region
    if command.visit_region is not None:
        new_region = _check_visit_region(command.visit_region, filing.insured_region)
    elif filing.kind is FilingKind.LONG_TERM:
        raise DomainError(
            "filing.visit_region",
            "a change of a long-term filing names the new residence city",
            field="visit_region",
        )
    destination = _check_destination(filing.kind, command.destination_institution, settings)
    if (new_region, destination) == (filing.visit_region, filing.destination_institution):
        return []
    return [
        FilingChanged(
            filing_id=filing.filing_id,
            person_id=filing.person_id,
            kind=filing.kind,
            long_term_type=filing.long_term_type,
            insured_region=filing.insured_region,
            visit_region=new_region,
            destination_institution=destination,
            diagnosis=filing.diagnosis,
            valid_from=filing.valid_from,
            valid_to=filing.valid_to,
            promise_based=filing.promise_based,
            channel=filing.channel,
            changed_on=today,
            reason=reason,
        )
    ]


def decide_cancel(
    state: Filing | None, reason: str, settings: FilingSettings, now: datetime
) -> list[FilingEvent]:
    filing = _existing(state)
    today = business_date(now)
    text = _required(reason, "reason")
    if filing.status not in (FilingStatus.PENDING, FilingStatus.APPROVED):
        raise Conflict(
            "filing.not_active",
            f"only a pending or approved filing can be cancelled; this one is "
            f"{filing.status.value}",
            field="filing_id",
        )
    if filing.status is FilingStatus.APPROVED:
        _check_promise_lock(filing, settings, today)
    return [
        FilingCancelled(
            filing_id=filing.filing_id, person_id=filing.person_id, cancelled_on=today, reason=text
        )
    ]


# --- rules -----------------------------------------------------------------------------------


def _check_person(command: SubmitFiling, person: Person) -> None:
    if person.person_id != command.person_id:
        raise DomainError(
            "filing.person_mismatch", "the filing names another person", field="person_id"
        )
    if command.carried_over and command.channel is not FilingChannel.COUNTER:
        raise DomainError(
            "filing.carried_over_counter_only",
            "only the agency counter can record a filing carried over from its earlier records",
            field="carried_over",
        )
    if command.carried_over and command.valid_from is None:
        raise DomainError(
            "filing.carried_over_begin",
            "a carried-over filing states the date it began",
            field="valid_from",
        )
    # A carried-over filing of someone who died later was valid while the person lived.
    lived_then = (
        command.carried_over
        and command.valid_from is not None
        and person.death_date is not None
        and command.valid_from <= person.death_date
    )
    if person.death_date is not None and not lived_then:
        raise Conflict(
            "filing.person_deceased",
            f"the person died on {person.death_date.isoformat()} and cannot file",
            field="person_id",
        )
    if person.enrolment_status is not EnrolmentStatus.ACTIVE:
        raise Conflict(
            "filing.person_not_active",
            f"the person's enrolment is {person.enrolment_status.value}; only an active "
            "enrolment may file",
            field="person_id",
        )
    if person.benefits is BenefitStatus.TERMINATED:
        raise Conflict(
            "filing.benefits_terminated",
            "the person's benefits are terminated by the insured place",
            field="person_id",
        )


def _check_kind(command: SubmitFiling) -> None:
    if command.kind is FilingKind.LONG_TERM and command.long_term_type is None:
        raise DomainError(
            "filing.long_term_type",
            "a long-term filing states its type: retiree_resettled, long_term_resident or "
            "resident_worker",
            field="long_term_type",
        )
    if command.kind is not FilingKind.LONG_TERM and command.long_term_type is not None:
        raise DomainError(
            "filing.long_term_type",
            "only a long-term filing has a long-term type",
            field="long_term_type",
        )
    if command.promise_based and command.kind is not FilingKind.LONG_TERM:
        raise DomainError(
            "filing.promise_long_term_only",
            "only a long-term filing can be made on a personal promise (承诺制)",
            field="promise_based",
        )


def _check_channel(command: SubmitFiling) -> None:
    if command.channel is not FilingChannel.HOSPITAL:
        return
    if command.kind not in HOSPITAL_KINDS:
        raise DomainError(
            "filing.channel",
            "a hospital may submit only referral and emergency filings",
            field="channel",
        )
    if not (command.submitted_by_institution or "").strip():
        raise DomainError(
            "filing.channel",
            "a hospital submission names the submitting institution",
            field="submitted_by_institution",
        )


def _check_visit_region(visit_region: str, insured_region: str) -> str:
    try:
        region = _validate_region(visit_region)
    except ValueError:
        raise DomainError(
            "filing.visit_region",
            f"{visit_region!r} is not a six-digit region code",
            field="visit_region",
        ) from None
    if city_of(region) == city_of(insured_region):
        raise DomainError(
            "filing.local_visit",
            f"visit city {region} is the insured city itself: no cross-region filing is needed",
            field="visit_region",
        )
    return region


def _check_destination(
    kind: FilingKind, destination: str | None, settings: FilingSettings
) -> str | None:
    code = (destination or "").strip() or None
    if kind is not FilingKind.REFERRAL:
        if code is not None:
            raise DomainError(
                "filing.destination_not_allowed",
                f"a {kind.value} filing covers every networked hospital of the city; it names "
                "no destination",
                field="destination_institution",
            )
        return None
    if code is None and not settings.referral_whole_city_allowed:
        raise DomainError(
            "filing.referral_destination",
            "a referral names exactly one destination hospital at this insured place",
            field="destination_institution",
        )
    return code


def _check_begin(command: SubmitFiling, today: date) -> date:
    admission = command.admission_date
    if command.kind is FilingKind.EMERGENCY and admission is None:
        raise DomainError(
            "filing.admission_required",
            "an emergency filing states the emergency admission date",
            field="admission_date",
        )
    if admission is not None and admission > today:
        raise DomainError(
            "filing.admission_in_future",
            "the admission date is in the future",
            field="admission_date",
        )
    emergency_begin = admission if command.kind is FilingKind.EMERGENCY else None
    valid_from = command.valid_from or emergency_begin or today
    retroactive = valid_from < today and not command.carried_over
    if command.discharge_date is not None:
        raise DomainError(
            "filing.discharge_date_not_allowed",
            "a discharge date belongs to a 补办 after a self-paid discharge: mark it "
            "self_paid_discharge, or leave the discharge date out",
            field="discharge_date",
        )
    if (retroactive or command.kind is FilingKind.EMERGENCY) and command.discharge_settled:
        raise DomainError(
            "filing.retroactive_after_discharge",
            "the discharge was already settled: file it as a 补办 after a self-paid discharge "
            "(self_paid_discharge with the discharge date) and claim manual reimbursement",
            field="valid_from",
        )
    if retroactive and admission is None:
        raise DomainError(
            "filing.retroactive_needs_admission",
            "a begin date in the past (补办) is allowed only for a person still in hospital; "
            "state the admission date",
            field="valid_from",
        )
    if retroactive and admission is not None and valid_from < admission:
        raise DomainError(
            "filing.retroactive_before_admission",
            "a retroactive filing may begin no earlier than the admission date",
            field="valid_from",
        )
    return valid_from


def _check_self_paid(command: SubmitFiling, today: date, settings: FilingSettings) -> date:
    """The begin date of a 补办 after a self-paid discharge: the filing must cover the stay it is
    filed for, so it begins on the admission day (no earlier, no later), and the stay is over."""
    admission, discharge = command.admission_date, command.discharge_date
    if command.carried_over:
        raise DomainError(
            "filing.self_paid_carried_over",
            "a filing carried over from earlier records is not a 补办 after a self-paid discharge",
            field="self_paid_discharge",
        )
    if admission is None:
        raise DomainError(
            "filing.self_paid_needs_admission",
            "a 补办 after a self-paid discharge states the admission date of the stay it covers",
            field="admission_date",
        )
    if discharge is None:
        raise DomainError(
            "filing.self_paid_needs_discharge",
            "a 补办 after a self-paid discharge states the discharge date",
            field="discharge_date",
        )
    if admission > today:
        raise DomainError(
            "filing.admission_in_future",
            "the admission date is in the future",
            field="admission_date",
        )
    if discharge > today:
        raise DomainError(
            "filing.discharge_in_future",
            "the discharge date is in the future: while the person is in hospital, file before "
            "discharge settlement and the hospital settles directly",
            field="discharge_date",
        )
    if discharge < admission:
        raise DomainError(
            "filing.discharge_before_admission",
            f"the discharge date {discharge.isoformat()} is before the admission date "
            f"{admission.isoformat()}",
            field="discharge_date",
        )
    limit = settings.self_paid_refiling_months
    if limit is not None and today > add_months(discharge, limit):
        last = add_months(discharge, limit)
        raise DomainError(
            "filing.self_paid_too_late",
            f"a 补办 after a self-paid discharge is accepted within {limit} months of the "
            f"discharge: for a discharge on {discharge.isoformat()}, until {last.isoformat()}",
            field="discharge_date",
            values={"last_day": last.isoformat(), "months": str(limit)},
        )
    valid_from = command.valid_from or admission
    if valid_from < admission:
        raise DomainError(
            "filing.retroactive_before_admission",
            "a retroactive filing may begin no earlier than the admission date",
            field="valid_from",
        )
    if valid_from > admission:
        raise DomainError(
            "filing.self_paid_begin_after_admission",
            f"a 补办 after a self-paid discharge covers the stay from its admission: it begins on "
            f"{admission.isoformat()}, not {valid_from.isoformat()}",
            field="valid_from",
            values={"admission_date": admission.isoformat()},
        )
    return valid_from


def _check_end(
    kind: FilingKind, valid_from: date, valid_to: date | None, settings: FilingSettings
) -> date | None:
    if kind not in TEMPORARY_KINDS:
        if valid_to is not None:
            raise DomainError(
                "filing.long_term_end_date",
                "a long-term filing is valid until changed; it has no end date",
                field="valid_to",
            )
        return None
    minimum = default_valid_to(valid_from, settings)
    if valid_to is None:
        return minimum
    if valid_to < minimum:
        raise DomainError(
            "filing.validity_too_short",
            f"a temporary filing is valid at least {settings.temporary_min_months} months: "
            f"from {valid_from.isoformat()} it ends no earlier than {minimum.isoformat()}",
            field="valid_to",
            values={"earliest": minimum.isoformat()},
        )
    return valid_to


def _designated_referrer(
    command: SubmitFiling, destination: str | None, insured_region: str, settings: FilingSettings
) -> str:
    """A hospital's referral (2501) is its referral opinion only if the insured place registered
    it as a referring institution, and never when it names itself as the destination (a hospital
    does not refer patients to itself)."""
    institution = (command.submitted_by_institution or "").strip()
    if institution not in settings.referring_institutions or institution == destination:
        raise Forbidden(
            "filing.referral_not_designated",
            f"{institution} is not a designated referring institution of insured region "
            f"{insured_region}"
            + (" (it is the referral's destination)" if institution == destination else ""),
            field="institution_code",
            values={"institution": institution[:30], "insured_region": insured_region},
        )
    return institution


def _review_reasons(
    command: SubmitFiling, opinion: str | None, diagnosis: str | None, settings: FilingSettings
) -> tuple[str, ...]:
    if command.kind is FilingKind.REFERRAL and not settings.unconditional_referral.contains(
        diagnosis
    ):
        if not opinion:
            return ("filing.referral_without_opinion",)
        # An opinion claimed at the counter or online is evidence to check, not to believe: only
        # a designated referring institution's approves at once, any other goes to a reviewer.
        if opinion not in settings.referring_institutions:
            return ("filing.referral_opinion_not_designated",)
    if command.kind is FilingKind.LONG_TERM and not (
        command.supporting_documents or command.promise_based
    ):
        return ("filing.long_term_without_documents",)
    return ()


def _check_promise_lock(filing: Filing, settings: FilingSettings, today: date) -> None:
    unlocks = promise_lock_ends(filing, settings)
    if unlocks is not None and today < unlocks:
        raise Conflict(
            "filing.promise_lock",
            f"a promise-based filing can be changed or cancelled only from "
            f"{unlocks.isoformat()}, {settings.promise_lock_months} months after it began",
            field="filing_id",
            values={"unlocks": unlocks.isoformat()},
        )


def _approved(filing: Filing, today: date, *, reviewer: str | None) -> FilingApproved:
    return FilingApproved(
        filing_id=filing.filing_id,
        person_id=filing.person_id,
        kind=filing.kind,
        long_term_type=filing.long_term_type,
        insured_region=filing.insured_region,
        visit_region=filing.visit_region,
        destination_institution=filing.destination_institution,
        diagnosis=filing.diagnosis,
        valid_from=filing.valid_from,
        valid_to=filing.valid_to,
        promise_based=filing.promise_based,
        channel=filing.channel,
        approved_on=today,
        reviewer=reviewer,
    )


def _existing(state: Filing | None) -> Filing:
    if state is None:
        raise NotFound("filing.not_found", "no such filing", field="filing_id")
    return state


def _pending(state: Filing | None) -> Filing:
    filing = _existing(state)
    if filing.status is not FilingStatus.PENDING:
        raise Conflict(
            "filing.not_pending",
            f"only a pending filing can be reviewed; this one is {filing.status.value}",
            field="filing_id",
        )
    return filing


def _required(text: str, field: str) -> str:
    if not text.strip():
        raise DomainError(f"filing.{field}_required", f"the {field} is required", field=field)
    return text.strip()
