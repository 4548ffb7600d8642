"""The filing queue an insured-place agency works: filings waiting for a reviewer, and those past
their review deadline (`yidi_queue_*{queue="filings_to_review"}`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.queues import QueueCount
from yidi_filing.adapters.tables import filings
from yidi_filing.domain.filing import FilingStatus, review_overdue

QUEUE = "filings_to_review"


async def filings_to_review(conn: AsyncConnection, today: date) -> Sequence[QueueCount]:
    rows = await conn.execute(
        sa.select(filings.c.insured_region, filings.c.review_due, sa.func.count())
        .where(filings.c.status == FilingStatus.PENDING.value)
        .group_by(filings.c.insured_region, filings.c.review_due)
    )
    waiting: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    for region, due, count in rows.all():
        waiting[region] += count
        if due is not None and review_overdue(due, today):
            overdue[region] += count
    return [QueueCount(QUEUE, r, waiting[r], overdue[r]) for r in sorted(waiting)]
