"""The hospital handlers' `HospitalBooks` on PostgreSQL: the settlement records and daily totals
the consumer keeps, and the `detail_files` table of uploads and result files."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from yidi_events.application import Unit
from yidi_reconciliation.adapters.records import listed_in_scope, totals_in_scope
from yidi_reconciliation.adapters.tables import detail_files
from yidi_reconciliation.domain.hospital_detail import ListedSettlement, StoredFile
from yidi_reconciliation.domain.hospital_totals import StatementScope
from yidi_reconciliation.domain.records import Totals


class PostgresHospitalBooks:
    async def totals(self, unit: Unit, scope: StatementScope) -> Totals:
        return await totals_in_scope(unit.conn, scope)

    async def listed(self, unit: Unit, scope: StatementScope) -> list[ListedSettlement]:
        return await listed_in_scope(unit.conn, scope)

    async def keep(
        self,
        unit: Unit,
        institution_code: str,
        kind: str,
        stored: StoredFile,
        created_at: datetime,
    ) -> None:
        await unit.conn.execute(
            detail_files.insert().values(
                file_query_no=stored.file_query_no,
                institution_code=institution_code,
                kind=kind,
                filename=stored.filename,
                content=stored.content,
                created_at=created_at,
                download_until=stored.download_until,
            )
        )

    async def find(
        self, unit: Unit, institution_code: str, file_query_no: str, kind: str | None
    ) -> StoredFile | None:
        query = sa.select(detail_files).where(
            detail_files.c.file_query_no == file_query_no,
            # Another hospital's file is as unknown to this one as a file never uploaded.
            detail_files.c.institution_code == institution_code,
        )
        if kind is not None:
            query = query.where(detail_files.c.kind == kind)
        row = (await unit.conn.execute(query)).first()
        if row is None:
            return None
        return StoredFile(row.file_query_no, row.filename, row.download_until, row.content)
