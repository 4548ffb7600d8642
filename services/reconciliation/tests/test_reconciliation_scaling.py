"""What keeps reconciliation's hot paths constant-time: 3201 reads `daily_totals` instead of the
records, and recording a settlement decides on the day's `day_state` row instead of a fold of the
day. Both rows are projections; these tests hold them to what the records and the streams say."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from reconciliation_testkit import DAY, NANJING, SUQIAN, SUZHOU, Service
from reconciliation_testkit import scope as command_scope
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.decider import fold
from yidi_events.envelope import Envelope
from yidi_events.kernel import SHANGHAI
from yidi_events.runtime.projection import rebuild_from_store
from yidi_reconciliation.adapters.day_views import day_head
from yidi_reconciliation.adapters.records import listed_in_scope, records_in_scope, totals_in_scope
from yidi_reconciliation.domain.day_statement import DayHead, DayId, DayStatement, evolve
from yidi_reconciliation.domain.hospital_detail import ListedSettlement
from yidi_reconciliation.domain.hospital_totals import StatementScope
from yidi_reconciliation.domain.records import Totals

NEXT = DAY + timedelta(days=1)
PAIR = f"/v1/statements/{SUZHOU}/{NANJING}/{DAY.isoformat()}"


async def a_day_with_every_correction(service: Service) -> None:
    """Settlements of two schemes over two days with each way a record is undone: a same-day
    cancellation, a 2601 reversal of a settlement, a 2601 of a settlement already cancelled, and
    a cancellation on the next day of a settlement of the first."""
    s = service.settlement
    await s.settle("S1", total_fee=10000, fund_total=7000, account_paid=1000)
    await s.settle("S2", total_fee=20000, fund_total=14000, account_paid=2000)
    await s.cancel("C2", "S2")
    await s.settle("Q1", insured_region=SUQIAN, insurance_type="390", total_fee=5000)
    await s.settle("S6", total_fee=9900, fund_total=5000, account_paid=0)
    await s.reverse("S6")
    await s.settle("S7", total_fee=8800, fund_total=4000, account_paid=300)
    await s.cancel("S7-C", "S7")
    await s.reverse("S7")
    await s.settle("S8", total_fee=30000, fund_total=21000, account_paid=3000)
    await s.settle("S9", total_fee=4000, fund_total=2000, account_paid=400, day=NEXT)
    await s.cancel("C8", "S8", day=NEXT)
    await service.deliver()


def scopes() -> list[StatementScope]:
    return [
        StatementScope(
            institution_code="H32010000001",
            clearing_agency=NANJING,
            start_date=start,
            end_date=end,
            include_refunds=refunds,
            insurance_type=insurance_type,
            clearing_category="11",
        )
        for start, end in (
            (DAY, DAY),
            (NEXT, NEXT),
            (DAY, NEXT),
            (NEXT + timedelta(1), NEXT + timedelta(1)),
        )
        for refunds in (True, False)
        for insurance_type in ("310", "390")
    ]


async def test_3201_totals_from_daily_totals_equal_the_sum_of_the_live_records(
    service: Service,
) -> None:
    await a_day_with_every_correction(service)
    async with service.runtime.engine.connect() as conn:
        for scope in scopes():
            summed = Totals.sum(scope.select(await records_in_scope(conn, scope)))
            assert await totals_in_scope(conn, scope) == summed, scope
        employee_day = scopes()[0]
        first_day = await totals_in_scope(conn, employee_day)
        next_day_without_refunds = await totals_in_scope(
            conn,
            StatementScope(
                institution_code="H32010000001",
                clearing_agency=NANJING,
                start_date=NEXT,
                end_date=NEXT,
                include_refunds=False,
                insurance_type="310",
                clearing_category="11",
            ),
        )
    # S1 + S2 + C2 + S8: S6 and S7 (with its cancellation) were reversed by 2601, and S8's
    # cancellation counts on the day it happened.
    assert first_day == Totals(4, 40000, 28000, 4000, 8000)
    assert next_day_without_refunds == Totals(1, 4000, 2000, 400, 1600)

    # And through 3201 itself, over both days: S1 + S2 + C2 + S8 + S9 + C8.
    answer = await service.his(
        "hospital.reconcile_totals",
        {
            "scope": command_scope(DAY, NEXT),
            "count": 6,
            "total_fee": 14_000,
            "fund_total": 9_000,
            "account_paid": 1_400,
        },
    )
    assert answer.json()["result"]["balanced"] is True, answer.text


async def test_3202_reads_the_live_records_of_its_scope_with_only_what_it_compares(
    service: Service,
) -> None:
    await a_day_with_every_correction(service)
    whole_day = StatementScope(
        institution_code="H32010000001", clearing_agency=NANJING, start_date=DAY, end_date=DAY
    )
    async with service.runtime.engine.connect() as conn:
        for scope in [*scopes(), whole_day]:
            listed = await listed_in_scope(conn, scope)
            records = await records_in_scope(conn, scope)
            assert sorted(listed) == sorted(ListedSettlement.of(r) for r in records), scope
        listed = await listed_in_scope(conn, whole_day)
    # Every scheme that day; S6 and S7 with its cancellation were undone by 2601, and C8 and S9
    # are the next day's.
    assert sorted(r.settlement_id for r in listed) == ["C2", "Q1", "S1", "S2", "S8"]
    c2 = next(r for r in listed if r.settlement_id == "C2")
    assert (c2.is_refund, c2.total_fee, c2.business_date) == (True, -20000, DAY)


async def heads(service: Service, days: list[DayId]) -> dict[DayId, tuple[DayHead, int]]:
    """Each day's head as kept in `day_state` and as the fold of its stream gives it."""
    result = {}
    async with service.runtime.engine.connect() as conn:
        for day in days:
            kept = await day_head(conn, day)
            stream = await service.runtime.store.load(conn, day.stream_id)
            folded = fold(evolve, DayStatement(), [e.payload for e in stream])
            assert kept == (DayHead.of(folded), len(stream)), day
            result[day] = kept
    return result


async def test_the_day_state_row_follows_the_stream_through_a_day_and_a_rebuild(
    service: Service,
) -> None:
    suzhou, nanjing = service.as_agency(SUZHOU), service.as_agency(NANJING)
    await a_day_with_every_correction(service)
    service.clock.set(datetime.combine(NEXT, time(8), SHANGHAI))
    await service.http.post(
        f"/v1/days/issue?date={DAY}", headers=service.as_agency("320000", kind="centre")
    )
    disputed = await service.http.post(
        f"{PAIR}/disputes", headers=suzhou, json={"settlement_id": "S1", "reason": "duplicate"}
    )
    assert disputed.status_code == 200, disputed.text
    await service.http.post(
        f"{PAIR}/disputes", headers=suzhou, json={"settlement_id": "S2", "reason": "not ours"}
    )
    await service.http.post(f"{PAIR}/confirm", headers=suzhou)
    closing = await service.http.post(f"{PAIR}/confirm", headers=nanjing)
    assert closing.json()["statement"]["closed"] is True
    pair_day = DayId(SUZHOU, NANJING, DAY)
    days = [pair_day, DayId(SUZHOU, NANJING, NEXT), DayId(SUQIAN, NANJING, DAY)]
    closed = await heads(service, days)
    assert closed[pair_day][0].open_disputes == {"S1", "S2"}
    assert closed[pair_day][0].confirmed_by == {SUZHOU, NANJING}
    assert closed[pair_day][0].closed

    # A late settlement reopens the closed day, decided on the row alone; a cancellation on the
    # next day of the disputed S1 resolves its dispute (and releases it) on the whole day.
    await service.settlement.settle("S10", total_fee=1000, fund_total=500, account_paid=0)
    await service.settlement.cancel("C1", "S1", day=NEXT)
    await service.deliver()
    reopened = await heads(service, days)
    head, version = reopened[pair_day]
    assert head.open_disputes == {"S2"}
    assert (head.confirmed_by, head.closed) == (frozenset(), False)
    statement = (await service.http.get(PAIR, headers=suzhou)).json()
    assert {d["settlement_id"]: d["status"] for d in statement["disputes"]} == {
        "S1": "reversed",
        "S2": "open",
    }

    # Redelivering every fact (a rebuild of the settlement projection) appends nothing.
    await service.runtime.consumers[0].rebuild()
    assert (await heads(service, days))[pair_day][1] == version

    async with service.runtime.engine.connect() as conn:
        live = await service.day_views.snapshot(conn)
    # Every record on its day: 9 on the pair's first day (with S6's negative record), 3 on the
    # next, Q1 on the other pair's.
    assert len(live["day_settlement_ids"]) == 13
    await rebuild_from_store(service.runtime.engine, service.runtime.store, service.day_views)
    async with service.runtime.engine.connect() as conn:
        assert await service.day_views.snapshot(conn) == live


async def test_recording_a_settlement_does_not_read_its_day_stream(service: Service) -> None:
    # The O(1) path is the point of `day_state`: a fold per settlement made a day of k
    # settlements cost O(k^2). Only a dispute resolution may read the stream.
    await a_day_with_every_correction(service)
    store = service.runtime.store
    read: list[str] = []
    load = store.load

    async def counted(
        conn: AsyncConnection, stream_id: str, *, after_version: int = 0
    ) -> list[Envelope]:
        read.append(stream_id)
        return await load(conn, stream_id, after_version=after_version)

    store.load = counted  # type: ignore[method-assign]
    try:
        for n in range(5):
            await service.settlement.settle(f"L{n}", total_fee=1000, fund_total=500, account_paid=0)
        await service.settlement.cancel("CL0", "L0", day=NEXT)
        await service.deliver()
        await service.runtime.consumers[0].rebuild()
    finally:
        del store.load
    assert read == []
    async with service.runtime.engine.connect() as conn:
        _, version = await day_head(conn, DayId(SUZHOU, NANJING, DAY))
    assert version == 13  # 8 recorded before, 5 now
