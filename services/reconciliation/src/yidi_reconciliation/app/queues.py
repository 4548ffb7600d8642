"""The reconciliation queue an agency works: issued days it has not confirmed yet, and those of
them already past the month's close deadline (`yidi_queue_*{queue="days_to_confirm"}`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.queues import Measure, QueueCount
from yidi_reconciliation.adapters.tables import day_statements
from yidi_reconciliation.domain.month_close import is_late
from yidi_reconciliation.domain.records import ReconciliationSettings

QUEUE = "days_to_confirm"


def days_to_confirm(settings: ReconciliationSettings) -> Measure:
    async def measure(conn: AsyncConnection, today: date) -> Sequence[QueueCount]:
        rows = await conn.execute(
            sa.select(
                day_statements.c.business_date,
                day_statements.c.insured_region,
                day_statements.c.visit_region,
                day_statements.c.insured_confirmed,
                day_statements.c.visit_confirmed,
            ).where(day_statements.c.issued.is_(True), day_statements.c.closed.is_(False))
        )
        waiting: Counter[str] = Counter()
        overdue: Counter[str] = Counter()
        for day, insured, visit, insured_done, visit_done in rows.all():
            late = is_late(day, today, settings)
            # Both agencies of the pair confirm; each one's queue holds the days it has not.
            for region, done in ((insured, insured_done), (visit, visit_done)):
                if not done:
                    waiting[region] += 1
                    overdue[region] += late
        return [
            QueueCount(QUEUE, region, waiting[region], overdue[region])
            for region in sorted(waiting)
        ]

    return measure
