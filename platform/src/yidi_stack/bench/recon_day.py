"""recon_1m_s: one visit city's day of a million settlements, reconciled by every hospital.

Setup (not timed): a fresh reconciliation database is filled straight from SQL
(`INSERT ... SELECT generate_series`) with the rows its settlement consumer would have written:
`settlement_records` and `daily_totals` for one day at Nanjing (320100) over ~200 hospitals, one of
them large (a tenth of the day), insured in a dozen cities, with about 1% cancellations.

Timed, through reconciliation's own handler (`Hospitals`, as `/v1/internal/his` calls it, one
transaction per call):
- 3201: every hospital's totals claim for every (insurance type, clearing category) it has that
  day, the claimed figures taken from `daily_totals`: every one must balance;
- 3202: the large hospital's whole detail file (its rows as it would list them, with a settlement
  left out, an amount altered and one the platform never had), uploaded as 9101 does and compared
  by `reconcile_details`: exactly those three must be found.
"""

from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.kernel import fen_to_yuan
from yidi_events.settings import ServiceSettings
from yidi_reconciliation import bootstrap
from yidi_reconciliation.adapters import detail_file as detail_format
from yidi_reconciliation.adapters.hospital_books import PostgresHospitalBooks
from yidi_reconciliation.app.hospital import Hospitals
from yidi_reconciliation.domain.hospital_detail import DetailOutcome
from yidi_reconciliation.domain.hospital_totals import (
    StatementScope,
    TotalsClaim,
)

DAY = date(2026, 3, 10)
VISIT_REGION = "320100"  # the visit city; its agency clears every settlement of its hospitals
INSURED_REGIONS = (
    "320200",
    "320300",
    "320400",
    "320500",
    "320600",
    "320700",
    "320800",
    "320900",
    "321000",
    "321100",
    "340100",
    "310100",
)
HOSPITALS = 200
LARGE = "H32010000001"


class WrongResult(AssertionError):
    """A reconciliation gave a wrong answer: the bench fails on this, never on a time."""


@dataclass(frozen=True)
class ReconDayResult:
    settlements: int
    hospitals: int
    totals_checks: int
    totals_s: float
    detail_rows: int
    detail_s: float
    load_s: float

    @property
    def total_s(self) -> float:
        return self.totals_s + self.detail_s


def hospital_sizes(settlements: int, hospitals: int = HOSPITALS) -> dict[str, int]:
    """A tenth of the day at the large hospital, the rest spread Zipf-like (a few big general
    hospitals, a long tail of small ones), every hospital with at least one settlement."""
    large = settlements // 10
    rest = settlements - large
    weights = [1 / (k**0.8) for k in range(1, hospitals)]
    scale = rest / sum(weights)
    sizes = {LARGE: large}
    for k, weight in enumerate(weights, start=2):
        sizes[f"H3201{k:07d}"] = max(1, int(weight * scale))
    # Rounding down leaves a few; the second-largest takes them so the day has exactly N.
    sizes["H32010000002"] += settlements - sum(sizes.values())
    return sizes


# One row per generated settlement; every 100th is the cancellation of the one before it.
# Amounts are integer fen from a cheap deterministic hash of the row number.
_GENERATE = """
INSERT INTO settlement_records (
    settlement_id, visit_id, person_id, institution_code, clearing_agency, insured_region,
    visit_region, insurance_type, clearing_category, business_date, total_fee, fund_total,
    account_paid, cash_paid, is_refund, original_settlement_id, fund_payments, voided)
SELECT
    x.code || '-' || lpad(x.g::text, 7, '0'),
    'V' || x.code || '-' || lpad((CASE WHEN x.refund THEN x.g - 1 ELSE x.g END)::text, 7, '0'),
    'P' || lpad(((x.g * 7919 + x.h * 104729) % 3000000)::text, 8, '0'),
    x.code, $1, x.insured, $1, x.itype, x.category, $2,
    x.sign * x.fee, x.sign * x.fund, x.sign * x.account, x.sign * (x.fee - x.fund - x.account),
    x.refund,
    CASE WHEN x.refund THEN x.code || '-' || lpad((x.g - 1)::text, 7, '0') END,
    jsonb_build_array(jsonb_build_object('fund_code', '310100', 'amount', x.sign * x.fund)),
    false
FROM (
    SELECT s.code, s.h, s.g, s.refund, s.sign, s.fee, s.itype, s.category, s.insured,
           s.fee * 6 / 10 AS fund,
           CASE WHEN s.itype = '310' THEN s.fee / 10 ELSE 0 END AS account
    FROM (
        SELECT h.code, h.h, g, (g % 100 = 0) AS refund,
               CASE WHEN g % 100 = 0 THEN -1 ELSE 1 END AS sign,
               -- a cancellation carries the figures of the settlement it cancels (row g - 1)
               1000 + (((g - (g % 100 = 0)::int) * 2654435761 + h.h * 40503) % 800000) AS fee,
               CASE WHEN (g - (g % 100 = 0)::int) % 3 = 0 THEN '390' ELSE '310' END AS itype,
               (ARRAY['11', '11', '11', '41', '21'])[1 + (g - (g % 100 = 0)::int) % 5]
                   AS category,
               ($3::text[])[1 + ((g - (g % 100 = 0)::int) * 31 + h.h) % cardinality($3::text[])]
                   AS insured
        FROM unnest($4::text[], $5::int[]) WITH ORDINALITY AS h(code, n, h),
             generate_series(1, h.n) AS g
    ) s
) x
"""

_TOTALS = """
INSERT INTO daily_totals
SELECT institution_code, clearing_agency, insurance_type, clearing_category, business_date,
       count(*), sum(total_fee), sum(fund_total), sum(account_paid), sum(cash_paid)
FROM settlement_records
GROUP BY institution_code, clearing_agency, insurance_type, clearing_category, business_date
"""


async def load_day(dsn: str, sizes: dict[str, int]) -> float:
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE settlement_records, daily_totals")
        codes = list(sizes)
        await conn.execute(
            _GENERATE,
            VISIT_REGION,
            DAY,
            list(INSURED_REGIONS),
            codes,
            [sizes[c] for c in codes],
        )
        await conn.execute(_TOTALS)
        await conn.execute("ANALYZE settlement_records")
        await conn.execute("ANALYZE daily_totals")
    finally:
        await conn.close()
    return time.monotonic() - started


async def _claims(conn: AsyncConnection) -> list[TotalsClaim]:
    rows = await conn.execute(
        sa.text(
            "SELECT * FROM daily_totals WHERE business_date = :day"
            " ORDER BY institution_code, insurance_type, clearing_category"
        ),
        {"day": DAY},
    )
    return [
        TotalsClaim(
            scope=StatementScope(
                institution_code=r.institution_code,
                clearing_agency=r.clearing_agency,
                start_date=DAY,
                end_date=DAY,
                insurance_type=r.insurance_type,
                clearing_category=r.clearing_category,
            ),
            count=int(r._mapping["count"]),
            total_fee=int(r.total_fee),
            fund_total=int(r.fund_total),
            account_paid=int(r.account_paid),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Planted:
    left_out: str
    altered: str
    unknown: str


async def detail_file(dsn: str) -> tuple[bytes, int, Planted]:
    """The large hospital's day as its HIS would list it, with three planted discrepancies."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT settlement_id, visit_id, person_id, total_fee, fund_total, account_paid,"
            " is_refund FROM settlement_records"
            " WHERE institution_code = $1 AND business_date = $2 ORDER BY settlement_id",
            LARGE,
            DAY,
        )
    finally:
        await conn.close()
    planted = Planted(
        left_out=rows[10]["settlement_id"],
        altered=rows[20]["settlement_id"],
        unknown=f"{LARGE}-never-settled",
    )
    text = io.StringIO()
    text.write("\t".join(detail_format.UPLOAD_COLUMNS) + "\n")
    listed = 0
    for row in rows:
        sid = row["settlement_id"]
        if sid == planted.left_out:
            continue
        fee = row["total_fee"] + (100 if sid == planted.altered else 0)
        text.write(_line(sid, row["visit_id"], row["person_id"], fee, row, row["is_refund"]))
        listed += 1
    text.write(_line(planted.unknown, "V-unknown", "P-unknown", 12345, None, False))
    listed += 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"stmt_detail_{LARGE}_{DAY:%Y%m%d}.txt", text.getvalue().encode())
    return buffer.getvalue(), listed, planted


def _line(sid: str, visit: str, person: str, fee: int, row: Any, refund: bool) -> str:
    fund = row["fund_total"] if row is not None else 0
    account = row["account_paid"] if row is not None else 0
    cells = (sid, visit, person, fen_to_yuan(fee), fen_to_yuan(fund), fen_to_yuan(account))
    return "\t".join((*cells, "1" if refund else "0")) + "\n"


async def recon_day(dsn: str, *, settlements: int = 1_000_000) -> ReconDayResult:
    sizes = hospital_sizes(settlements)
    load_s = await load_day(dsn, sizes)
    runtime = bootstrap.build_runtime(
        ServiceSettings(
            database_url=dsn, relay_enabled=False, consumers_enabled=False, db_pool_size=2
        )
    )
    hospitals = Hospitals(runtime.write, PostgresHospitalBooks())
    engine = runtime.engine
    try:
        async with engine.connect() as conn:
            claims = await _claims(conn)
        started = time.monotonic()
        for claim in claims:
            result = await hospitals.reconcile_totals(claim)
            if not result.balanced:
                raise WrongResult(f"3201 of {claim.scope} did not balance: {result.description}")
        totals_s = time.monotonic() - started
        if sum(c.count for c in claims) != settlements:
            raise WrongResult(f"the day's totals count {sum(c.count for c in claims)} settlements")

        content, listed, planted = await detail_file(dsn)
        scope = StatementScope(
            institution_code=LARGE, clearing_agency=VISIT_REGION, start_date=DAY, end_date=DAY
        )
        uploaded = await hospitals.upload(LARGE, "detail.zip", content)
        started = time.monotonic()
        outcome = await hospitals.reconcile_details(scope, uploaded.file_query_no, None)
        detail_s = time.monotonic() - started
    finally:
        await engine.dispose()
    _check_detail(outcome.comparison.lines, planted, sizes[LARGE])
    return ReconDayResult(
        settlements=settlements,
        hospitals=len(sizes),
        totals_checks=len(claims),
        totals_s=totals_s,
        detail_rows=listed,
        detail_s=detail_s,
        load_s=load_s,
    )


def _check_detail(lines: Any, planted: Planted, platform_rows: int) -> None:
    found = {line.settlement_id: line.outcome for line in lines if line.outcome != "matched"}
    expected = {
        planted.left_out: DetailOutcome.MISSING_AT_HOSPITAL,
        planted.altered: DetailOutcome.AMOUNT_MISMATCH,
        planted.unknown: DetailOutcome.MISSING_ON_PLATFORM,
    }
    if found != expected:
        raise WrongResult(f"3202 found {found}, expected exactly {expected}")
    matched = sum(1 for line in lines if line.outcome is DetailOutcome.MATCHED)
    if matched != platform_rows - 2:
        raise WrongResult(f"3202 matched {matched} of the {platform_rows - 2} listed unchanged")
