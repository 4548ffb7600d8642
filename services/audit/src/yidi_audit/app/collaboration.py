"""协查 batches, problem-collaboration tickets and complaints: load, decide, append."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from uuid6 import uuid7

from yidi_audit.adapters.history import pool_candidates
from yidi_audit.adapters.tables import batch_items, complaints, tickets
from yidi_audit.app.context import Audit
from yidi_audit.domain import complaints as cd
from yidi_audit.domain import investigation as inv
from yidi_audit.domain import tickets as td
from yidi_audit.domain.guards import Actor
from yidi_audit.domain.overdue import Overdue, overdue
from yidi_events.contracts.audit import InvestigationResult, TicketKind
from yidi_events.db import in_transaction
from yidi_events.kernel import city_of


def batch_stream(batch_id: str) -> str:
    return f"batch-{batch_id}"


def ticket_stream(ticket_id: str) -> str:
    return f"ticket-{ticket_id}"


def complaint_stream(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


async def _load_batch(
    audit: Audit, conn: AsyncConnection, batch_id: str
) -> tuple[inv.BatchState, int]:
    state, version = await audit.load(conn, batch_stream(batch_id), inv.evolve, inv.BatchState())
    return state, version


async def build_batch(audit: Audit) -> str:
    """At 00:00 on the 26th: roll over what earlier batches left unanswered, then build."""

    async def work(conn: AsyncConnection) -> str:
        today = audit.today()
        settings = audit.settings.investigation
        first, last = inv.batch_window(today, settings)
        batch_id = inv.batch_id_of(today)
        pending = (
            (
                await conn.execute(
                    sa.select(batch_items.c.batch_id)
                    .where(
                        batch_items.c.result.is_(None),
                        batch_items.c.rolled_to.is_(None),
                        batch_items.c.batch_id != batch_id,
                    )
                    .distinct()
                )
            )
            .scalars()
            .all()
        )
        earlier = []
        for old_id in sorted(pending):
            old, old_version = await _load_batch(audit, conn, old_id)
            rolled = inv.decide_roll_over(old, batch_id, today)
            await audit.append(conn, batch_stream(old_id), old_version, rolled)
            for event in rolled:
                old = inv.evolve(old, event)
            earlier.append(old)
        state, version = await _load_batch(audit, conn, batch_id)
        candidates = await pool_candidates(conn, first, last)
        new = inv.decide_build(state, today, candidates, earlier, settings)
        await audit.append(conn, batch_stream(batch_id), version, new)
        return batch_id

    return await in_transaction(audit.runtime.engine, work)


async def answer_item(
    audit: Audit,
    batch_id: str,
    settlement_id: str,
    actor: Actor,
    result: InvestigationResult,
    reason: str,
) -> None:
    async def work(conn: AsyncConnection) -> None:
        state, version = await _load_batch(audit, conn, batch_id)
        new = inv.decide_answer(
            state,
            settlement_id,
            actor,
            result,
            reason,
            audit.today(),
            audit.settings.calendar,
            audit.settings.investigation,
        )
        await audit.append(conn, batch_stream(batch_id), version, new)

    await in_transaction(audit.runtime.engine, work)


async def confirm_item(audit: Audit, batch_id: str, settlement_id: str, actor: Actor) -> None:
    async def work(conn: AsyncConnection) -> None:
        state, version = await _load_batch(audit, conn, batch_id)
        new = inv.decide_confirm(state, settlement_id, actor, audit.today())
        await audit.append(conn, batch_stream(batch_id), version, new)

    await in_transaction(audit.runtime.engine, work)


async def auto_confirm(audit: Audit) -> int:
    """The daily job: answers and ticket replies nobody confirmed in time are confirmed."""
    today = audit.today()
    async with audit.runtime.engine.connect() as conn:
        batch_ids = (
            (
                await conn.execute(
                    sa.select(batch_items.c.batch_id)
                    .where(
                        batch_items.c.result.is_not(None),
                        batch_items.c.confirmed_on.is_(None),
                        batch_items.c.confirm_by < today,
                    )
                    .distinct()
                )
            )
            .scalars()
            .all()
        )
        ticket_ids = (
            (
                await conn.execute(
                    sa.select(tickets.c.ticket_id).where(
                        tickets.c.status == "replied", tickets.c.confirm_by < today
                    )
                )
            )
            .scalars()
            .all()
        )
    done = 0
    for batch_id in batch_ids:

        async def batch_work(conn: AsyncConnection, batch_id: str = batch_id) -> int:
            state, version = await _load_batch(audit, conn, batch_id)
            new = inv.decide_auto_confirm(state, today)
            await audit.append(conn, batch_stream(batch_id), version, new)
            return len(new)

        done += await in_transaction(audit.runtime.engine, batch_work)
    for ticket_id in ticket_ids:

        async def ticket_work(conn: AsyncConnection, ticket_id: str = ticket_id) -> int:
            state, version = await audit.load(
                conn, ticket_stream(ticket_id), td.evolve, td.TicketState()
            )
            new = td.decide_auto_confirm(state, today)
            await audit.append(conn, ticket_stream(ticket_id), version, new)
            return len(new)

        done += await in_transaction(audit.runtime.engine, ticket_work)
    return done


# --- tickets -----------------------------------------------------------------------------------


async def _on_ticket(
    audit: Audit, ticket_id: str, decide: Callable[[td.TicketState], list[td.TicketEvent]]
) -> None:
    async def work(conn: AsyncConnection) -> None:
        state, version = await audit.load(
            conn, ticket_stream(ticket_id), td.evolve, td.TicketState()
        )
        new = decide(state)
        await audit.append(conn, ticket_stream(ticket_id), version, new)

    await in_transaction(audit.runtime.engine, work)


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
    async def work(conn: AsyncConnection) -> None:
        state, version = await audit.load(
            conn, complaint_stream(complaint_id), cd.evolve, cd.ComplaintState()
        )
        new = decide(state)
        await audit.append(conn, complaint_stream(complaint_id), version, new)

    await in_transaction(audit.runtime.engine, work)


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
    async with audit.runtime.engine.connect() as conn:
        mine_items = sa.true() if everyone else sa.literal(city) == sa.any_(batch_items.c.cities)
        batch_ids = (
            (
                await conn.execute(
                    sa.select(batch_items.c.batch_id)
                    .where(batch_items.c.confirmed_on.is_(None), batch_items.c.rolled_to.is_(None))
                    .where(mine_items)
                    .distinct()
                )
            )
            .scalars()
            .all()
        )
        mine_tickets = sa.true() if everyone else sa.literal(city) == sa.any_(tickets.c.cities)
        ticket_ids = (
            (
                await conn.execute(
                    sa.select(tickets.c.ticket_id).where(
                        tickets.c.status != "confirmed", mine_tickets
                    )
                )
            )
            .scalars()
            .all()
        )
        mine_complaints = sa.true() if everyone else complaints.c.city == city
        complaint_ids = (
            (
                await conn.execute(
                    sa.select(complaints.c.complaint_id).where(
                        complaints.c.status != "notified", mine_complaints
                    )
                )
            )
            .scalars()
            .all()
        )
        states: list[inv.BatchState | td.TicketState | cd.ComplaintState] = []
        for batch_id in batch_ids:
            states.append((await _load_batch(audit, conn, batch_id))[0])
        for ticket_id in ticket_ids:
            ticket_state, _ = await audit.load(
                conn, ticket_stream(ticket_id), td.evolve, td.TicketState()
            )
            states.append(ticket_state)
        for complaint_id in complaint_ids:
            complaint_state, _ = await audit.load(
                conn, complaint_stream(complaint_id), cd.evolve, cd.ComplaintState()
            )
            states.append(complaint_state)
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
