"""Complaints from cross-region patients: received -> acknowledged -> resolved -> complainant told.

One stream per complaint, handled by the agency that received it. No source gives deadlines for
the steps ("promptly"), so they are configuration in working days, used by `overdue`.

How a handler uses it: fold the complaint's events and call `decide_receive` /
`decide_acknowledge` / `decide_resolve` / `decide_notify` with the acting agency and today.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from yidi_audit.domain.events import (
    ComplainantNotified,
    ComplaintAcknowledged,
    ComplaintReceived,
    ComplaintResolved,
)
from yidi_audit.domain.guards import Actor, require_agency, require_text
from yidi_events.application import Aggregate
from yidi_events.kernel import Conflict, NotFound, WorkingCalendar

ComplaintEvent = ComplaintReceived | ComplaintAcknowledged | ComplaintResolved | ComplainantNotified


@dataclass(frozen=True)
class ComplaintSettings:
    acknowledge_working_days: int = 1
    resolve_working_days: int = 10
    notify_working_days: int = 2


class ComplaintStatus(StrEnum):
    NONE = "none"
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    NOTIFIED = "notified"


@dataclass(frozen=True)
class ComplaintState:
    complaint_id: str = ""
    status: ComplaintStatus = ComplaintStatus.NONE
    agency_region: str = ""
    due: date | None = None  # the last day for the next step


def evolve(state: ComplaintState, event: ComplaintEvent) -> ComplaintState:
    match event:
        case ComplaintReceived():
            return ComplaintState(
                complaint_id=event.complaint_id,
                status=ComplaintStatus.RECEIVED,
                agency_region=event.agency_region,
                due=event.acknowledge_by,
            )
        case ComplaintAcknowledged():
            return replace(state, status=ComplaintStatus.ACKNOWLEDGED, due=event.resolve_by)
        case ComplaintResolved():
            return replace(state, status=ComplaintStatus.RESOLVED, due=event.notify_by)
        case ComplainantNotified():
            return replace(state, status=ComplaintStatus.NOTIFIED, due=None)
    return state


COMPLAINT = Aggregate(ComplaintState, evolve)


def _step(state: ComplaintState, actor: Actor, wanted: ComplaintStatus, doing: str) -> None:
    if state.status is ComplaintStatus.NONE:
        raise NotFound("audit.complaint.not_found", "no such complaint", field="complaint_id")
    if state.status is not wanted:
        raise Conflict(
            f"audit.complaint.not_{wanted}",
            f"complaint {state.complaint_id} is {state.status}; it cannot be {doing} now",
            field="complaint_id",
        )
    require_agency(
        actor, state.agency_region, rule="audit.complaint.wrong_agency", role="receiving"
    )


def decide_receive(
    state: ComplaintState,
    complaint_id: str,
    agency: Actor,
    person_id: str | None,
    channel: str,
    summary: str,
    on: date,
    calendar: WorkingCalendar,
    settings: ComplaintSettings,
) -> list[ComplaintEvent]:
    if state.status is not ComplaintStatus.NONE:
        raise Conflict(
            "audit.complaint.exists",
            f"complaint {complaint_id} already exists",
            field="complaint_id",
        )
    text = require_text(
        summary, rule="audit.complaint.summary_required", field="summary", what="a summary"
    )
    return [
        ComplaintReceived(
            complaint_id=complaint_id,
            agency_region=agency.agency_region,
            person_id=person_id,
            channel=channel,
            summary=text,
            received_on=on,
            acknowledge_by=calendar.add_working_days(on, settings.acknowledge_working_days),
        )
    ]


def decide_acknowledge(
    state: ComplaintState,
    agency: Actor,
    on: date,
    calendar: WorkingCalendar,
    settings: ComplaintSettings,
) -> list[ComplaintEvent]:
    _step(state, agency, ComplaintStatus.RECEIVED, "acknowledged")
    return [
        ComplaintAcknowledged(
            complaint_id=state.complaint_id,
            acknowledged_on=on,
            resolve_by=calendar.add_working_days(on, settings.resolve_working_days),
        )
    ]


def decide_resolve(
    state: ComplaintState,
    agency: Actor,
    outcome: str,
    on: date,
    calendar: WorkingCalendar,
    settings: ComplaintSettings,
) -> list[ComplaintEvent]:
    _step(state, agency, ComplaintStatus.ACKNOWLEDGED, "resolved")
    text = require_text(
        outcome, rule="audit.complaint.outcome_required", field="outcome", what="an outcome"
    )
    return [
        ComplaintResolved(
            complaint_id=state.complaint_id,
            outcome=text,
            resolved_on=on,
            notify_by=calendar.add_working_days(on, settings.notify_working_days),
        )
    ]


def decide_notify(
    state: ComplaintState, agency: Actor, channel: str, on: date
) -> list[ComplaintEvent]:
    _step(state, agency, ComplaintStatus.RESOLVED, "notified")
    text = require_text(
        channel,
        rule="audit.complaint.channel_required",
        field="channel",
        what="how the complainant was told",
    )
    return [ComplainantNotified(complaint_id=state.complaint_id, channel=text, notified_on=on)]
