"""The counter's hot path stays short (issue 20): a 2207 is one transaction with a bounded number
of statements, and a hospital's changed credential is seen by the very next request although
credentials are cached per process.

Counted with SQLAlchemy's statement and transaction events on the service's own engine: this is
behaviour (how many round trips a settlement costs), not timing. The harness runs no relay and no
consumers, so whatever the engine does during the call is the request's doing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.audit import (
    HospitalSuspended,
    HospitalSuspensionEnded,
    SuspensionEndReason,
)

SANDBOX = shared_dir() / "sandbox"
PERSON = json.loads((SANDBOX / "persons.json").read_text("utf-8"))[0]
NANJING = "H32010000001"
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
VOUCHER = {"mdtrt_cert_type": "03", "mdtrt_cert_no": PERSON["certno"], "card_sn": PERSON["card_sn"]}

# Before issue 20 a 2207 took 3 transactions and 20 statements (secret lookup and nonce claim each in
# a transaction of their own, then the unit of 18). Now one unit of 10, with the hospital, its
# sanctions, the policy and the catalogue kept per process (adapters/reference_cache.py):
#  1. the idempotency lookup (msgid)
#  2. the visit and person-ledger streams, in one read
#  3. the person, with their suspensions and our movements not yet counted by the insured place
#  4. the person's filings
#  5. the insured place's statement of the person's year
#  6. the events of both streams, in one multi-row INSERT
#  7-9. the inline projection: the settlement row, the visit's status, the ledger movement
#  10. the nonce claim, only while the kept secret and the kept reference data still hold, which
#      keeps the answer in the same statement
# The bound lets no extra round trip creep back in unnoticed.
MAX_STATEMENTS = 10
SIGN_IN = {"signIn": {"opter_no": "1", "mac": "00:00:00:00:00:00", "ip": "127.0.0.1"}}


@dataclass
class Counts:
    statements: list[str]
    transactions: int = 0


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[Counts]:
    counts = Counts([])
    sync = engine.sync_engine

    def on_statement(*args: Any) -> None:
        counts.statements.append(str(args[2]).split("\n")[0][:80])

    def on_begin(*args: Any) -> None:
        counts.transactions += 1

    sa.event.listen(sync, "before_cursor_execute", on_statement)
    sa.event.listen(sync, "begin", on_begin)
    try:
        yield counts
    finally:
        sa.event.remove(sync, "before_cursor_execute", on_statement)
        sa.event.remove(sync, "begin", on_begin)


async def open_visit(h: Any) -> str:
    registration = {
        "data": {
            "psn_no": PERSON["psn_no"],
            "insutype": PERSON["insutype"],
            "begntime": "2026-03-10 09:00:00",
            "med_type": "11",
            **VOUCHER,
        }
    }
    insured = PERSON["insuplc_admdvs"]
    visit_id: str = (await h.ok("2201", registration, NANJING, insured=insured))["data"]["mdtrt_id"]
    line = {
        "feedetl_sn": "1",
        "med_list_codg": "XA001",
        "cnt": "2",
        "pric": "25.50",
        "det_item_fee_sumamt": "51.00",
        "fee_ocur_time": "2026-03-10 08:30:00",
        "mdtrt_id": visit_id,
        "psn_no": PERSON["psn_no"],
    }
    await h.ok("2204", {"feedetail": [line]}, NANJING, insured=insured)
    return visit_id


def settle(visit_id: str) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": PERSON["psn_no"],
            "mdtrt_id": visit_id,
            "acct_used_flag": "0",
            "insutype": PERSON["insutype"],
            "medfee_sumamt": "51.00",
            **VOUCHER,
        }
    }


async def test_a_settlement_is_one_transaction_of_few_statements(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        visit_id = await open_visit(h)
        insured = PERSON["insuplc_admdvs"]
        # A pre-settlement of the visit warms the per-process caches (credentials, and the
        # hospital, policy and catalogue it reads as a settlement does), as a running gateway's are.
        await h.ok("2206", settle(visit_id), NANJING, insured=insured)
        with counting(h.runtime.engine) as counts:
            answer = await h.his("2207", settle(visit_id), NANJING, insured=insured, msgid="S1")
        assert answer["infcode"] == 0, answer["err_msg"]
        assert counts.transactions == 1, counts
        assert len(counts.statements) <= MAX_STATEMENTS, counts.statements
        # The same message again is answered from the kept answer, also in one transaction.
        with counting(h.runtime.engine) as again:
            repeated = await h.his("2207", settle(visit_id), NANJING, insured=insured, msgid="S1")
        assert repeated["output"] == answer["output"]
        assert again.transactions == 1, again


async def test_a_changed_secret_is_seen_by_the_next_request(make_harness: Any) -> None:
    async with make_harness(START) as h:
        await h.sandbox_world()
        query = SIGN_IN
        insured = PERSON["insuplc_admdvs"]
        old = h.secrets[NANJING]
        assert (await h.his("9001", query, NANJING, insured=insured))["infcode"] == 0
        # The process has now used (and cached) the old secret; the agency rotates it.
        rotated = "rotated-secret-0123456789abcdef"
        response = await h.client.patch(
            f"/v1/api/hospitals/{NANJING}", headers=h.token(), json={"his_secret": rotated}
        )
        assert response.status_code == 200, response.text
        h.secrets[NANJING] = rotated
        assert (await h.his("9001", query, NANJING, insured=insured))["infcode"] == 0
        h.secrets[NANJING] = old
        stale = await h.his("9001", query, NANJING, insured=insured)
        assert stale["infcode"] == -1
        assert "his.auth.signature" in stale["err_msg"], stale["err_msg"]


async def test_a_secret_changed_by_another_process_refuses_the_old_one(make_harness: Any) -> None:
    """Another gateway process rotated the secret: this process has not been told, its kept
    secret still verifies the old signature, and the answering unit catches it."""
    async with make_harness(START) as h:
        await h.sandbox_world()
        visit_id = await open_visit(h)
        insured = PERSON["insuplc_admdvs"]
        assert (await h.his("9001", SIGN_IN, NANJING, insured=insured))["infcode"] == 0
        async with h.runtime.engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE hospital_secrets SET his_secret = :s WHERE institution_code = :c"),
                {"s": "rotated-elsewhere-0123456789abcdef", "c": NANJING},
            )
        before = await h.counts()
        stale = await h.his("2207", settle(visit_id), NANJING, insured=insured)
        assert stale["infcode"] == -1
        assert "his.auth.signature" in stale["err_msg"], stale["err_msg"]
        assert await h.counts() == before  # no events, no kept answer
        h.secrets[NANJING] = "rotated-elsewhere-0123456789abcdef"
        assert (await h.ok("2207", settle(visit_id), NANJING, insured=insured))["setlinfo"]


async def test_reference_data_changed_through_one_process_is_seen_by_the_next_request_on_another(
    make_harness: Any,
) -> None:
    """Two processes on one database, each keeping the reference data it reads: what changes
    through one (the agency's catalogue item class, an audit sanction its consumer projects, the
    agency's suspension of the hospital and its end) decides the very next message the other
    answers, committed or refused."""
    async with make_harness(START) as a:
        await a.sandbox_world()
        visit_id = await open_visit(a)
        insured = PERSON["insuplc_admdvs"]
        async with a.twin() as b:
            before = await b.ok("2206", settle(visit_id), NANJING, insured=insured)
            # XA001 is 甲类 in the sandbox: nothing of the 51.00 is paid wholly by the person.
            assert before["setlinfo"]["fulamt_ownpay_amt"] == Decimal("0.00"), before["setlinfo"]

            published = await a.client.post(
                "/v1/api/catalogue/items",
                headers=a.token(),
                json={
                    "visit_region": "320100",
                    "catalogue_code": "XA001",
                    "item_class": "03",
                    "self_pay_ratio": "1.0000",
                    "list_type": "101",
                    "effective_from": "2026-01-01",
                },
            )
            assert published.status_code == 201, published.text
            after = await b.ok("2206", settle(visit_id), NANJING, insured=insured)
            # Now 丙类: the whole line, 2 x 25.50, is the person's own.
            assert after["setlinfo"]["fulamt_ownpay_amt"] == Decimal("51.00"), after["setlinfo"]

            # An audit sanction, a fact of another service, projected by A's consumer.
            sanction = {"institution_code": NANJING, "visit_region": "320100", "case_id": "C1"}
            await a.feed(
                HospitalSuspended(
                    **sanction,
                    suspended_from=date(2026, 3, 1),
                    suspended_until=date(2026, 3, 31),
                    decided_by="audit",
                ),
                "audit-case-C1",
            )
            sanctioned = await b.his("2207", settle(visit_id), NANJING, insured=insured)
            assert "eligibility.hospital_suspended" in sanctioned["err_msg"], sanctioned
            await a.feed(
                HospitalSuspensionEnded(
                    **sanction, ended_on=date(2026, 3, 10), reason=SuspensionEndReason.LIFTED
                ),
                "audit-case-C1",
            )

            suspended = await a.client.post(
                f"/v1/api/hospitals/{NANJING}/suspend", headers=a.token(), json={}
            )
            assert suspended.status_code == 200, suspended.text
            counted = await b.counts()
            refused = await b.his("2207", settle(visit_id), NANJING, insured=insured)
            assert refused["infcode"] == -1
            assert "eligibility.hospital_suspended" in refused["err_msg"], refused["err_msg"]
            assert await b.counts() == counted  # nothing recorded, no answer kept

            # B now keeps the suspension; the agency ends it through A.
            resumed = await a.client.post(f"/v1/api/hospitals/{NANJING}/resume", headers=a.token())
            assert resumed.status_code == 200, resumed.text
            settled = await b.ok("2207", settle(visit_id), NANJING, insured=insured)
            assert settled["setlinfo"]["fulamt_ownpay_amt"] == Decimal("51.00")


async def test_one_message_sent_through_two_processes_at_once_is_answered_once(
    make_harness: Any,
) -> None:
    """The answer is kept in the nonce claim's statement: of two first attempts of one message
    (a HIS that timed out and resent through another gateway process), the one that keeps it
    second fails on the kept answer's key, is decided again and given the first one's answer."""
    async with make_harness(START) as a:
        await a.sandbox_world()
        visit_id = await open_visit(a)
        insured = PERSON["insuplc_admdvs"]
        async with a.twin() as b:
            before = await a.counts()
            conflicts: list[str] = []

            def on_error(context: Any) -> None:
                conflicts.append(type(context.original_exception).__name__)

            engines = (a.runtime.engine.sync_engine, b.runtime.engine.sync_engine)
            for engine in engines:
                sa.event.listen(engine, "handle_error", on_error)
            try:
                # Both attempts find no kept answer and decide; neither may keep its answer until
                # both are at it. 2206 appends nothing, so only the kept answer's key collides.
                async with a.runtime.engine.begin() as gate:
                    await gate.execute(sa.text("LOCK TABLE idempotency IN SHARE MODE"))
                    attempts = [
                        asyncio.create_task(
                            h.his("2206", settle(visit_id), NANJING, insured=insured, msgid="TW")
                        )
                        for h in (a, b)
                    ]
                    await waiting_on(a.runtime.engine, "idempotency", 2)
                first, second = await asyncio.gather(*attempts)
            finally:
                for engine in engines:
                    sa.event.remove(engine, "handle_error", on_error)
            assert first["infcode"] == second["infcode"] == 0, (first, second)
            assert first["output"] == second["output"]
            assert await a.counts() == (before[0], before[1] + 1)
            assert conflicts == ["UniqueViolationError"], conflicts


async def waiting_on(engine: AsyncEngine, table: str, count: int) -> None:
    """Until `count` sessions wait for a lock on `table`."""
    for _ in range(500):
        async with engine.connect() as conn:
            waiting = await conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    " AND relation = CAST(:table AS regclass)"
                ),
                {"table": table},
            )
        if waiting == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} sessions never waited on {table}")
