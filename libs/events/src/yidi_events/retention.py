"""What a service keeps only for a while, and the scheduled purge of it.

HIS request nonces (a replay is only possible inside the signature window), idempotency records
(a HIS resends a message within minutes or hours, not months) and uploaded files are personal
data or its envelope; they are purged once past `YIDI_RETENTION_DAYS`. Every service's runtime
retains the chassis' nonces and idempotency records; a service adds its own tables (reconciliation
its 9101/9102 files) with `Runtime(retained=[...])`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.store.schema import idempotency, request_nonces


@dataclass(frozen=True)
class Retained:
    """Rows of `table` written more than the retention ago, by `written_at`, are purged.

    `database_clock`: the column is filled by the database (`now()`), so its age is measured
    on the database's clock; otherwise on the service's (which a simulation moves).
    `keep_while`: a column naming a moment until which a row must stay whatever its age (a file
    the hospital may still download)."""

    table: sa.Table
    written_at: str
    database_clock: bool = False
    keep_while: str | None = None

    async def purge(self, conn: AsyncConnection, now: datetime, retention: timedelta) -> int:
        written = self.table.c[self.written_at]
        if self.database_clock:
            expired = written < sa.func.now() - retention
        else:
            expired = written < now - retention
        condition = [expired]
        if self.keep_while is not None:
            condition.append(self.table.c[self.keep_while] < now)
        result = await conn.execute(self.table.delete().where(*condition))
        return int(result.rowcount or 0)


CHASSIS_RETAINED = (
    Retained(request_nonces, "seen_at"),
    Retained(idempotency, "created_at", database_clock=True),
)
