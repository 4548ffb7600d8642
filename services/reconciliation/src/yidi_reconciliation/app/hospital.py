"""Hospital reconciliation handlers: totals (3201), detail files (9101 upload, 3202 compare,
9102 download). Each outcome is published as a hospital fact, appended first in its transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from yidi_events.application import Unit, WritePath
from yidi_events.kernel import Conflict, DomainError, NotFound
from yidi_reconciliation.adapters import detail_file
from yidi_reconciliation.domain.hospital_detail import (
    DetailComparison,
    HospitalRow,
    ListedSettlement,
    StoredFile,
    compare_listed,
    detail_reconciled,
)
from yidi_reconciliation.domain.hospital_totals import (
    StatementScope,
    TotalsClaim,
    TotalsComparison,
    compare_claim,
    totals_reconciled,
)
from yidi_reconciliation.domain.records import Totals

UPLOAD = "upload"
RESULT = "result"


class HospitalBooks(Protocol):
    """What the hospital checks read and keep besides their facts (adapters/hospital_books.py)."""

    async def totals(self, unit: Unit, scope: StatementScope) -> Totals: ...

    async def listed(self, unit: Unit, scope: StatementScope) -> list[ListedSettlement]: ...

    async def keep(
        self,
        unit: Unit,
        institution_code: str,
        kind: str,
        stored: StoredFile,
        created_at: datetime,
    ) -> None: ...

    async def find(
        self, unit: Unit, institution_code: str, file_query_no: str, kind: str | None
    ) -> StoredFile | None: ...


@dataclass(frozen=True)
class DetailOutcomeFile:
    file: StoredFile
    comparison: DetailComparison


@dataclass
class Hospitals:
    write: WritePath
    books: HospitalBooks
    limits: detail_file.DetailFileLimits = field(default_factory=detail_file.DetailFileLimits)
    file_lifetime: timedelta = timedelta(days=7)

    def _stream(self, institution_code: str) -> str:
        # One stream per check: hospitals' checks never contend, and each is a fact of its own.
        return f"reconciliation-hospital:{institution_code}:{uuid.uuid4().hex}"

    async def reconcile_totals(self, claim: TotalsClaim) -> TotalsComparison:
        async def work(unit: Unit) -> TotalsComparison:
            now = self.write.clock.now()
            # From the daily totals, not the records: one row per day of the period, whatever
            # the hospital's volume (the records are read only for 3202, which needs each).
            result = compare_claim(claim, await self.books.totals(unit, claim.scope))
            fact = totals_reconciled(claim, result, now)
            await self.write.append(unit, self._stream(claim.scope.institution_code), 0, [fact])
            return result

        return await self.write.transact(work)

    async def upload(self, institution_code: str, filename: str, content: bytes) -> StoredFile:
        if len(content) > self.limits.max_uncompressed_bytes:
            raise DomainError(
                "reconciliation.file_too_large",
                f"The upload is larger than {self.limits.max_uncompressed_bytes} bytes.",
                field="content",
                values={"limit": self.limits.max_uncompressed_bytes},
            )
        return await self.write.transact(
            lambda unit: self._keep(unit, institution_code, UPLOAD, filename, content)
        )

    async def reconcile_details(
        self,
        scope: StatementScope,
        file_query_no: str | None,
        inline_rows: tuple[HospitalRow, ...] | None,
    ) -> DetailOutcomeFile:
        async def work(unit: Unit) -> DetailOutcomeFile:
            now = self.write.clock.now()
            if inline_rows is not None:
                rows = inline_rows
            else:
                assert file_query_no is not None
                uploaded = await self._find(unit, scope.institution_code, file_query_no, UPLOAD)
                parsed = detail_file.parse_detail_file(uploaded.content, self.limits)
                if not parsed.ok:
                    raise detail_file.detail_invalid(parsed.errors)
                rows = parsed.rows
            comparison = compare_listed(scope, rows, await self.books.listed(unit, scope))
            fact = detail_reconciled(scope, comparison, now)
            await self.write.append(unit, self._stream(scope.institution_code), 0, [fact])
            name = f"stmt_detail_{scope.institution_code}_{scope.start_date:%Y%m%d}.zip"
            result = await self._keep(
                unit,
                scope.institution_code,
                RESULT,
                name,
                detail_file.build_result_file(comparison.lines),
            )
            return DetailOutcomeFile(result, comparison)

        return await self.write.transact(work)

    async def download(self, institution_code: str, file_query_no: str) -> StoredFile:
        async def fetch(unit: Unit) -> StoredFile:
            stored = await self._find(unit, institution_code, file_query_no, None)
            if stored.download_until < self.write.clock.now():
                raise Conflict(
                    "reconciliation.file_expired",
                    f"File {file_query_no} could be downloaded until {stored.download_until}.",
                    field="file_query_no",
                    values={"until": stored.download_until.isoformat(timespec="seconds")},
                )
            return stored

        return await self.write.transact(fetch)

    async def _keep(
        self, unit: Unit, institution_code: str, kind: str, name: str, content: bytes
    ) -> StoredFile:
        now = self.write.clock.now()
        # 30 characters: the national interface gives the file query number 30, and HIS
        # clients size their column so.
        stored = StoredFile(uuid.uuid4().hex[:30], name, now + self.file_lifetime, content)
        await self.books.keep(unit, institution_code, kind, stored, now)
        return stored

    async def _find(
        self, unit: Unit, institution_code: str, file_query_no: str, kind: str | None
    ) -> StoredFile:
        stored = await self.books.find(unit, institution_code, file_query_no, kind)
        if stored is None:
            raise NotFound(
                "reconciliation.file_unknown",
                f"No {kind or ''} file {file_query_no} of institution {institution_code}.".replace(
                    "No  ", "No "
                ),
                field="file_query_no",
            )
        return stored
