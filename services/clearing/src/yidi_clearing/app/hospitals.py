"""Handlers of hospital clearing applications (3203 apply, 3204 withdraw, status changes).

One stream per (institution, clearing agency, month, clearing category): its version makes two
concurrent applications for the same month and category yield one. The application id is minted
from the stream and its version, so it is stable across retries of the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_clearing.adapters import queries
from yidi_clearing.app.projection import OWN
from yidi_clearing.domain import hospital_clearing as hc
from yidi_events.db import in_transaction
from yidi_events.decider import fold
from yidi_events.kernel import NotFound, business_date
from yidi_events.service import Runtime
from yidi_events.store import NewEvent


def stream_of(key: hc.ApplicationKey) -> str:
    return (
        f"hospital-clearing:{key.institution_code}:{key.clearing_agency}:"
        f"{key.month}:{key.clearing_category}"
    )


def application_id_of(key: hc.ApplicationKey, version: int) -> str:
    # e.g. "H32010000001-320100-202603-21-1": readable by a clerk, unique per stream version.
    month = key.month.replace("-", "")
    return (
        f"{key.institution_code}-{key.clearing_agency}-{month}-{key.clearing_category}-"
        f"{version + 1}"
    )


@dataclass
class HospitalHandlers:
    runtime: Runtime

    def today(self) -> date:
        return business_date(self.runtime.clock.now())

    async def _execute(
        self,
        conn: AsyncConnection,
        stream_id: str,
        decide: Callable[[hc.HospitalClearing, int, date], list[Any]],
    ) -> list[Any]:
        stream = await self.runtime.store.load(conn, stream_id)
        state = fold(hc.evolve, hc.HospitalClearing(), [e.payload for e in stream])
        today = self.today()
        new = decide(state, len(stream), today)
        envelopes = await self.runtime.store.append(
            conn, stream_id, len(stream), [NewEvent(p, today) for p in new]
        )
        for envelope in envelopes:
            await OWN.apply(conn, envelope)
        return new

    async def apply(self, key: hc.ApplicationKey, totals: hc.ClearingTotals) -> str:
        async def work(conn: AsyncConnection) -> str:
            reconciled = await queries.reconciled_totals(
                conn,
                institution_code=key.institution_code,
                clearing_agency=key.clearing_agency,
                month=key.month,
                clearing_category=key.clearing_category,
            )
            new = await self._execute(
                conn,
                stream_of(key),
                lambda s, v, t: hc.decide_apply(
                    s,
                    application_id=application_id_of(key, v),
                    key=key,
                    totals=totals,
                    reconciled=reconciled,
                    today=t,
                ),
            )
            return str(new[0].clearing_application_id)

        return await in_transaction(self.runtime.engine, work)

    async def withdraw(self, institution_code: str, application_id: str) -> None:
        async def work(conn: AsyncConnection) -> None:
            row = await self._own(conn, application_id, institution_code)
            await self._execute(
                conn,
                row["stream_id"],
                lambda s, _v, t: hc.decide_withdraw(s, application_id, t),
            )

        await in_transaction(self.runtime.engine, work)

    async def change_status(
        self,
        application_id: str,
        *,
        to_status: str,
        reason: str,
        changed_by: str,
        allowed_agency: Callable[[str], None],
    ) -> dict[str, Any]:
        async def work(conn: AsyncConnection) -> dict[str, Any]:
            row = await self._own(conn, application_id, None)
            allowed_agency(row["clearing_agency"])
            await self._execute(
                conn,
                row["stream_id"],
                lambda s, _v, t: hc.decide_change_status(
                    s, application_id, to_status, changed_by, reason, t
                ),
            )
            return await self._own(conn, application_id, None)

        return await in_transaction(self.runtime.engine, work)

    async def _own(
        self, conn: AsyncConnection, application_id: str, institution_code: str | None
    ) -> dict[str, Any]:
        row = await queries.application(conn, application_id)
        if row is None or institution_code not in (None, row["institution_code"]):
            raise NotFound(
                "clearing.application_unknown",
                f"no clearing application {application_id}",
                field="clearing_application_id",
            )
        return row
