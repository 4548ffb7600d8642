"""协查 batches, problem-collaboration tickets and complaints: load, decide, append."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from uuid6 import uuid7

from yidi_audit.app.context import Audit
from yidi_audit.app.fee_review import deduct_in
from yidi_audit.domain import complaints as cd
from yidi_audit.domain import fee_review as fr
from yidi_audit.domain import investigation as inv
from yidi_audit.domain import tickets as td
from yidi_audit.domain.events import InvestigationResult, TicketKind
from yidi_audit.domain.guards import Actor
from yidi_audit.domain.overdue import Overdue, overdue
from yidi_events.application import Unit
from yidi_events.kernel import city_of


def batch_stream(batch_id: str) -> str:
    return f"batch-{batch_id}"


def ticket_stream(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


def complaint_stream(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


async def build_batch(audit: Audit) -> str:
    """At 00:00 on the 26th: roll over what earlier batches left unanswered, then build."""

    async def work(unit: Unit) -> str:
        today = audit.today()
        settings = audit.settings.investigation
        first, last = inv.batch_window(today, settings)
        batch_id = inv.batch_id_of(today)
        earlier = []
        for old_id in sorted(await audit.reads.batches_with_unanswered_items(unit, batch_id)):
            old = await audit.write.load(unit, batch_stream(old_id), inv.BATCH)
            rolled = inv.decide_roll_over(old.state, batch_id, today)
            await audit.write.append(unit, old.stream_id, old.version, rolled)
            earlier.append(inv.BATCH.fold(rolled, old.state))
        candidates = await audit.reads.pool_candidates(unit, first, last)
        await audit.write.decide(
            unit,
            batch_stream(batch_id),
            inv.BATCH,
            lambda state: inv.decide_build(state, today, candidates, earlier, settings),
        )
        return batch_id

    return await audit.write.transact(work)


async def answer_item(
    audit: Audit,
    batch_id: str,
    settlement_id: str,
    actor: Actor,
    result: InvestigationResult,
    reason: str,
    deductions: Sequence[fr.LineDeduction] = (),
    evidence: str = "",
) -> None:
    """Answer a 协查 item; 核查有误 with lines to deduct also decides the deduction, in the same
    unit (both or neither)."""

    async def work(unit: Unit) -> None:
        deduction = fr.assist_check_deduction(
            batch_id, settlement_id, result, reason, deductions, evidence
        )
        await audit.write.decide(
            unit,
            batch_stream(batch_id),
            inv.BATCH,
            lambda state: inv.decide_answer(
                state,
                settlement_id,
                actor,
                result,
                reason,
                audit.today(),
                audit.settings.calendar,
                audit.settings.investigation,
            ),
        )
        if deduction is not None:
            await deduct_in(audit, unit, actor, deduction)

    await audit.write.transact(work)


async def confirm_item(audit: Audit, batch_id: str, settlement_id: str, actor: Actor) -> None:
    await audit.write.execute(
        batch_stream(batch_id),
        inv.BATCH,
        lambda state: inv.decide_confirm(state, settlement_id, actor, audit.today()),
    )


async def auto_confirm(audit: Audit) -> int:
    """The daily job: answers and ticket replies nobody confirmed in time are confirmed."""
    today = audit.today()

    async def due(unit: Unit) -> tuple[list[str], list[str]]:
        return (
            await audit.reads.batches_with_answers_due(unit, today),
            await audit.reads.tickets_with_replies_due(unit, today),
        )

    batch_ids, ticket_ids = await audit.write.transact(due)
    done = 0
    for batch_id in batch_ids:
        done += len(
            await audit.write.execute(
                batch_stream(batch_id),
                inv.BATCH,
                lambda state: inv.decide_auto_confirm(state, today),
            )
        )
    for ticket_id in ticket_ids:
        done += len(
            await audit.write.execute(
                ticket_stream(ticket_id),
                td.TICKET,
                lambda state: td.decide_auto_confirm(state, today),
            )
        )
    return done


# --- tickets -----------------------------------------------------------------------------------


async def _on_ticket(
    audit: Audit, ticket_id: str, decide: Callable[[td.TicketState], list[td.TicketEvent]]
) -> None:
    await audit.write.execute(ticket_stream(ticket_id), td.TICKET, decide)


async def raise_ticket(
    audit: Audit,
    actor: Actor,
    kind: TicketKind,
    receiver_region: str,
    subject: str,
    person_id: str | None,
    ticket_id: str | None = None,
) -> str:
    tid = ticket_id or str(uuid7())
    s = audit.settings
    await _on_ticket(
        audit,
        tid,
        lambda st: td.decide_raise(
            st,
            tid,
            kind,
            actor,
            receiver_region,
            subject,
            person_id,
            audit.today(),
            s.calendar,
            s.tickets,
        ),
    )
    return tid


async def request_extension(
    audit: Audit, ticket_id: str, actor: Actor, reply_by: date, reason: str
) -> None:
    await _on_ticket(
        audit,
        ticket_id,
        lambda st: td.decide_request_extension(st, actor, reply_by, reason, audit.today()),
    )


async def agree_extension(audit: Audit, ticket_id: str, actor: Actor) -> None:
    await _on_ticket(
        audit, ticket_id, lambda st: td.decide_agree_extension(st, actor, audit.today())
    )


async def reply_ticket(audit: Audit, ticket_id: str, actor: Actor, answer: str) -> None:
    s = audit.settings
    await _on_ticket(
        audit,
        ticket_id,
        lambda st: td.decide_reply(st, actor, answer, audit.today(), s.calendar, s.tickets),
    )


async def confirm_ticket(audit: Audit, ticket_id: str, actor: Actor) -> None:
    await _on_ticket(audit, ticket_id, lambda st: td.decide_confirm(st, actor, audit.today()))


# --- complaints --------------------------------------------------------------------------------


async def _on_complaint(
    audit: Audit,
    complaint_id: str,
    decide: Callable[[cd.ComplaintState], list[cd.ComplaintEvent]],
) -> None:
    await audit.write.execute(complaint_stream(complaint_id), cd.COMPLAINT, decide)


async def receive_complaint(
    audit: Audit,
    actor: Actor,
    person_id: str | None,
    channel: str,
    summary: str,
    complaint_id: str | None = None,
) -> str:
    cid = complaint_id or str(uuid7())
    s = audit.settings
    await _on_complaint(
        audit,
        cid,
        lambda st: cd.decide_receive(
            st, cid, actor, person_id, channel, summary, audit.today(), s.calendar, s.complaints
        ),
    )
    return cid


async def acknowledge_complaint(audit: Audit, complaint_id: str, actor: Actor) -> None:
    s = audit.settings
    await _on_complaint(
        audit,
        complaint_id,
        lambda st: cd.decide_acknowledge(st, actor, audit.today(), s.calendar, s.complaints),
    )


async def resolve_complaint(audit: Audit, complaint_id: str, actor: Actor, outcome: str) -> None:
    s = audit.settings
    await _on_complaint(
        audit,
        complaint_id,
        lambda st: cd.decide_resolve(st, actor, outcome, audit.today(), s.calendar, s.complaints),
    )


async def notify_complainant(audit: Audit, complaint_id: str, actor: Actor, channel: str) -> None:
    await _on_complaint(
        audit, complaint_id, lambda st: cd.decide_notify(st, actor, channel, audit.today())
    )


# --- overdue -----------------------------------------------------------------------------------


async def overdue_for(audit: Audit, region: str, everyone: bool) -> list[Overdue]:
    """Late steps of the open items that involve the region's city (all of them for the centre)."""
    city = city_of(region)
    today = audit.today()

    async def open_states(unit: Unit) -> list[inv.BatchState | td.TicketState | cd.ComplaintState]:
        work = await audit.reads.open_work(unit, None if everyone else city)
        states: list[inv.BatchState | td.TicketState | cd.ComplaintState] = []
        for batch_id in work.batch_ids:
            states.append((await audit.write.load(unit, batch_stream(batch_id), inv.BATCH)).state)
        for ticket_id in work.ticket_ids:
            states.append((await audit.write.load(unit, ticket_stream(ticket_id), td.TICKET)).state)
        for complaint_id in work.complaint_ids:
            loaded = await audit.write.load(unit, complaint_stream(complaint_id), cd.COMPLAINT)
            states.append(loaded.state)
        return states

    states = await audit.write.transact(open_states)
    found = overdue(states, today)
    if everyone:
        return found
    # A batch holds items of many places: keep only the items this agency is part of.
    return [
        o
        for o in found
        if o.kind != "investigation" or city_of(o.waiting_on) == city or _involves(o, city, states)
    ]


def _involves(item: Overdue, city: str, states: Sequence[object]) -> bool:
    batch_id, _, settlement_id = item.item_id.partition("/")
    for s in states:
        if isinstance(s, inv.BatchState) and s.batch_id == batch_id:
            found = s.items.get(settlement_id)
            return found is not None and city in {
                city_of(found.item.visit_region),
                city_of(found.item.insured_region),
            }
    return False
