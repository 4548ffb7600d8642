"""The reimbursement service's projections: the facts it consumes (`insured_facts`) and the read
model of its own claims (`claims_own`, with the person's notifications outbox)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events import registry
from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    FilingApproved,
    FilingCancelled,
    FilingChanged,
    PersonEnrolled,
    PersonUpdated,
    PersonYearStated,
    PolicyPublished,
)
from yidi_events.contracts.reimbursement import (
    ClaimApproved,
    ClaimChecked,
    ClaimPaid,
    ClaimReceived,
    ClaimRefused,
    ClaimReviewed,
)
from yidi_events.contracts.settlement import SettlementCancelled, VisitSettled
from yidi_events.envelope import Envelope
from yidi_events.kernel import fen_to_yuan
from yidi_events.runtime.insured_place import (
    filing_version_row,
    person_row,
    person_terms,
    person_year_row,
    publish_policy,
)
from yidi_events.runtime.projection import Projection, upsert
from yidi_reimbursement.adapters.tables import (
    claims,
    counted_claims,
    filing_versions,
    notifications,
    payment_batches,
    person_years,
    persons,
    policies,
    settled_visits,
)
from yidi_reimbursement.domain.claim import Step
from yidi_reimbursement.domain.events import PaymentBatchExported
from yidi_reimbursement.domain.payment import bank_file

# The PersonYearStated source filing gives a counted claim (services/filing domain/person.py).
REIMBURSEMENT_SOURCE = "reimbursement"


def insured_facts() -> Projection:
    projection = Projection(
        "reimbursement.insured_facts",
        [persons, policies, person_years, counted_claims, filing_versions, settled_visits],
    )

    @projection.on(FilingApproved, FilingChanged)
    async def filing(conn: AsyncConnection, env: Envelope) -> None:
        p: FilingApproved | FilingChanged = env.payload
        row = {**filing_version_row(env), "person_id": p.person_id, "kind": p.kind.value}
        await upsert(conn, filing_versions, ["filing_id", "revision"], row)

    @projection.on(FilingCancelled)
    async def filing_cancelled(conn: AsyncConnection, env: Envelope) -> None:
        p: FilingCancelled = env.payload
        await conn.execute(
            filing_versions.update()
            .where(filing_versions.c.filing_id == p.filing_id)
            .values(cancelled_on=p.cancelled_on)
        )

    @projection.on(PersonEnrolled)
    async def enrolled(conn: AsyncConnection, env: Envelope) -> None:
        p: PersonEnrolled = env.payload
        await upsert(conn, persons, ["person_id"], person_row(p))

    @projection.on(PersonUpdated)
    async def updated(conn: AsyncConnection, env: Envelope) -> None:
        p: PersonUpdated = env.payload
        await conn.execute(
            persons.update().where(persons.c.person_id == p.person_id).values(**person_terms(p))
        )

    @projection.on(AccountBalanceChanged)
    async def balance(conn: AsyncConnection, env: Envelope) -> None:
        p: AccountBalanceChanged = env.payload
        await conn.execute(
            persons.update()
            .where(persons.c.person_id == p.person_id)
            .values(account_balance=p.account_balance)
        )

    @projection.on(PersonYearStated)
    async def year(conn: AsyncConnection, env: Envelope) -> None:
        p: PersonYearStated = env.payload
        await upsert(conn, person_years, ["person_id", "policy_year"], person_year_row(p))
        if p.source == REIMBURSEMENT_SOURCE:
            await conn.execute(
                insert(counted_claims)
                .values(claim_id=p.reference, person_id=p.person_id)
                .on_conflict_do_nothing()
            )

    @projection.on(PolicyPublished)
    async def policy(conn: AsyncConnection, env: Envelope) -> None:
        await publish_policy(conn, policies, env.payload)

    @projection.on(VisitSettled)
    async def settled(conn: AsyncConnection, env: Envelope) -> None:
        p: VisitSettled = env.payload
        await upsert(
            conn,
            settled_visits,
            ["settlement_id"],
            {
                "settlement_id": p.settlement_id,
                "person_id": p.person_id,
                "institution_code": p.institution_code,
                "admitted_on": p.admitted_on,
                "discharged_on": p.discharged_on,
                "cancelled": False,
            },
        )

    @projection.on(SettlementCancelled)
    async def cancelled(conn: AsyncConnection, env: Envelope) -> None:
        p: SettlementCancelled = env.payload
        await conn.execute(
            settled_visits.update()
            .where(settled_visits.c.settlement_id == p.original_settlement_id)
            .values(cancelled=True)
        )

    return projection


def _notify(env: Envelope, person_id: str, claim_id: str, kind: str, message: str) -> Any:
    return (
        insert(notifications)
        .values(
            event_id=env.event_id,
            person_id=person_id,
            claim_id=claim_id,
            kind=kind,
            message=message,
            created_at=env.occurred_at,
        )
        .on_conflict_do_nothing()
    )


def claims_own() -> Projection:
    projection = Projection("reimbursement.claims_own", [claims, notifications, payment_batches])

    @projection.on(ClaimReceived)
    async def received(conn: AsyncConnection, env: Envelope) -> None:
        p: ClaimReceived = env.payload
        await upsert(
            conn,
            claims,
            ["claim_id"],
            {
                "claim_id": p.claim_id,
                "person_id": p.person_id,
                "insured_region": p.insured_region,
                "channel": p.channel,
                "institution_code": p.institution_code,
                "admitted_on": p.admitted_on,
                "discharged_on": p.discharged_on,
                "claimed_total": p.claimed_total,
                "step": Step.RECEIVED.value,
                "due_on": p.acceptance_due,
                "received_on": p.received_on,
                "reviewers": [],
                "reviewers_needed": 1,
                "bank_account": p.bank_account,
            },
        )
        await conn.execute(
            _notify(
                env,
                p.person_id,
                p.claim_id,
                "received",
                f"Your claim {p.claim_id} of {fen_to_yuan(p.claimed_total)} yuan was received; "
                f"it will be accepted by {p.acceptance_due.isoformat()}.",
            )
        )

    @projection.on(ClaimChecked)
    async def checked(conn: AsyncConnection, env: Envelope) -> None:
        p: ClaimChecked = env.payload
        await conn.execute(
            claims.update()
            .where(claims.c.claim_id == p.claim_id)
            .values(
                step=Step.CHECKED.value,
                due_on=p.review_due,
                filing_kind=p.filing_kind,
                reviewers_needed=p.reviewers_needed,
            )
        )

    @projection.on(ClaimReviewed)
    async def reviewed(conn: AsyncConnection, env: Envelope) -> None:
        p: ClaimReviewed = env.payload
        await conn.execute(
            claims.update()
            .where(claims.c.claim_id == p.claim_id)
            .values(reviewers=claims.c.reviewers.op("||")(sa.func.jsonb_build_array(p.reviewer)))
        )

    @projection.on(ClaimApproved)
    async def approved(conn: AsyncConnection, env: Envelope) -> None:
        p: ClaimApproved = env.payload
        encoded = registry.encode(p)
        await conn.execute(
            claims.update()
            .where(claims.c.claim_id == p.claim_id)
            .values(
                step=Step.APPROVED.value,
                due_on=p.payment_due,
                policy_year=p.policy_year,
                payable=p.payable,
                approval={
                    k: encoded[k] for k in ("totals", "fund_payments", "movement", "payable")
                },
            )
        )
        await conn.execute(
            _notify(
                env,
                p.person_id,
                p.claim_id,
                "approved",
                f"Your claim {p.claim_id} was approved: {fen_to_yuan(p.payable)} yuan will be "
                f"paid to your bank account by {p.payment_due.isoformat()}.",
            )
        )

    @projection.on(ClaimRefused)
    async def refused(conn: AsyncConnection, env: Envelope) -> None:
        p: ClaimRefused = env.payload
        await conn.execute(
            claims.update()
            .where(claims.c.claim_id == p.claim_id)
            .values(step=Step.REFUSED.value, due_on=None, refusal=p.reason)
        )
        await conn.execute(
            _notify(
                env,
                p.person_id,
                p.claim_id,
                "refused",
                f"Your claim {p.claim_id} was refused: {p.reason}",
            )
        )

    @projection.on(ClaimPaid)
    async def paid(conn: AsyncConnection, env: Envelope) -> None:
        p: ClaimPaid = env.payload
        await conn.execute(
            claims.update()
            .where(claims.c.claim_id == p.claim_id)
            .values(step=Step.PAID.value, due_on=None, payment_batch=p.payment_batch)
        )
        await conn.execute(
            _notify(
                env,
                p.person_id,
                p.claim_id,
                "paid",
                f"{fen_to_yuan(p.amount)} yuan of claim {p.claim_id} was paid to your bank "
                "account.",
            )
        )

    @projection.on(PaymentBatchExported)
    async def exported(conn: AsyncConnection, env: Envelope) -> None:
        p: PaymentBatchExported = env.payload
        await upsert(
            conn,
            payment_batches,
            ["batch_id"],
            {
                "batch_id": p.batch_id,
                "insured_region": p.insured_region,
                "exported_on": p.exported_on,
                "total": p.total,
                "file": bank_file(p),
            },
        )

    return projection
