"""clearing_400_s: a month cleared between 400 agencies, statement through to net positions.

Setup (not timed): a fresh clearing database is filled straight from SQL with what its consumers
would have written for March 2026: `settlement_inputs` (confirmed at the day closes) and
`day_records` (every recorded settlement; a few without a close are held), plus clawbacks in
`deduction_inputs`. Volumes follow a gravity model: agencies of Zipf-like sizes, a pair's volume
proportional to the product of their sizes and five times higher inside a province, pairs
expected to have under one settlement drawn at random (seeded). Every line's confirmation by both
agencies is appended to the period's stream as the `LineConfirmed` facts the confirm command makes
(agencies confirm over days; no one waits on all of them at once).

Timed, through clearing's own handlers (`PeriodHandlers`, one transaction each):
`generate` (inputs -> statement, appended and projected), the two approvals, and `net`
(obligations -> net positions and journal entries). clearing_400_s = generate + approvals + net.
Checked: the lines sum to the inputs (SQL), the held count, positions sum to zero and the
receivables equal the confirmed lines.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_clearing import bootstrap
from yidi_clearing.adapters.rows import PostgresPeriodRows
from yidi_clearing.app.periods import PeriodHandlers, stream_of
from yidi_clearing.domain.actors import Actor
from yidi_clearing.domain.events import LineConfirmed, StatementLine
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.application import Unit
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings
from yidi_stack.bench.recon_day import WrongResult

PERIOD = "2026-03"
FIRST_DAY = date(2026, 3, 1)
CLEARED_ON = datetime(2026, 4, 4, 2, 0, tzinfo=UTC)  # 10:00 on the 4th, Shanghai
PROVINCES: tuple[int, ...] = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41)
PROVINCES += (42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65)
HELD_EVERY = 1000  # one settlement in a thousand has no day close yet: held, visibly
CLAWBACKS = 50


def agencies(count: int = 400) -> list[str]:
    """`count` prefecture-level agencies (31 provinces x up to 13 cities)."""
    codes = [f"{p:02d}{c:02d}00" for c in range(1, 14) for p in PROVINCES]
    return sorted(codes[:count])


def pair_volumes(
    codes: list[str], settlements: int, seed: int = 2026
) -> list[tuple[str, str, int]]:
    """(insured agency, visit agency, settlements in the month) for every pair that has any."""
    rng = random.Random(seed)
    sizes = [1 / (k**0.9) for k in range(1, len(codes) + 1)]
    rng.shuffle(sizes)
    weights: list[tuple[str, str, float]] = []
    for i, payer in enumerate(codes):
        for j, receiver in enumerate(codes):
            if i != j:
                same = payer[:2] == receiver[:2]
                weights.append((payer, receiver, sizes[i] * sizes[j] * (5.0 if same else 1.0)))
    scale = settlements / sum(w for *_, w in weights)
    pairs: list[tuple[str, str, int]] = []
    for payer, receiver, weight in weights:
        expected = weight * scale
        n = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        if n:
            pairs.append((payer, receiver, n))
    return pairs


_SETTLEMENTS = """
WITH generated AS (
    SELECT p.i, p.payer, p.receiver, g,
           'S' || p.i || '-' || g AS settlement_id,
           CASE WHEN (g + p.i) % 3 = 0 THEN '390' ELSE '310' END AS itype,
           $1::date + ((g * 7 + p.i) % 31)::int AS day,
           5000 + ((g * 2654435761 + p.i * 40503) % 900000) AS fee
    FROM unnest($2::text[], $3::text[], $4::int[]) WITH ORDINALITY AS p(payer, receiver, n, i),
         generate_series(1, p.n) AS g
), recorded AS (
    INSERT INTO day_records
    SELECT settlement_id, payer, receiver, 'H' || receiver || lpad((g % 40)::text, 6, '0'),
           receiver, '11', itype, day, to_char(day, 'YYYY-MM'), fee, fee * 6 / 10,
           CASE WHEN itype = '310' THEN fee / 10 ELSE 0 END,
           fee - fee * 6 / 10 - CASE WHEN itype = '310' THEN fee / 10 ELSE 0 END, false
    FROM generated
)
INSERT INTO settlement_inputs
SELECT settlement_id, payer, receiver, itype, day, fee * 6 / 10,
       CASE WHEN itype = '310' THEN fee / 10 ELSE 0 END, $5, 'day_closed', 'bench'
FROM generated WHERE (g + i) % $6 <> 0
"""


@dataclass(frozen=True)
class ClearingMonthResult:
    agencies: int
    lines: int
    settlements: int
    held: int
    generate_s: float
    approve_s: float
    net_s: float
    load_s: float

    @property
    def total_s(self) -> float:
        return self.generate_s + self.approve_s + self.net_s


async def load_month(dsn: str, pairs: list[tuple[str, str, int]]) -> float:
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            _SETTLEMENTS,
            FIRST_DAY,
            [p for p, _, _ in pairs],
            [r for _, r, _ in pairs],
            [n for _, _, n in pairs],
            PERIOD,
            HELD_EVERY,
        )
        # Clawbacks on the busiest pairs, small enough never to turn a line negative.
        busiest = sorted(pairs, key=lambda p: -p[2])[:CLAWBACKS]
        await conn.executemany(
            "INSERT INTO deduction_inputs VALUES ($1, 'clawback', $2, $3, '310', $4,"
            " 'clawback of a bench case', $5, $6, '')",
            [
                (f"CB-{k}", payer, receiver, 10_000 + k, f"CASE-{k}", PERIOD)
                for k, (payer, receiver, _) in enumerate(busiest)
            ],
        )
        for table in ("settlement_inputs", "day_records", "deduction_inputs"):
            await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()
    return time.monotonic() - started


async def clearing_month(
    dsn: str, *, agency_count: int = 400, settlements: int = 20_000
) -> ClearingMonthResult:
    codes = agencies(agency_count)
    pairs = pair_volumes(codes, settlements)
    load_s = await load_month(dsn, pairs)
    rules = ClearingSettings()
    settings = ServiceSettings(
        database_url=dsn,
        relay_enabled=False,
        consumers_enabled=False,
        clock="controlled",
        clock_start=CLEARED_ON,
        db_pool_size=2,
    )
    runtime: Runtime = bootstrap.build_runtime(settings)
    periods = PeriodHandlers(runtime.write, rules, PostgresPeriodRows())
    centre = rules.provincial_centre
    first = Actor("approver-1", centre, frozenset({rules.approver_role}))
    second = Actor("approver-2", centre, frozenset({rules.approver_role}))
    try:
        started = time.monotonic()
        state = await periods.generate(PERIOD, first)
        generate_s = time.monotonic() - started

        await _confirm_every_line(runtime, [line.line for line in state.lines.values()])

        started = time.monotonic()
        await periods.approve(PERIOD, first)
        await periods.approve(PERIOD, second)
        approve_s = time.monotonic() - started

        started = time.monotonic()
        state = await periods.net(PERIOD, first)
        net_s = time.monotonic() - started

        async with runtime.engine.connect() as conn:
            expected = await _expected(conn)
    finally:
        await runtime.engine.dispose()

    lines = {line_id: s.line.amount for line_id, s in state.lines.items()}
    if lines != expected.lines:
        wrong = sorted(
            k for k in lines.keys() | expected.lines.keys() if lines.get(k) != expected.lines.get(k)
        )
        raise WrongResult(f"statement lines differ from the inputs on {wrong[:5]}")
    if len(state.held) != expected.held:
        raise WrongResult(f"{len(state.held)} items held, the inputs have {expected.held}")
    positions = state.positions or ()
    if sum(p.net for p in positions) != 0:
        raise WrongResult(f"net positions sum to {sum(p.net for p in positions)} fen, not zero")
    owed = sum(abs(amount) for amount in lines.values())
    if sum(p.receivable for p in positions) != owed:
        raise WrongResult("receivables do not equal the confirmed lines")
    return ClearingMonthResult(
        agencies=len({p.agency for p in positions}),
        lines=len(lines),
        settlements=sum(n for *_, n in pairs),
        held=len(state.held),
        generate_s=generate_s,
        approve_s=approve_s,
        net_s=net_s,
        load_s=load_s,
    )


async def _confirm_every_line(runtime: Runtime, lines: list[StatementLine]) -> None:
    """Both agencies' confirmation of every line, as the facts `confirm_line` appends."""
    today = CLEARED_ON.date()

    async def append(unit: Unit) -> None:
        version = len(await unit.load(stream_of(PERIOD)))
        facts = [
            LineConfirmed(
                period=PERIOD,
                line_id=line.line_id,
                agency=agency,
                confirmed_by=f"clerk-{agency}",
                confirmed_on=today,
            )
            for line in lines
            for agency in (line.payer_agency, line.receiver_agency)
        ]
        await runtime.write.append(unit, stream_of(PERIOD), version, facts, day=today)

    await runtime.write.transact(append)


@dataclass(frozen=True)
class _Expected:
    lines: dict[str, int]
    held: int


async def _expected(conn: AsyncConnection) -> _Expected:
    """What the statement must say, summed by PostgreSQL from the inputs directly."""
    rows = await conn.execute(
        sa.text(
            "SELECT payer || '>' || receiver AS line_id, sum(amount) AS amount FROM ("
            " SELECT insured_agency AS payer, visit_agency AS receiver,"
            "        fund_total + account_paid AS amount FROM settlement_inputs"
            " UNION ALL SELECT insured_agency, visit_agency, -amount FROM deduction_inputs"
            ") x GROUP BY 1"
        )
    )
    held = await conn.scalar(
        sa.text(
            "SELECT count(*) FROM day_records d WHERE NOT EXISTS"
            " (SELECT 1 FROM settlement_inputs s WHERE s.settlement_id = d.settlement_id)"
        )
    )
    return _Expected({r.line_id: int(r.amount) for r in rows}, int(held or 0))
