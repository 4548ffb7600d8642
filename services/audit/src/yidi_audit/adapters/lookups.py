"""`AuditReads` on PostgreSQL: the read models, read through the unit's connection."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from yidi_audit.adapters import history as stored
from yidi_audit.adapters.tables import batch_items, complaints, suspensions, tickets
from yidi_audit.app.reads import OpenWork
from yidi_audit.domain.events import InvestigationItem
from yidi_audit.domain.facts import Fact, SettledVisit
from yidi_events.application import Unit


async def _ids(unit: Unit, query: Any) -> list[str]:
    return list((await unit.conn.execute(query)).scalars().all())


class PostgresAuditReads:
    async def cases_with_suspensions_due(self, unit: Unit, today: date) -> list[str]:
        return await _ids(
            unit,
            sa.select(suspensions.c.case_id)
            .where(suspensions.c.ended_on.is_(None), suspensions.c.suspended_until < today)
            .distinct(),
        )

    async def batches_with_unanswered_items(self, unit: Unit, building: str) -> list[str]:
        return await _ids(
            unit,
            sa.select(batch_items.c.batch_id)
            .where(
                batch_items.c.result.is_(None),
                batch_items.c.rolled_to.is_(None),
                batch_items.c.batch_id != building,
            )
            .distinct(),
        )

    async def pool_candidates(self, unit: Unit, first: date, last: date) -> list[InvestigationItem]:
        return await stored.pool_candidates(unit.conn, first, last)

    async def batches_with_answers_due(self, unit: Unit, today: date) -> list[str]:
        return await _ids(
            unit,
            sa.select(batch_items.c.batch_id)
            .where(
                batch_items.c.result.is_not(None),
                batch_items.c.confirmed_on.is_(None),
                batch_items.c.confirm_by < today,
            )
            .distinct(),
        )

    async def tickets_with_replies_due(self, unit: Unit, today: date) -> list[str]:
        return await _ids(
            unit,
            sa.select(tickets.c.ticket_id).where(
                tickets.c.status == "replied", tickets.c.confirm_by < today
            ),
        )

    async def open_work(self, unit: Unit, city: str | None) -> OpenWork:
        everyone = city is None
        mine_items = sa.true() if everyone else sa.literal(city) == sa.any_(batch_items.c.cities)
        mine_tickets = sa.true() if everyone else sa.literal(city) == sa.any_(tickets.c.cities)
        mine_complaints = sa.true() if everyone else complaints.c.city == city
        return OpenWork(
            batch_ids=await _ids(
                unit,
                sa.select(batch_items.c.batch_id)
                .where(batch_items.c.confirmed_on.is_(None), batch_items.c.rolled_to.is_(None))
                .where(mine_items)
                .distinct(),
            ),
            ticket_ids=await _ids(
                unit,
                sa.select(tickets.c.ticket_id).where(tickets.c.status != "confirmed", mine_tickets),
            ),
            complaint_ids=await _ids(
                unit,
                sa.select(complaints.c.complaint_id).where(
                    complaints.c.status != "notified", mine_complaints
                ),
            ),
        )

    async def history(self, unit: Unit, person_id: str) -> list[Fact]:
        return await stored.load_history(unit.conn, person_id)

    async def settlement(self, unit: Unit, settlement_id: str) -> tuple[SettledVisit | None, bool]:
        return await stored.settlement_fact(unit.conn, settlement_id)
