"""The reimbursement service's projections: the facts it consumes (`insured_facts`) and the read
model of its own claims (`claims_own`, with the person's notifications outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    FILING_FACTS,
    PERSON_FACTS,
    InsuredPlaceRows,
    publish_policy,
)
from yidi_events.runtime.projection import Projection
from yidi_events.runtime.row_fold import NewRows, RowFold
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

    # A consumer's batch and a rebuild's page: the run folded per row in stream order, then one
    # multi-row statement per table (a run of one is the statements its fact always ran).
    @projection.on_batch(*PERSON_FACTS, *FILING_FACTS, VisitSettled, SettlementCancelled)
    async def facts(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        rows = InsuredPlaceRows(persons, person_years, filing_versions)
        counted = NewRows(counted_claims, ["claim_id", "person_id"])
        visits = RowFold(settled_visits)
        for env in envs:
            p = env.payload
            if isinstance(p, PersonEnrolled):
                rows.enrolled(p)
            elif isinstance(p, PersonUpdated):
                rows.updated(p)
            elif isinstance(p, AccountBalanceChanged):
                rows.balance(p)
            elif isinstance(p, PersonYearStated):
                rows.year(p)
                if p.source == REIMBURSEMENT_SOURCE:
                    counted.insert({"claim_id": p.reference, "person_id": p.person_id})
            elif isinstance(p, FilingApproved | FilingChanged):
                rows.filing(env, person_id=p.person_id, kind=p.kind.value)
            elif isinstance(p, VisitSettled):
                visits.upsert(
                    {
                        "settlement_id": p.settlement_id,
                        "person_id": p.person_id,
                        "institution_code": p.institution_code,
                        "admitted_on": p.admitted_on,
                        "discharged_on": p.discharged_on,
                        "cancelled": False,
                    }
                )
            else:
                cancelled: SettlementCancelled = p
                visits.update(
                    {"settlement_id": cancelled.original_settlement_id}, {"cancelled": True}
                )
        await rows.write(conn)
        await counted.write(conn)
        await visits.write(conn)

    # A cancellation marks every version of its filing (not one row by key): one at a time,
    # between the runs, which keeps its place in the order.
    @projection.on(FilingCancelled)
    async def filing_cancelled(conn: AsyncConnection, env: Envelope) -> None:
        p: FilingCancelled = env.payload
        await conn.execute(
            filing_versions.update()
            .where(filing_versions.c.filing_id == p.filing_id)
            .values(cancelled_on=p.cancelled_on)
        )

    @projection.on(PolicyPublished)
    async def policy(conn: AsyncConnection, env: Envelope) -> None:
        await publish_policy(conn, policies, env.payload)

    return projection


def claims_own() -> Projection:
    projection = Projection("reimbursement.claims_own", [claims, notifications, payment_batches])

    # A claim's life is five facts of five types (received, checked, reviewed, approved, paid or
    # refused), appended one unit a step and read back a page at a time in a rebuild: one handler
    # takes a run across all of them, folds each claim in order in memory and writes each table
    # once (a run of one is the statement or two its fact always ran).
    @projection.on_batch(
        ClaimReceived,
        ClaimChecked,
        ClaimReviewed,
        ClaimApproved,
        ClaimRefused,
        ClaimPaid,
        PaymentBatchExported,
    )
    async def facts(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        rows = RowFold(claims)
        told = NewRows(notifications, _NOTIFICATION_COLUMNS)
        batches = RowFold(payment_batches)
        for env in envs:
            p = env.payload
            if isinstance(p, PaymentBatchExported):
                batches.upsert(
                    {
                        "batch_id": p.batch_id,
                        "insured_region": p.insured_region,
                        "exported_on": p.exported_on,
                        "total": p.total,
                        "file": bank_file(p),
                    }
                )
                continue
            key = {"claim_id": p.claim_id}
            if isinstance(p, ClaimReceived):
                rows.upsert(
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
                    }
                )
                told.insert(
                    _notice(
                        env,
                        "received",
                        f"Your claim {p.claim_id} of {fen_to_yuan(p.claimed_total)} yuan was "
                        f"received; it will be accepted by {p.acceptance_due.isoformat()}.",
                    )
                )
            elif isinstance(p, ClaimChecked):
                rows.update(
                    key,
                    {
                        "step": Step.CHECKED.value,
                        "due_on": p.review_due,
                        "filing_kind": p.filing_kind,
                        "reviewers_needed": p.reviewers_needed,
                    },
                )
            elif isinstance(p, ClaimReviewed):
                rows.append(key, "reviewers", p.reviewer)
            elif isinstance(p, ClaimApproved):
                encoded = registry.encode(p)
                rows.update(
                    key,
                    {
                        "step": Step.APPROVED.value,
                        "due_on": p.payment_due,
                        "policy_year": p.policy_year,
                        "payable": p.payable,
                        "approval": {
                            k: encoded[k]
                            for k in ("totals", "fund_payments", "movement", "payable")
                        },
                    },
                )
                told.insert(
                    _notice(
                        env,
                        "approved",
                        f"Your claim {p.claim_id} was approved: {fen_to_yuan(p.payable)} yuan will "
                        f"be paid to your bank account by {p.payment_due.isoformat()}.",
                    )
                )
            elif isinstance(p, ClaimRefused):
                rows.update(key, {"step": Step.REFUSED.value, "due_on": None, "refusal": p.reason})
                told.insert(
                    _notice(env, "refused", f"Your claim {p.claim_id} was refused: {p.reason}")
                )
            else:
                paid: ClaimPaid = p
                rows.update(
                    key,
                    {"step": Step.PAID.value, "due_on": None, "payment_batch": paid.payment_batch},
                )
                told.insert(
                    _notice(
                        env,
                        "paid",
                        f"{fen_to_yuan(paid.amount)} yuan of claim {paid.claim_id} was paid to "
                        "your bank account.",
                    )
                )
        await rows.write(conn)
        await told.write(conn)
        await batches.write(conn)

    return projection


_NOTIFICATION_COLUMNS = ["event_id", "person_id", "claim_id", "kind", "message", "created_at"]


def _notice(env: Envelope, kind: str, message: str) -> dict[str, Any]:
    """The person's notification of one fact, keyed by the fact: a rebuild tells the same."""
    p = env.payload
    return {
        "event_id": env.event_id,
        "person_id": p.person_id,
        "claim_id": p.claim_id,
        "kind": kind,
        "message": message,
        "created_at": env.occurred_at,
    }
