"""Problem-collaboration tickets (问题协同), one stream per ticket (GP art. 59-60).

The receiver is the first responder and must reply within the kind's working days (filing 2,
system fault 1, other 10); only the requester can agree to extend that; the requester confirms the
reply, or it is confirmed automatically after 10 working days. Deadlines are last working days
(inclusive): counted from the day after the ticket was raised or replied.

How a handler uses it: fold the ticket's events, call `decide_raise` / `decide_request_extension`
/ `decide_agree_extension` / `decide_reply` / `decide_confirm` with the acting agency and today; a
daily job appends `decide_auto_confirm(state, today)`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from yidi_audit.domain.events import (
    TicketConfirmed,
    TicketExtensionAgreed,
    TicketExtensionRequested,
    TicketKind,
    TicketRaised,
    TicketReplied,
)
from yidi_audit.domain.guards import Actor, require_agency, require_text
from yidi_events.application import Aggregate
from yidi_events.kernel import Conflict, DomainError, NotFound, WorkingCalendar, city_of

TicketEvent = (
    TicketRaised
    | TicketExtensionRequested
    | TicketExtensionAgreed
    | TicketReplied
    | TicketConfirmed
)


@dataclass(frozen=True)
class TicketSettings:
    filing_reply_days: int = 2
    system_fault_reply_days: int = 1
    other_reply_days: int = 10
    auto_confirm_days: int = 10

    def reply_days(self, kind: TicketKind) -> int:
        return {
            TicketKind.FILING: self.filing_reply_days,
            TicketKind.SYSTEM_FAULT: self.system_fault_reply_days,
            TicketKind.OTHER: self.other_reply_days,
        }[kind]


class TicketStatus(StrEnum):
    NONE = "none"
    RAISED = "raised"
    REPLIED = "replied"
    CONFIRMED = "confirmed"


@dataclass(frozen=True)
class TicketState:
    ticket_id: str = ""
    status: TicketStatus = TicketStatus.NONE
    kind: TicketKind = TicketKind.OTHER
    requester_region: str = ""
    receiver_region: str = ""
    reply_by: date | None = None
    extension_asked: date | None = None
    confirm_by: date | None = None


def evolve(state: TicketState, event: TicketEvent) -> TicketState:
    match event:
        case TicketRaised():
            return TicketState(
                ticket_id=event.ticket_id,
                status=TicketStatus.RAISED,
                kind=event.kind,
                requester_region=event.requester_region,
                receiver_region=event.receiver_region,
                reply_by=event.reply_by,
            )
        case TicketExtensionRequested():
            return replace(state, extension_asked=event.reply_by)
        case TicketExtensionAgreed():
            return replace(state, reply_by=event.reply_by, extension_asked=None)
        case TicketReplied():
            return replace(state, status=TicketStatus.REPLIED, confirm_by=event.confirm_by)
        case TicketConfirmed():
            return replace(state, status=TicketStatus.CONFIRMED)
    return state


TICKET = Aggregate(TicketState, evolve)


def _require(state: TicketState, wanted: TicketStatus, doing: str) -> None:
    if state.status is TicketStatus.NONE:
        raise NotFound("audit.ticket.not_found", "no such ticket", field="ticket_id")
    if state.status is not wanted:
        raise Conflict(
            f"audit.ticket.not_{wanted}",
            f"ticket {state.ticket_id} is {state.status}; it cannot be {doing} now",
            field="ticket_id",
        )


def decide_raise(
    state: TicketState,
    ticket_id: str,
    kind: TicketKind,
    requester: Actor,
    receiver_region: str,
    subject: str,
    person_id: str | None,
    on: date,
    calendar: WorkingCalendar,
    settings: TicketSettings,
) -> list[TicketEvent]:
    if state.status is not TicketStatus.NONE:
        raise Conflict(
            "audit.ticket.exists", f"ticket {ticket_id} already exists", field="ticket_id"
        )
    if city_of(receiver_region) == city_of(requester.agency_region):
        raise DomainError(
            "audit.ticket.same_agency",
            "a ticket goes to another agency, not to the requester's own",
            field="receiver_region",
        )
    text = require_text(
        subject, rule="audit.ticket.subject_required", field="subject", what="a subject"
    )
    return [
        TicketRaised(
            ticket_id=ticket_id,
            kind=kind,
            requester_region=requester.agency_region,
            receiver_region=receiver_region,
            subject=text,
            person_id=person_id,
            raised_on=on,
            reply_by=calendar.add_working_days(on, settings.reply_days(kind)),
        )
    ]


def decide_request_extension(
    state: TicketState, receiver: Actor, reply_by: date, reason: str, on: date
) -> list[TicketEvent]:
    _require(state, TicketStatus.RAISED, "extended")
    require_agency(
        receiver, state.receiver_region, rule="audit.ticket.wrong_agency", role="receiving"
    )
    if state.reply_by is not None and reply_by <= state.reply_by:
        raise DomainError(
            "audit.ticket.extension_not_later",
            f"an extension must move the reply date past {state.reply_by}",
            field="reply_by",
        )
    text = require_text(
        reason, rule="audit.ticket.reason_required", field="reason", what="a reason"
    )
    return [
        TicketExtensionRequested(
            ticket_id=state.ticket_id, reply_by=reply_by, reason=text, requested_on=on
        )
    ]


def decide_agree_extension(state: TicketState, requester: Actor, on: date) -> list[TicketEvent]:
    _require(state, TicketStatus.RAISED, "extended")
    # Only the requester may agree: the receiver cannot give itself more time.
    require_agency(
        requester, state.requester_region, rule="audit.ticket.wrong_agency", role="requesting"
    )
    if state.extension_asked is None:
        raise Conflict(
            "audit.ticket.no_extension_asked",
            f"ticket {state.ticket_id} has no extension request to agree to",
            field="ticket_id",
        )
    return [
        TicketExtensionAgreed(
            ticket_id=state.ticket_id, reply_by=state.extension_asked, agreed_on=on
        )
    ]


def decide_reply(
    state: TicketState,
    receiver: Actor,
    answer: str,
    on: date,
    calendar: WorkingCalendar,
    settings: TicketSettings,
) -> list[TicketEvent]:
    _require(state, TicketStatus.RAISED, "replied to")
    require_agency(
        receiver, state.receiver_region, rule="audit.ticket.wrong_agency", role="receiving"
    )
    text = require_text(
        answer, rule="audit.ticket.answer_required", field="answer", what="an answer"
    )
    return [
        TicketReplied(
            ticket_id=state.ticket_id,
            answer=text,
            replied_on=on,
            confirm_by=calendar.add_working_days(on, settings.auto_confirm_days),
            late=state.reply_by is not None and on > state.reply_by,
        )
    ]


def decide_confirm(state: TicketState, requester: Actor, on: date) -> list[TicketEvent]:
    _require(state, TicketStatus.REPLIED, "confirmed")
    require_agency(
        requester, state.requester_region, rule="audit.ticket.wrong_agency", role="requesting"
    )
    return [TicketConfirmed(ticket_id=state.ticket_id, confirmed_on=on, automatic=False)]


def decide_auto_confirm(state: TicketState, today: date) -> list[TicketEvent]:
    if state.status is not TicketStatus.REPLIED or state.confirm_by is None:
        return []
    if today <= state.confirm_by:
        return []
    return [TicketConfirmed(ticket_id=state.ticket_id, confirmed_on=today, automatic=True)]
