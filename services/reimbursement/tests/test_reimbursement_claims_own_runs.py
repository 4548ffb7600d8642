"""`reimbursement.claims_own` takes a run across its fact types (a claim's five facts are five
types) and leaves the claims, notifications and payment batches as the facts one by one would.

Two manual claims from the bench's generator, worked by hand:
- claim 0 (fee 20,000 + 0 = 200.00 yuan; the fund pays 70 %: 14,000) is received, checked and
  reviewed in one append; the last append approves it (its figures a JSON column changed on the
  stored row) and pays it in batch RBB-00000;
- claim 1 (fee 20,000 + 2,654,435,761 mod 2,000,000 = 455,761) is received in one append; the next
  changes that stored row: checked needing two reviewers, reviewed twice, refused; the same
  append exports RBB-00000 (one transfer of claim 0's 14,000).
The same facts go through three ways: one fact per apply, the appends as runs, and a rebuild
(every fact in one page, one run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from yidi_events.contracts.reimbursement import ClaimRefused
from yidi_events.db import make_engine
from yidi_events.kernel import SystemClock
from yidi_events.runtime.projection import rebuild_from_store
from yidi_events.store import EventStore, NewEvent, StreamAppend
from yidi_reimbursement import bootstrap
from yidi_reimbursement.adapters.projection import claims_own
from yidi_reimbursement.adapters.tables import claims, notifications, payment_batches
from yidi_reimbursement.domain.events import BankTransfer, PaymentBatchExported
from yidi_stack.bench.rebuild_own import claim_facts

ON = date(2026, 3, 1)
A, B = "RBR-0000000", "RBR-0000001"


def appends() -> list[list[StreamAppend]]:
    a = claim_facts(0)
    received, checked, reviewed, _, _ = claim_facts(1)
    refused = ClaimRefused(
        claim_id=B,
        person_id=received.person_id,
        rule="reimbursement.review",
        reason="no filing covers the admission",
        refused_by="reviewer-2",
        refused_on=ON,
        refused_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
    )
    batch = PaymentBatchExported(
        batch_id="RBB-00000",
        insured_region=a[0].insured_region,
        transfers=(
            BankTransfer(
                claim_id=A,
                person_id=a[0].person_id,
                bank_account=a[0].bank_account,
                amount=14_000,
            ),
        ),
        total=14_000,
        exported_on=ON,
        exported_by="officer-2",
        exported_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
    )
    second = replace(reviewed, reviewer="reviewer-2")
    return [
        [StreamAppend(f"claim-{A}", 0, [NewEvent(f, ON) for f in a[:3]])],
        [StreamAppend(f"claim-{B}", 0, [NewEvent(received, ON)])],
        [
            StreamAppend(
                f"claim-{B}",
                1,
                [
                    NewEvent(f, ON)
                    for f in (replace(checked, reviewers_needed=2), reviewed, second, refused)
                ],
            ),
            StreamAppend(f"claim-{A}", 3, [NewEvent(f, ON) for f in a[3:]]),
            StreamAppend("payment-batch-RBB-00000", 0, [NewEvent(batch, ON)]),
        ],
    ]


EXPECTED_CLAIMS = {
    A: (
        "paid",
        None,
        ["reviewer-1"],
        1,
        "long_term",
        2026,
        14_000,
        "RBB-00000",
        None,
        20_000,
        (14_000, 14_000, 20_000),
    ),
    B: (
        "refused",
        None,
        ["reviewer-1", "reviewer-2"],
        2,
        "long_term",
        None,
        None,
        None,
        "no filing covers the admission",
        455_761,
        None,
    ),
}
EXPECTED_NOTICES = [
    (A, "approved"),
    (A, "paid"),
    (A, "received"),
    (B, "received"),
    (B, "refused"),
]


def approved(approval: dict[str, Any] | None) -> tuple[int, int, int] | None:
    """What the approval kept: payable, the fund's total and the year's eligible sum."""
    if approval is None:
        return None
    return (
        approval["payable"],
        approval["totals"]["fund_total"],
        approval["movement"]["eligible_cum"],
    )


async def state(engine: Any) -> tuple[dict[str, tuple[Any, ...]], list[tuple[str, str]], Any]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    claims.c.claim_id,
                    claims.c.step,
                    claims.c.due_on,
                    claims.c.reviewers,
                    claims.c.reviewers_needed,
                    claims.c.filing_kind,
                    claims.c.policy_year,
                    claims.c.payable,
                    claims.c.payment_batch,
                    claims.c.refusal,
                    claims.c.claimed_total,
                    claims.c.approval,
                )
            )
        ).all()
        told = (
            await conn.execute(
                sa.select(notifications.c.claim_id, notifications.c.kind).order_by(
                    notifications.c.claim_id, notifications.c.kind
                )
            )
        ).all()
        batches = (
            await conn.execute(sa.select(payment_batches.c.batch_id, payment_batches.c.total))
        ).all()
    return (
        {r[0]: (*r[1:-1], approved(r[-1])) for r in rows},
        [tuple(t) for t in told],
        [tuple(b) for b in batches],
    )


async def test_runs_across_claim_fact_types_read_as_the_facts_one_by_one(
    database: Callable[..., str],
) -> None:
    expected = (EXPECTED_CLAIMS, EXPECTED_NOTICES, [("RBB-00000", 14_000)])
    for one_by_one in (True, False):
        engine = make_engine(database(bootstrap.MIGRATIONS))
        store = EventStore("reimbursement", SystemClock())
        projection = claims_own()
        try:
            for unit in appends():
                async with engine.begin() as conn:
                    sealed = await store.append_streams(conn, unit)
                    envelopes = [e for stream in sealed for e in stream]
                    if one_by_one:
                        for envelope in envelopes:
                            await projection.apply(conn, envelope)
                    else:  # the last: B's four facts, A's last two and the batch, over stored rows
                        await projection.apply_many(conn, envelopes)
            assert await state(engine) == expected

            # A rebuild reads all eleven facts in one page: one run, the same rows.
            assert await rebuild_from_store(engine, store, projection) == 11
            assert await state(engine) == expected
        finally:
            await engine.dispose()
