"""`overdue(items, today)`: what is late across 协查 batches, tickets and complaints.

A step is overdue when today is after its last allowed day. The handler folds the open items it
wants to monitor and passes their states; the result feeds the agency's monitoring screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yidi_audit.domain.complaints import ComplaintState, ComplaintStatus
from yidi_audit.domain.investigation import BatchState
from yidi_audit.domain.tickets import TicketState, TicketStatus


class OverdueKind(StrEnum):
    INVESTIGATION = "investigation"
    TICKET = "ticket"
    COMPLAINT = "complaint"


@dataclass(frozen=True, order=True)
class Overdue:
    kind: OverdueKind
    item_id: str  # "batch/settlement", ticket id or complaint id
    step: str  # what is awaited
    due: date  # its last allowed day
    waiting_on: str  # region of the agency that must act


def _batch(state: BatchState, today: date) -> list[Overdue]:
    found = []
    for sid, s in sorted(state.items.items()):
        item_id = f"{state.batch_id}/{sid}"
        if s.rolled_to is not None:
            continue
        if s.result is None and state.answer_by is not None and today > state.answer_by:
            found.append(
                Overdue(
                    OverdueKind.INVESTIGATION,
                    item_id,
                    "answer",
                    state.answer_by,
                    s.item.visit_region,
                )
            )
        elif not s.confirmed and s.confirm_by is not None and today > s.confirm_by:
            found.append(
                Overdue(
                    OverdueKind.INVESTIGATION,
                    item_id,
                    "confirm",
                    s.confirm_by,
                    s.item.insured_region,
                )
            )
    return found


def _ticket(state: TicketState, today: date) -> list[Overdue]:
    if state.status is TicketStatus.RAISED and state.reply_by and today > state.reply_by:
        return [
            Overdue(
                OverdueKind.TICKET, state.ticket_id, "reply", state.reply_by, state.receiver_region
            )
        ]
    if state.status is TicketStatus.REPLIED and state.confirm_by and today > state.confirm_by:
        return [
            Overdue(
                OverdueKind.TICKET,
                state.ticket_id,
                "confirm",
                state.confirm_by,
                state.requester_region,
            )
        ]
    return []


_NEXT_STEP = {
    ComplaintStatus.RECEIVED: "acknowledge",
    ComplaintStatus.ACKNOWLEDGED: "resolve",
    ComplaintStatus.RESOLVED: "notify complainant",
}


def _complaint(state: ComplaintState, today: date) -> list[Overdue]:
    step = _NEXT_STEP.get(state.status)
    if step is None or state.due is None or today <= state.due:
        return []
    return [
        Overdue(OverdueKind.COMPLAINT, state.complaint_id, step, state.due, state.agency_region)
    ]


def overdue(
    items: Iterable[BatchState | TicketState | ComplaintState], today: date
) -> list[Overdue]:
    found: list[Overdue] = []
    for item in items:
        if isinstance(item, BatchState):
            found.extend(_batch(item, today))
        elif isinstance(item, TicketState):
            found.extend(_ticket(item, today))
        else:
            found.extend(_complaint(item, today))
    return sorted(found)
