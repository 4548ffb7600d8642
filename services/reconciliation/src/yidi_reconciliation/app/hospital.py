"""Hospital reconciliation handlers: totals (3201), detail files (9101 upload, 3202 compare,
9102 download). Each outcome is published as a hospital fact, appended first in its transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.kernel import Clock, Conflict, DomainError, NotFound, business_date
from yidi_events.store import EventStore, NewEvent
from yidi_reconciliation.adapters import wire
from yidi_reconciliation.adapters.records import records_in_scope, totals_in_scope
from yidi_reconciliation.adapters.tables import detail_files
from yidi_reconciliation.domain.hospital_detail import (
    DetailComparison,
    HospitalRow,
    compare_details,
    detail_reconciled,
)
from yidi_reconciliation.domain.hospital_totals import (
    StatementScope,
    TotalsClaim,
    TotalsComparison,
    compare_claim,
    totals_reconciled,
)

UPLOAD = "upload"
RESULT = "result"


@dataclass(frozen=True)
class StoredFile:
    file_query_no: str
    filename: str
    download_until: datetime
    content: bytes


@dataclass(frozen=True)
class DetailOutcomeFile:
    file: StoredFile
    comparison: DetailComparison


@dataclass
class Hospitals:
    store: EventStore
    clock: Clock
    limits: wire.DetailFileLimits = field(default_factory=wire.DetailFileLimits)
    file_lifetime: timedelta = timedelta(days=7)

    def _stream(self, institution_code: str) -> str:
        # One stream per check: hospitals' checks never contend, and each is a fact of its own.
        return f"reconciliation-hospital:{institution_code}:{uuid.uuid4().hex}"

    async def reconcile_totals(self, conn: AsyncConnection, claim: TotalsClaim) -> TotalsComparison:
        now = self.clock.now()
        # From the daily totals, not the records: one row per day of the period, whatever the
        # hospital's volume (the records are read only for 3202, which needs each of them).
        result = compare_claim(claim, await totals_in_scope(conn, claim.scope))
        fact = totals_reconciled(claim, result, now)
        stream = self._stream(claim.scope.institution_code)
        await self.store.append(conn, stream, 0, [NewEvent(fact, business_date(now))])
        return result

    async def upload(
        self, conn: AsyncConnection, institution_code: str, filename: str, content: bytes
    ) -> StoredFile:
        if len(content) > self.limits.max_uncompressed_bytes:
            raise DomainError(
                "reconciliation.file_too_large",
                f"The upload is larger than {self.limits.max_uncompressed_bytes} bytes.",
                field="in",
            )
        return await self._keep(conn, institution_code, UPLOAD, filename, content)

    async def reconcile_details(
        self,
        conn: AsyncConnection,
        scope: StatementScope,
        file_query_no: str | None,
        inline_rows: tuple[HospitalRow, ...] | None,
    ) -> DetailOutcomeFile:
        now = self.clock.now()
        if inline_rows is not None:
            rows = inline_rows
        else:
            assert file_query_no is not None
            uploaded = await self._find(conn, scope.institution_code, file_query_no, UPLOAD)
            parsed = wire.parse_detail_file(uploaded.content, self.limits)
            if not parsed.ok:
                raise wire.detail_invalid(parsed.errors)
            rows = parsed.rows
        comparison = compare_details(scope, rows, await records_in_scope(conn, scope))
        fact = detail_reconciled(scope, comparison, now)
        stream = self._stream(scope.institution_code)
        await self.store.append(conn, stream, 0, [NewEvent(fact, business_date(now))])
        name = f"stmt_detail_{scope.institution_code}_{scope.start_date:%Y%m%d}.zip"
        result = await self._keep(
            conn,
            scope.institution_code,
            RESULT,
            name,
            wire.build_result_file(comparison.lines),
        )
        return DetailOutcomeFile(result, comparison)

    async def download(
        self, conn: AsyncConnection, institution_code: str, file_query_no: str
    ) -> StoredFile:
        stored = await self._find(conn, institution_code, file_query_no, None)
        if stored.download_until < self.clock.now():
            raise Conflict(
                "reconciliation.file_expired",
                f"File {file_query_no} could be downloaded until {stored.download_until}.",
                field="file_qury_no",
            )
        return stored

    async def _keep(
        self, conn: AsyncConnection, institution_code: str, kind: str, name: str, content: bytes
    ) -> StoredFile:
        now = self.clock.now()
        stored = StoredFile(uuid.uuid4().hex, name, now + self.file_lifetime, content)
        await conn.execute(
            detail_files.insert().values(
                file_query_no=stored.file_query_no,
                institution_code=institution_code,
                kind=kind,
                filename=name,
                content=content,
                created_at=now,
                download_until=stored.download_until,
            )
        )
        return stored

    async def _find(
        self, conn: AsyncConnection, institution_code: str, file_query_no: str, kind: str | None
    ) -> StoredFile:
        query = sa.select(detail_files).where(
            detail_files.c.file_query_no == file_query_no,
            # Another hospital's file is as unknown to this one as a file never uploaded.
            detail_files.c.institution_code == institution_code,
        )
        if kind is not None:
            query = query.where(detail_files.c.kind == kind)
        row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(
                "reconciliation.file_unknown",
                f"No {kind or ''} file {file_query_no} of institution {institution_code}.".replace(
                    "No  ", "No "
                ),
                field="file_qury_no",
            )
        return StoredFile(row.file_query_no, row.filename, row.download_until, row.content)
