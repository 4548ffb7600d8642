"""Read models of the filing service's own events: persons, filings, policies.

The write path applies them inline after each append, in the same transaction (the composition
root passes them as `Runtime(own=...)`), and `rebuild_from_store(engine, store, read_models())`
rebuilds them from the event store with the same handlers, so a rebuild equals the live tables.
Each row records the stream version it reflects.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    BenefitSource,
    BenefitsResumed,
    BenefitsSuspended,
    BenefitsTerminated,
    EnrolmentStatusChanged,
    FilingApproved,
    FilingCancelled,
    FilingChanged,
    FilingRejected,
    PersonDied,
    PersonEnrolledV1,
    PersonUpdatedV1,
    PolicyPublished,
)
from yidi_events.envelope import Envelope
from yidi_events.policy_document import policy_document
from yidi_events.runtime.projection import Projection
from yidi_filing.adapters.tables import filings, persons, policies
from yidi_filing.domain.events import FilingSubmitted

NAME = "filing.read_models"


def read_models() -> Projection:
    projection = Projection(NAME, [persons, filings, policies])

    async def update_person(conn: AsyncConnection, env: Envelope, **values: Any) -> None:
        await conn.execute(
            persons.update()
            .where(persons.c.person_id == env.payload.person_id)
            .values(version=env.stream_version, **values)
        )

    @projection.on(PersonEnrolledV1)
    async def enrolled(conn: AsyncConnection, env: Envelope) -> None:
        e: PersonEnrolledV1 = env.payload
        await conn.execute(
            insert(persons).values(
                person_id=e.person_id,
                insured_region=e.insured_region,
                insurance_type=e.insurance_type.value,
                person_category=e.person_category,
                civil_servant=e.civil_servant,
                assistance_identities=[i.value for i in e.assistance_identities],
                name=e.name,
                certificate_type=e.certificate_type,
                certificate_no=e.certificate_no,
                gender=e.gender,
                birth_date=e.birth_date,
                card_serial=e.card_serial,
                account_balance=e.account_balance,
                enrolment_status=e.enrolment_status.value,
                benefits="active",
                audit_suspensions=[],
                enrolled_on=e.enrolled_on,
                version=env.stream_version,
            )
        )

    @projection.on(PersonUpdatedV1)
    async def updated(conn: AsyncConnection, env: Envelope) -> None:
        e: PersonUpdatedV1 = env.payload
        await update_person(
            conn,
            env,
            insured_region=e.insured_region,
            insurance_type=e.insurance_type.value,
            person_category=e.person_category,
            civil_servant=e.civil_servant,
            assistance_identities=[i.value for i in e.assistance_identities],
            name=e.name,
            gender=e.gender,
            birth_date=e.birth_date,
            card_serial=e.card_serial,
        )

    @projection.on(EnrolmentStatusChanged)
    async def status(conn: AsyncConnection, env: Envelope) -> None:
        await update_person(conn, env, enrolment_status=env.payload.enrolment_status.value)

    @projection.on(AccountBalanceChanged)
    async def balance(conn: AsyncConnection, env: Envelope) -> None:
        await update_person(conn, env, account_balance=env.payload.account_balance)

    @projection.on(PersonDied)
    async def died(conn: AsyncConnection, env: Envelope) -> None:
        await update_person(conn, env, death_date=env.payload.death_date)

    @projection.on(BenefitsSuspended, BenefitsResumed, BenefitsTerminated)
    async def benefits(conn: AsyncConnection, env: Envelope) -> None:
        e = env.payload
        if e.source is BenefitSource.AUDIT:
            current = await conn.scalar(
                sa.select(persons.c.audit_suspensions).where(persons.c.person_id == e.person_id)
            )
            kept = [s for s in current or [] if s["case_id"] != e.case_id]
            if isinstance(e, BenefitsSuspended):
                kept.append(
                    {
                        "case_id": e.case_id,
                        "from": e.effective_from.isoformat(),
                        "until": None if e.until is None else e.until.isoformat(),
                    }
                )
            await update_person(conn, env, audit_suspensions=kept)
        elif isinstance(e, BenefitsSuspended):
            await update_person(
                conn,
                env,
                benefits="suspended",
                benefits_suspended_from=e.effective_from,
                benefits_suspended_until=e.until,
            )
        elif isinstance(e, BenefitsResumed):
            await update_person(
                conn,
                env,
                benefits="active",
                benefits_suspended_from=None,
                benefits_suspended_until=None,
            )
        else:
            await update_person(conn, env, benefits="terminated")

    @projection.on(FilingSubmitted)
    async def submitted(conn: AsyncConnection, env: Envelope) -> None:
        e: FilingSubmitted = env.payload
        await conn.execute(
            insert(filings).values(
                filing_id=e.filing_id,
                person_id=e.person_id,
                insured_region=e.insured_region,
                kind=e.kind.value,
                long_term_type=None if e.long_term_type is None else e.long_term_type.value,
                visit_region=e.visit_region,
                destination_institution=e.destination_institution,
                diagnosis=e.diagnosis,
                valid_from=e.valid_from,
                valid_to=e.valid_to,
                promise_based=e.promise_based,
                channel=e.channel.value,
                referral_opinion_from=e.referral_opinion_from,
                status="pending",
                submitted_on=e.submitted_on,
                review_due=e.review_due,
                review_reasons=list(e.review_reasons),
                version=env.stream_version,
            )
        )

    async def update_filing(conn: AsyncConnection, env: Envelope, **values: Any) -> None:
        await conn.execute(
            filings.update()
            .where(filings.c.filing_id == env.payload.filing_id)
            .values(version=env.stream_version, **values)
        )

    @projection.on(FilingApproved, FilingChanged)
    async def approved(conn: AsyncConnection, env: Envelope) -> None:
        e = env.payload
        values: dict[str, Any] = {
            "status": "approved",
            "visit_region": e.visit_region,
            "destination_institution": e.destination_institution,
            "diagnosis": e.diagnosis,
            "valid_from": e.valid_from,
            "valid_to": e.valid_to,
        }
        if isinstance(e, FilingApproved):
            values.update(decided_on=e.approved_on, reviewer=e.reviewer)
        await update_filing(conn, env, **values)

    @projection.on(FilingRejected)
    async def rejected(conn: AsyncConnection, env: Envelope) -> None:
        e: FilingRejected = env.payload
        await update_filing(
            conn,
            env,
            status="rejected",
            decided_on=e.rejected_on,
            reviewer=e.reviewer,
            decision_reason=e.reason,
        )

    @projection.on(FilingCancelled)
    async def cancelled(conn: AsyncConnection, env: Envelope) -> None:
        e: FilingCancelled = env.payload
        await update_filing(
            conn, env, status="cancelled", cancelled_on=e.cancelled_on, decision_reason=e.reason
        )

    @projection.on(PolicyPublished)
    async def published(conn: AsyncConnection, env: Envelope) -> None:
        e: PolicyPublished = env.payload
        if e.superseded_version is not None:
            await conn.execute(
                policies.update()
                .where(
                    policies.c.insured_region == e.insured_region,
                    policies.c.insurance_type == e.insurance_type.value,
                    policies.c.version == e.superseded_version,
                )
                .values(effective_to=e.superseded_effective_to)
            )
        await conn.execute(
            insert(policies).values(
                insured_region=e.insured_region,
                insurance_type=e.insurance_type.value,
                version=e.version,
                effective_from=e.effective_from,
                effective_to=e.policy.effective_to,
                document=policy_document(e.policy),
                published_on=e.published_on,
            )
        )

    return projection
