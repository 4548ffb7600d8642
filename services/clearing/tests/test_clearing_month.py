"""A month of closed days through clearing, on real PostgreSQL and a real broker.

March 2026: five agency pairs, one settlement per pair and day, fed as reconciliation events
(DaySettlementRecorded + DayClosed) and one audit clawback. One day is never closed, one settlement
is disputed and released in April: both are held, visibly. Then the whole monthly cycle.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition

from yidi_clearing.adapters.rows import PostgresPeriodRows
from yidi_clearing.adapters.tables import deduction_inputs, settlement_inputs, statements
from yidi_clearing.app.periods import PeriodHandlers
from yidi_clearing.app.projection import own_projection
from yidi_clearing.domain.clearing_period import ClearingPeriod, fold_period
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.contracts.audit import ClawbackDecided
from yidi_events.contracts.reconciliation import (
    ClearingSettlement,
    DayClosed,
    DaySettlement,
    DaySettlementRecorded,
    DisputedSettlementReleased,
    Figures,
    FundAmount,
    SchemeTotals,
)
from yidi_events.envelope import Envelope
from yidi_events.runtime.projection import rebuild_from_store
from yidi_events.topics import topic

NANJING, WUXI, SUZHOU, SUQIAN = "320100", "320200", "320500", "321300"
PAIRS = [  # (insured agency = payer, visit agency = receiver, insurance type)
    (SUZHOU, NANJING, "310"),
    (SUQIAN, NANJING, "390"),
    (SUZHOU, WUXI, "310"),
    (NANJING, SUZHOU, "310"),
    (WUXI, NANJING, "390"),
]
HOSPITAL = {NANJING: "H32010000001", WUXI: "H32020000001", SUZHOU: "H32050000001"}
NOT_CLOSED = (SUZHOU, WUXI, date(2026, 3, 31))
DISPUTED = "S-320500-320100-20260315"
PERIOD = "2026-03"


def amounts(index: int, day: date) -> tuple[int, int, int]:
    """fund_total, account_paid, cash_paid of the pair's settlement that day (fen)."""
    fund = 20_000 + 1_000 * index + 37 * day.day
    account = 0 if index % 2 else 500 + day.day
    return fund, account, 3_000 + day.day


def settlement_of(index: int, day: date) -> DaySettlement:
    insured, visit, insurance_type = PAIRS[index]
    fund, account, cash = amounts(index, day)
    return DaySettlement(
        settlement_id=f"S-{insured}-{visit}-{day:%Y%m%d}",
        visit_id=f"V-{insured}-{visit}-{day:%Y%m%d}",
        person_id=f"P{insured}{index:014d}",
        institution_code=HOSPITAL[visit],
        clearing_agency=visit,
        insured_region=insured,
        visit_region=visit,
        insurance_type=insurance_type,
        clearing_category="21" if day.day % 2 else "11",
        business_date=day,
        total_fee=fund + account + cash,
        fund_total=fund,
        account_paid=account,
        cash_paid=cash,
        is_refund=False,
        original_settlement_id=None,
        fund_payments=(FundAmount(fund_code=f"{insurance_type}100", amount=fund),),
    )


def clearing_of(s: DaySettlement) -> ClearingSettlement:
    return ClearingSettlement(
        settlement_id=s.settlement_id,
        insured_region=s.insured_region,
        visit_region=s.visit_region,
        insurance_type=s.insurance_type,
        business_date=s.business_date,
        fund_total=s.fund_total,
        account_paid=s.account_paid,
        fund_payments=s.fund_payments,
    )


NOON = timedelta(hours=12)
EMPTY = Figures(count=0, total_fee=0, fund_total=0, account_paid=0, cash_paid=0)


def moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + NOON


async def feed_march(world: Any) -> dict[tuple[str, str], dict[str, int]]:
    """Store and publish the month; returns what each line must show (before deductions)."""
    expected: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day in (date(2026, 3, 1) + timedelta(days=n) for n in range(31)):
        for index, (insured, visit, insurance_type) in enumerate(PAIRS):
            pair = f"{insured}>{visit}"
            s = settlement_of(index, day)
            recorded = DaySettlementRecorded(
                pair=pair,
                insured_region=insured,
                visit_region=visit,
                business_date=day,
                settlement=s,
                after_issue=False,
                recorded_at=moment(day),
            )
            stream = f"day:{pair}:{day}"
            if (insured, visit, day) == NOT_CLOSED:
                await world.reconciliation.append(stream, recorded)
                continue
            disputed = s.settlement_id == DISPUTED
            closed = DayClosed(
                pair=pair,
                insured_region=insured,
                visit_region=visit,
                business_date=day,
                month=PERIOD,
                close_number=1,
                settlements=() if disputed else (clearing_of(s),),
                totals=SchemeTotals(employee=EMPTY, resident=EMPTY),
                held_settlement_ids=(s.settlement_id,) if disputed else (),
                closed_at=moment(day + timedelta(days=1)),
            )
            await world.reconciliation.append(stream, recorded, closed)
            if not disputed:
                expected[(insured, visit)][insurance_type] += s.fund_total + s.account_paid
    # The disputed settlement is accepted in April: it clears in April, not in March.
    s = settlement_of(0, date(2026, 3, 15))
    await world.reconciliation.append(
        f"day:{SUZHOU}>{NANJING}:2026-03-15",
        DisputedSettlementReleased(
            pair=f"{SUZHOU}>{NANJING}",
            insured_region=SUZHOU,
            visit_region=NANJING,
            business_date=date(2026, 3, 15),
            month="2026-04",
            scheme="employee",
            resolution="accepted",
            settlement=clearing_of(s),
            released_at=datetime(2026, 4, 1, 3, tzinfo=UTC),
        ),
    )
    await world.audit.append(
        "case-1",
        ClawbackDecided(
            clawback_id="CB-1",
            case_id="case-1",
            person_id="P320500",
            settlement_ids=("S-320500-320100-20260310",),
            insured_region=SUZHOU,
            visit_region=NANJING,
            insurance_type="310",
            amount=5_000,
            decided_by="auditor-1",
            decided_on=date(2026, 3, 25),
        ),
    )
    await world.catch_up()
    return expected


async def count(world: Any, table: sa.Table) -> int:
    async with world.runtime.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_month_is_cleared_end_to_end(world: Any) -> None:
    c = world.client
    expected = await feed_march(world)
    confirmed_count = await count(world, settlement_inputs)
    assert confirmed_count == 31 * 5 - 2 + 1  # minus not closed and disputed, plus released

    # A redelivered input is a no-op: republish everything, consume again.
    await world.reconciliation.publish(again=True)
    await world.audit.publish(again=True)
    for consumer in world.runtime.consumers:
        await consumer.catch_up()
    assert await count(world, settlement_inputs) == confirmed_count
    assert await count(world, deduction_inputs) == 1

    # Day 2: two concurrent runs -> one statement.
    centre = world.centre("operator-1")
    first, second = await asyncio.gather(
        c.post(f"/v1/periods/{PERIOD}/statement", headers=centre),
        c.post(f"/v1/periods/{PERIOD}/statement", headers=centre),
    )
    a, b = await ok(first), await ok(second)
    assert a["input_hash"] == b["input_hash"]
    assert await count(world, statements) == 1
    async with world.runtime.engine.connect() as conn:
        generated = await world.runtime.store.load(conn, f"clearing-period:{PERIOD}")
    assert [e.event_type for e in generated] == ["clearing.StatementGenerated"]
    # Same inputs -> same hash; and running it again gives the same statement.
    hashed = await ok(await c.get(f"/v1/periods/{PERIOD}/statement/inputs-hash", headers=centre))
    assert hashed["input_hash"] == a["input_hash"]
    again = await ok(await c.post(f"/v1/periods/{PERIOD}/statement", headers=centre))
    assert again["input_hash"] == a["input_hash"]
    assert again["lines"] == a["lines"]

    statement = await ok(await c.get(f"/v1/periods/{PERIOD}/statement", headers=centre))
    lines = {line["line_id"]: line for line in statement["lines"]}
    assert set(lines) == {f"{p}>{r}" for p, r, _ in PAIRS}
    for (payer, receiver), parts in expected.items():
        line = lines[f"{payer}>{receiver}"]
        clawed = 5_000 if (payer, receiver) == (SUZHOU, NANJING) else 0
        assert line["amount"] == sum(parts.values()) - clawed
    suzhou_nanjing = lines[f"{SUZHOU}>{NANJING}"]["parts"][0]
    assert suzhou_nanjing["clawed_back"] == 5_000
    assert suzhou_nanjing["clawback_count"] == 1
    held = {h["item_id"]: h for h in statement["held"]}
    assert set(held) == {DISPUTED, "S-320500-320200-20260331"}
    assert "2026-04" in held[DISPUTED]["reason"]
    assert "not confirmed" in held["S-320500-320200-20260331"]["reason"]

    # Drill-down: every settlement behind the figure, summing to it.
    detail = await ok(
        await c.get(
            f"/v1/periods/{PERIOD}/statement/lines/{SUZHOU}>{NANJING}", headers=world.agency(SUZHOU)
        )
    )
    part = detail["parts"][0]
    assert len(part["settlements"]) == 30
    assert sum(s["fund_total"] for s in part["settlements"]) == part["fund_paid"]
    assert [d["deduction_id"] for d in part["deductions"]] == ["CB-1"]

    # An agency sees only its own pairs' lines.
    mine = await ok(await c.get(f"/v1/periods/{PERIOD}/statement", headers=world.agency(SUQIAN)))
    assert [line["line_id"] for line in mine["lines"]] == [f"{SUQIAN}>{NANJING}"]
    hidden = await c.get(
        f"/v1/periods/{PERIOD}/statement/lines/{SUZHOU}>{WUXI}", headers=world.agency(SUQIAN)
    )
    assert hidden.status_code == 404
    refused = await c.post(
        f"/v1/periods/{PERIOD}/lines/{SUZHOU}>{WUXI}/confirm", headers=world.agency(SUQIAN)
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["rule"] == "clearing.not_party"

    # Day 5: every agency confirms its lines; Wuxi disputes one, which is held out of netting.
    disputed_line = f"{WUXI}>{NANJING}"
    r = await c.post(
        f"/v1/periods/{PERIOD}/lines/{disputed_line}/dispute",
        headers=world.agency(WUXI),
        json={"reason": "three settlements of 2026-03-0x are not ours"},
    )
    assert (await ok(r))["status"] == "disputed"
    for line_id, line in lines.items():
        if line_id == disputed_line:
            continue
        # Both parties at once: each decides on the line's rows at the same stream version; the
        # loser's append is refused and, retried, decides again on fresher rows.
        both = await asyncio.gather(
            *(
                c.post(
                    f"/v1/periods/{PERIOD}/lines/{line_id}/confirm", headers=world.agency(agency)
                )
                for agency in (line["payer_agency"], line["receiver_agency"])
            )
        )
        for response in both:
            await ok(response)
    again_confirmed = await ok(
        await c.post(
            f"/v1/periods/{PERIOD}/lines/{SUZHOU}>{NANJING}/confirm", headers=world.agency(SUZHOU)
        )
    )
    assert again_confirmed["status"] == "confirmed"  # a retry changes nothing
    # The rows a line's decision reads say what the whole stream's fold says, line by line.
    handlers = PeriodHandlers(world.runtime.write, ClearingSettings(), PostgresPeriodRows())
    folded = await handlers.load(PERIOD)
    async with world.runtime.engine.connect() as conn:
        stored = await world.runtime.store.load(conn, f"clearing-period:{PERIOD}")
    assert len(stored) == 1 + 1 + 2 * (len(lines) - 1)  # statement, dispute, confirmations
    # The whole period as approving and netting load it (line decisions from the rows, the rest
    # of the stream folded) is the fold of every fact.
    assert folded == fold_period(ClearingPeriod(), [e.payload for e in stored])
    for line_id in lines:
        one = await handlers.load_line(PERIOD, line_id)
        assert one.lines == {line_id: folded.lines[line_id]}
        assert (one.period, one.input_hash, one.first_approver) == (
            folded.period,
            folded.input_hash,
            folded.first_approver,
        )

    # Four eyes on the statement.
    not_approver = await c.post(f"/v1/periods/{PERIOD}/approvals", headers=centre)
    assert not_approver.status_code == 403
    assert not_approver.json()["error"]["rule"] == "clearing.role"
    await ok(await c.post(f"/v1/periods/{PERIOD}/approvals", headers=world.approver("alice")))
    late = await c.post(
        f"/v1/periods/{PERIOD}/lines/{disputed_line}/confirm", headers=world.agency(NANJING)
    )
    assert late.status_code == 409  # the first approval, seen from the line's rows, freezes lines
    assert late.json()["error"]["rule"] == "clearing.statement_approved"
    same = await c.post(f"/v1/periods/{PERIOD}/approvals", headers=world.approver("alice"))
    assert same.status_code == 403
    assert same.json()["error"]["rule"] == "clearing.four_eyes"
    approved = await ok(
        await c.post(f"/v1/periods/{PERIOD}/approvals", headers=world.approver("bob"))
    )
    assert approved["approved"]
    assert approved["approvers"] == ["alice", "bob"]

    # Day 10: net positions, exactly zero in sum; each equals receivable - payable.
    netted = await ok(
        await c.post(f"/v1/periods/{PERIOD}/net-positions", headers=world.approver("alice"))
    )
    assert netted["sum"] == 0
    async with world.runtime.engine.connect() as conn:
        stored = await world.runtime.store.load(conn, f"clearing-period:{PERIOD}")
    # The same handlers: the statement's lines kept from the first load, the decisions, approvals
    # and netting read again, still the fold of every fact.
    netted_state = await handlers.load(PERIOD)
    assert netted_state.netted
    assert len(netted_state.approvers) == 2
    assert netted_state == fold_period(ClearingPeriod(), [e.payload for e in stored])
    # A statement row written before it kept its held items (an older database, until
    # `clearing.own` is rebuilt): the period is folded from its stream, to the same state.
    async with world.runtime.engine.begin() as conn:
        held = await conn.scalar(sa.select(statements.c.held).where(statements.c.period == PERIOD))
        await conn.execute(
            statements.update().where(statements.c.period == PERIOD).values(held=None)
        )
    fresh = PeriodHandlers(world.runtime.write, ClearingSettings(), PostgresPeriodRows())
    assert await fresh.load(PERIOD) == netted_state
    async with world.runtime.engine.begin() as conn:
        await conn.execute(
            statements.update().where(statements.c.period == PERIOD).values(held=held)
        )
    receivable: dict[str, int] = defaultdict(int)
    payable: dict[str, int] = defaultdict(int)
    for line_id, line in lines.items():
        if line_id != disputed_line:
            receivable[line["receiver_agency"]] += line["amount"]
            payable[line["payer_agency"]] += line["amount"]
    positions = {p["agency"]: p for p in netted["positions"]}
    for agency, position in positions.items():
        assert position["net"] == receivable[agency] - payable[agency]
    own = await ok(await c.get(f"/v1/periods/{PERIOD}/net-positions", headers=world.agency(SUZHOU)))
    assert [p["agency"] for p in own["positions"]] == [SUZHOU]

    # Day 15: remittances from net payers (one partial, then its rest late); day 20: disbursements.
    payers = {a: -p["net"] for a, p in positions.items() if p["net"] < 0}
    receivers = {a: p["net"] for a, p in positions.items() if p["net"] > 0}
    assert payers
    assert receivers
    first_payer = sorted(payers)[0]
    half = payers[first_payer] // 2
    partial = await ok(
        await c.post(
            f"/v1/periods/{PERIOD}/remittances",
            headers=centre,
            json={
                "agency": first_payer,
                "bank_reference": "BK-001",
                "amount": half,
                "received_on": "2026-04-14",
            },
        )
    )
    assert partial["outstanding"] == payers[first_payer] - half
    assert not partial["late"]
    rest = await ok(
        await c.post(
            f"/v1/periods/{PERIOD}/remittances",
            headers=centre,
            json={
                "agency": first_payer,
                "bank_reference": "BK-002",
                "amount": payers[first_payer] - half,
                "received_on": "2026-04-17",
            },
        )
    )
    assert rest["outstanding"] == 0
    assert rest["late"]
    for n, (agency, owed) in enumerate(sorted(payers.items())[1:], start=3):
        await ok(
            await c.post(
                f"/v1/periods/{PERIOD}/remittances",
                headers=centre,
                json={
                    "agency": agency,
                    "bank_reference": f"BK-00{n}",
                    "amount": owed,
                    "received_on": "2026-04-15",
                },
            )
        )
    for agency, net in sorted(receivers.items()):
        d_id = f"D-{agency}"
        await ok(
            await c.post(
                f"/v1/periods/{PERIOD}/disbursements",
                headers=world.approver("alice"),
                json={"disbursement_id": d_id, "agency": agency, "amount": net},
            )
        )
        self_approved = await c.post(
            f"/v1/periods/{PERIOD}/disbursements/{d_id}/approve", headers=world.approver("alice")
        )
        assert self_approved.status_code == 403
        paid = await ok(
            await c.post(
                f"/v1/periods/{PERIOD}/disbursements/{d_id}/approve", headers=world.approver("bob")
            )
        )
        assert paid["outstanding"] == 0

    # The ledger: balanced, and with all cash moved every account of the period is back at zero.
    trial = await ok(await c.get("/v1/ledger/trial-balance", headers=centre))
    assert trial["total"] == 0
    assert trial["debits"] == trial["credits"] > 0
    assert set(trial["accounts"].values()) == {0}
    history = await ok(
        await c.get(
            f"/v1/ledger/accounts/receivable:{first_payer}", headers=world.agency(first_payer)
        )
    )
    assert history["balance"] == 0
    assert [row["reference"] for row in history["history"]][-2:] == ["BK-001", "BK-002"]
    foreign = await c.get(
        f"/v1/ledger/accounts/receivable:{first_payer}",
        headers=world.agency(SUQIAN if first_payer != SUQIAN else WUXI),
    )
    assert foreign.status_code == 403

    # Paging: the statement's lines and the centre's bank account two at a time come whole, each
    # row once and in order, the account's running balance carried across pages.
    all_lines = await ok(await c.get(f"/v1/periods/{PERIOD}/statement", headers=centre))
    walked = await walk(c, f"/v1/periods/{PERIOD}/statement", centre, "lines")
    assert [line["line_id"] for line in walked] == [
        f"{NANJING}>{SUZHOU}",
        f"{WUXI}>{NANJING}",
        f"{SUZHOU}>{NANJING}",
        f"{SUZHOU}>{WUXI}",
        f"{SUQIAN}>{NANJING}",
    ]
    assert walked == all_lines["lines"]
    bank = await ok(await c.get("/v1/ledger/accounts/centre_bank", headers=centre))
    moved = await walk(c, "/v1/ledger/accounts/centre_bank", centre, "history")
    assert moved == bank["history"]
    # In posting order: the disbursements paid today (April 4th), then the remittances on the days
    # they were received (14th, 15th, and the first payer's rest on the 17th). Everything received
    # was paid out, so the account ends at zero.
    paid_out = [f"D-{a}" for a in sorted(receivers)]
    remitted = ["BK-001"] + [f"BK-00{n}" for n in range(3, len(payers) + 2)] + ["BK-002"]
    assert [row["reference"] for row in moved] == paid_out + remitted
    assert moved[len(paid_out) - 1]["balance"] == -sum(receivers.values())
    assert moved[-1]["balance"] == bank["balance"] == 0
    for url in (f"/v1/periods/{PERIOD}/statement", "/v1/ledger/accounts/centre_bank"):
        bad = await c.get(url, params={"cursor": "not-a-cursor"}, headers=centre)
        assert bad.status_code == 422, bad.text
        assert bad.json()["field"] == "cursor"

    calendar = await ok(await c.get(f"/v1/periods/{PERIOD}/calendar", headers=centre))
    assert set(calendar["done"]) == {
        "statement",
        "confirmation",
        "netting",
        "remittance",
        "disbursement",
    }

    # Events reach yidi.clearing.events.
    async with world.runtime.engine.connect() as conn:
        stored = await world.runtime.store.load(conn, f"clearing-period:{PERIOD}")
    published = await wait_for_topic(world, len(stored))
    types = {e.event_type for e in published}
    assert {"clearing.StatementGenerated", "clearing.NetPositionsComputed"} <= types
    assert "clearing.DisbursementRecorded" in types
    assert "clearing.JournalEntryPosted" in types

    # Rebuilds equal the live read models: own events from the store, inputs from the topics.
    projection = own_projection()
    async with world.runtime.engine.connect() as conn:
        live = await projection.snapshot(conn)
    await rebuild_from_store(world.runtime.engine, world.runtime.store, projection)
    async with world.runtime.engine.connect() as conn:
        assert await projection.snapshot(conn) == live
    for consumer in world.runtime.consumers:
        async with world.runtime.engine.connect() as conn:
            before = await consumer.projection.snapshot(conn)
        await consumer.rebuild()
        async with world.runtime.engine.connect() as conn:
            assert await consumer.projection.snapshot(conn) == before


async def walk(c: Any, url: str, headers: dict[str, str], member: str) -> list[Any]:
    """Every row of a paged list, two to a page, following `Link: <...>; rel="next"`."""
    rows: list[Any] = []
    response = await c.get(url, params={"limit": 2}, headers=headers)
    while True:
        page = await ok(response)
        assert len(page[member]) <= 2
        rows += page[member]
        following = response.links.get("next")
        if following is None:
            return rows
        response = await c.get(following["url"], headers=headers)


async def wait_for_topic(world: Any, at_least: int) -> list[Envelope]:
    name = topic("clearing", world.kafka.namespace)
    for _ in range(100):
        envelopes = await read_topic(world, name)
        if len(envelopes) >= at_least:
            return envelopes
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {at_least} events on {name}")


async def read_topic(world: Any, name: str) -> list[Envelope]:
    reader = AIOKafkaConsumer(bootstrap_servers=world.kafka.bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        await reader._client.force_metadata_update()
        parts = [TopicPartition(name, p) for p in sorted(reader.partitions_for_topic(name) or ())]
        reader.assign(parts)
        await reader.seek_to_beginning(*parts)
        ends = await reader.end_offsets(parts)
        records: list[Any] = []
        while [tp for tp in parts if await reader.position(tp) < ends[tp]]:
            batch = await reader.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
        return [Envelope.from_bytes(r.value) for r in records]
    finally:
        await reader.stop()
