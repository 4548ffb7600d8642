"""Tickets (问题协同), complaints, and `overdue` across weekends."""

from __future__ import annotations

from datetime import date

import pytest

from yidi_audit.domain import complaints, tickets
from yidi_audit.domain import investigation as inv
from yidi_audit.domain.complaints import ComplaintSettings, ComplaintState
from yidi_audit.domain.events import (
    InvestigationItem,
    TicketConfirmed,
    TicketKind,
    TicketRaised,
    TicketReplied,
)
from yidi_audit.domain.guards import Actor
from yidi_audit.domain.overdue import Overdue, OverdueKind, overdue
from yidi_audit.domain.tickets import TicketSettings, TicketState
from yidi_events.decider import fold
from yidi_events.kernel import Conflict, DomainError, Forbidden, WorkingCalendar

CAL = WorkingCalendar.of(holidays=[date(2026, 5, 1)])
SUZHOU = Actor("sz-1", "320500")  # requester: insured place
NANJING = Actor("nj-1", "320100")  # receiver: visit place
FRIDAY = date(2026, 4, 24)
SETTINGS = TicketSettings()


def _raised(kind: TicketKind, on: date = FRIDAY) -> TicketState:
    events = tickets.decide_raise(
        TicketState(), "T1", kind, SUZHOU, "320100", "filing not visible", None, on, CAL, SETTINGS
    )
    return fold(tickets.evolve, TicketState(), events)


@pytest.mark.parametrize(
    ("kind", "on", "reply_by"),
    [
        (TicketKind.SYSTEM_FAULT, FRIDAY, date(2026, 4, 27)),  # Fri + 1 -> Mon
        (TicketKind.FILING, FRIDAY, date(2026, 4, 28)),  # Fri + 2 -> Tue
        (TicketKind.SYSTEM_FAULT, date(2026, 4, 25), date(2026, 4, 27)),  # raised Saturday
        (TicketKind.OTHER, FRIDAY, date(2026, 5, 11)),  # 10 working days, May 1 a holiday
    ],
)
def test_reply_deadline_in_working_days(kind: TicketKind, on: date, reply_by: date) -> None:
    (raised,) = tickets.decide_raise(
        TicketState(), "T1", kind, SUZHOU, "320100", "subject", None, on, CAL, SETTINGS
    )
    assert isinstance(raised, TicketRaised)
    assert raised.reply_by == reply_by


def test_only_the_receiver_replies_and_only_the_requester_confirms() -> None:
    state = _raised(TicketKind.FILING)
    with pytest.raises(Forbidden):
        tickets.decide_reply(state, SUZHOU, "done", FRIDAY, CAL, SETTINGS)
    (reply,) = tickets.decide_reply(
        state, NANJING, "filing resent", date(2026, 4, 29), CAL, SETTINGS
    )
    assert isinstance(reply, TicketReplied)
    assert reply.late
    state = tickets.evolve(state, reply)
    with pytest.raises(Forbidden):
        tickets.decide_confirm(state, NANJING, date(2026, 4, 30))
    (confirmed,) = tickets.decide_confirm(state, SUZHOU, date(2026, 4, 30))
    assert confirmed == TicketConfirmed(
        ticket_id="T1", confirmed_on=date(2026, 4, 30), automatic=False
    )


def test_reply_is_auto_confirmed_after_10_working_days() -> None:
    state = _raised(TicketKind.OTHER)
    state = fold(
        tickets.evolve, state, tickets.decide_reply(state, NANJING, "ok", FRIDAY, CAL, SETTINGS)
    )
    assert state.confirm_by == date(2026, 5, 11)
    assert tickets.decide_auto_confirm(state, date(2026, 5, 11)) == []
    (auto,) = tickets.decide_auto_confirm(state, date(2026, 5, 12))
    assert isinstance(auto, TicketConfirmed)
    assert auto.automatic


def test_extension_is_asked_by_the_receiver_and_agreed_only_by_the_requester() -> None:
    state = _raised(TicketKind.FILING)
    with pytest.raises(DomainError):
        tickets.decide_request_extension(state, NANJING, date(2026, 4, 28), "need logs", FRIDAY)
    asked = tickets.decide_request_extension(state, NANJING, date(2026, 5, 6), "need logs", FRIDAY)
    state = fold(tickets.evolve, state, asked)
    assert state.reply_by == date(2026, 4, 28)  # not moved until agreed
    with pytest.raises(Forbidden):
        tickets.decide_agree_extension(state, NANJING, FRIDAY)
    state = fold(tickets.evolve, state, tickets.decide_agree_extension(state, SUZHOU, FRIDAY))
    assert state.reply_by == date(2026, 5, 6)
    with pytest.raises(Conflict):
        tickets.decide_agree_extension(state, SUZHOU, FRIDAY)


def test_complaint_moves_through_its_steps_in_order() -> None:
    s = ComplaintSettings()
    state = fold(
        complaints.evolve,
        ComplaintState(),
        complaints.decide_receive(
            ComplaintState(), "C1", NANJING, None, "phone", "refused at counter", FRIDAY, CAL, s
        ),
    )
    with pytest.raises(Conflict):
        complaints.decide_resolve(state, NANJING, "fixed", FRIDAY, CAL, s)
    with pytest.raises(Forbidden):
        complaints.decide_acknowledge(state, SUZHOU, FRIDAY, CAL, s)
    state = fold(
        complaints.evolve, state, complaints.decide_acknowledge(state, NANJING, FRIDAY, CAL, s)
    )
    state = fold(
        complaints.evolve,
        state,
        complaints.decide_resolve(state, NANJING, "refunded", FRIDAY, CAL, s),
    )
    state = fold(complaints.evolve, state, complaints.decide_notify(state, NANJING, "sms", FRIDAY))
    assert state.status is complaints.ComplaintStatus.NOTIFIED
    assert overdue([state], date(2027, 1, 1)) == []


def test_overdue_lists_each_kind_after_its_last_day() -> None:
    ticket = _raised(TicketKind.SYSTEM_FAULT)  # reply by Mon 27th
    complaint = fold(
        complaints.evolve,
        ComplaintState(),
        complaints.decide_receive(
            ComplaintState(), "C1", NANJING, None, "web", "x", FRIDAY, CAL, ComplaintSettings()
        ),
    )  # acknowledge by Mon 27th
    item = InvestigationItem(
        settlement_id="S1",
        visit_id="V1",
        person_id="p",
        institution_code="H1",
        visit_region="320100",
        insured_region="320500",
        admitted_on=date(2026, 3, 1),
        discharged_on=date(2026, 3, 9),
        settled_on=date(2026, 3, 9),
        total_fee=3_000_000,
    )
    batch = fold(
        inv.evolve, inv.BatchState(), inv.decide_build(inv.BatchState(), date(2026, 3, 26), [item])
    )
    assert overdue([ticket, complaint, batch], date(2026, 4, 25)) == []
    assert overdue([ticket, complaint, batch], date(2026, 4, 28)) == [
        Overdue(OverdueKind.COMPLAINT, "C1", "acknowledge", date(2026, 4, 27), "320100"),
        Overdue(OverdueKind.INVESTIGATION, "2026-03/S1", "answer", date(2026, 4, 25), "320100"),
        Overdue(OverdueKind.TICKET, "T1", "reply", date(2026, 4, 27), "320100"),
    ]
