"""Projection of the insured places' facts (filing and audit events, and filing's identity topic)
into this side's tables.

Facts that describe a whole thing (PersonEnrolled, FilingApproved...) replace the row, so a
redelivery or a rebuild lands on the same state. A filing's terms are also kept per version
(`filing_versions`, keyed by the event's place in the filing's stream), because an admission
settles under the version in force when it began.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events.contracts.audit import (
    DepartmentSuspended,
    DepartmentSuspensionEnded,
    DirectSettlementSuspended,
    DirectSettlementSuspensionEnded,
    HospitalSuspended,
    HospitalSuspensionEnded,
)
from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    BenefitsResumed,
    BenefitsSuspended,
    BenefitsTerminated,
    ChronicDiseaseCertified,
    ChronicDiseaseRevoked,
    EnrolmentStatusChanged,
    FilingApproved,
    FilingCancelled,
    FilingChanged,
    FilingRejected,
    PersonDied,
    PersonEnrolled,
    PersonIdentified,
    PersonUpdated,
    PersonYearStated,
    PolicyPublished,
)
from yidi_events.envelope import Envelope
from yidi_events.runtime.insured_place import (
    filing_version_row,
    person_row,
    person_terms,
    person_year_row,
    publish_policy,
)
from yidi_events.runtime.projection import Projection, upsert
from yidi_settlement.adapters.tables import (
    chronic_certificates,
    department_suspensions,
    filing_versions,
    filings,
    hospital_suspensions,
    person_identities,
    person_suspensions,
    person_years,
    persons,
    policies,
)


def make_projection() -> Projection:
    projection = Projection(
        "insured_facts",
        [
            persons,
            person_identities,
            person_years,
            filings,
            filing_versions,
            policies,
            person_suspensions,
            hospital_suspensions,
            department_suspensions,
            chronic_certificates,
        ],
    )

    @projection.on(PersonEnrolled)
    async def enrolled(conn: AsyncConnection, env: Envelope) -> None:
        p: PersonEnrolled = env.payload
        row = {
            **person_row(p),
            "visit_ledger_counted": 0,
            "enrolment_status": p.enrolment_status.value,
        }
        await upsert(conn, persons, ["person_id"], row)

    @projection.on(PersonUpdated)
    async def updated(conn: AsyncConnection, env: Envelope) -> None:
        p: PersonUpdated = env.payload
        await conn.execute(
            persons.update().where(persons.c.person_id == p.person_id).values(**person_terms(p))
        )

    @projection.on(PersonIdentified)
    async def identified(conn: AsyncConnection, env: Envelope) -> None:
        # Its own table and topic: it may come before or after the person's PersonEnrolled, and
        # the row is the same either way. An update's identity leaves the certificate stated at
        # enrolment (it never changes) and, like PersonUpdated, changes only a known person.
        p: PersonIdentified = env.payload
        details = {
            "name": p.name,
            "gender": p.gender,
            "birth_date": p.birth_date,
            "card_serial": p.card_serial,
        }
        if p.certificate_no is None:
            await conn.execute(
                person_identities.update()
                .where(person_identities.c.person_id == p.person_id)
                .values(**details)
            )
            return
        row = {
            "person_id": p.person_id,
            "certificate_type": p.certificate_type,
            "certificate_no": p.certificate_no,
            **details,
        }
        await upsert(conn, person_identities, ["person_id"], row)

    @projection.on(EnrolmentStatusChanged)
    async def status(conn: AsyncConnection, env: Envelope) -> None:
        p: EnrolmentStatusChanged = env.payload
        await conn.execute(
            persons.update()
            .where(persons.c.person_id == p.person_id)
            .values(enrolment_status=p.enrolment_status.value)
        )

    @projection.on(AccountBalanceChanged)
    async def balance(conn: AsyncConnection, env: Envelope) -> None:
        p: AccountBalanceChanged = env.payload
        await conn.execute(
            persons.update()
            .where(persons.c.person_id == p.person_id)
            .values(account_balance=p.account_balance, visit_ledger_counted=p.visit_ledger_counted)
        )

    @projection.on(PersonYearStated)
    async def year(conn: AsyncConnection, env: Envelope) -> None:
        p: PersonYearStated = env.payload
        row = {**person_year_row(p), "visit_ledger_counted": p.visit_ledger_counted}
        await upsert(conn, person_years, ["person_id", "policy_year"], row)

    @projection.on(PersonDied)
    async def died(conn: AsyncConnection, env: Envelope) -> None:
        p: PersonDied = env.payload
        await conn.execute(
            persons.update()
            .where(persons.c.person_id == p.person_id)
            .values(death_date=p.death_date)
        )

    @projection.on(BenefitsTerminated)
    async def terminated(conn: AsyncConnection, env: Envelope) -> None:
        p: BenefitsTerminated = env.payload
        await conn.execute(
            persons.update()
            .where(persons.c.person_id == p.person_id)
            .values(terminated_from=p.effective_from)
        )

    @projection.on(BenefitsSuspended)
    async def suspended(conn: AsyncConnection, env: Envelope) -> None:
        p: BenefitsSuspended = env.payload
        row = {
            "person_id": p.person_id,
            "suspension_key": f"filing:{p.case_id or p.effective_from.isoformat()}",
            "source": p.source.value,
            "suspended_from": p.effective_from,
            "suspended_until": p.until,
            "ended_on": None,
        }
        await upsert(conn, person_suspensions, ["person_id", "suspension_key"], row)

    @projection.on(BenefitsResumed)
    async def resumed(conn: AsyncConnection, env: Envelope) -> None:
        p: BenefitsResumed = env.payload
        await conn.execute(
            person_suspensions.update()
            .where(
                person_suspensions.c.person_id == p.person_id,
                person_suspensions.c.source == p.source.value,
                person_suspensions.c.suspension_key.like("filing:%"),
                person_suspensions.c.ended_on.is_(None),
            )
            .values(ended_on=p.effective_from)
        )

    @projection.on(DirectSettlementSuspended)
    async def audit_suspended(conn: AsyncConnection, env: Envelope) -> None:
        p: DirectSettlementSuspended = env.payload
        row = {
            "person_id": p.person_id,
            "suspension_key": f"audit:{p.case_id}",
            "source": "audit",
            "suspended_from": p.suspended_from,
            "suspended_until": p.suspended_until,
            "ended_on": None,
        }
        await upsert(conn, person_suspensions, ["person_id", "suspension_key"], row)

    @projection.on(DirectSettlementSuspensionEnded)
    async def audit_ended(conn: AsyncConnection, env: Envelope) -> None:
        p: DirectSettlementSuspensionEnded = env.payload
        await conn.execute(
            person_suspensions.update()
            .where(
                person_suspensions.c.person_id == p.person_id,
                person_suspensions.c.suspension_key == f"audit:{p.case_id}",
            )
            .values(ended_on=p.ended_on)
        )

    @projection.on(HospitalSuspended)
    async def hospital_suspended(conn: AsyncConnection, env: Envelope) -> None:
        p: HospitalSuspended = env.payload
        row = {
            "institution_code": p.institution_code,
            "case_id": p.case_id,
            "suspended_from": p.suspended_from,
            "suspended_until": p.suspended_until,
            "ended_on": None,
        }
        await upsert(conn, hospital_suspensions, ["institution_code", "case_id"], row)

    @projection.on(HospitalSuspensionEnded)
    async def hospital_ended(conn: AsyncConnection, env: Envelope) -> None:
        p: HospitalSuspensionEnded = env.payload
        await conn.execute(
            hospital_suspensions.update()
            .where(
                hospital_suspensions.c.institution_code == p.institution_code,
                hospital_suspensions.c.case_id == p.case_id,
            )
            .values(ended_on=p.ended_on)
        )

    @projection.on(DepartmentSuspended)
    async def department_suspended(conn: AsyncConnection, env: Envelope) -> None:
        p: DepartmentSuspended = env.payload
        row = {
            "institution_code": p.institution_code,
            "case_id": p.case_id,
            "department": p.department,
            "suspended_from": p.suspended_from,
            "suspended_until": p.suspended_until,
            "ended_on": None,
        }
        await upsert(conn, department_suspensions, ["institution_code", "case_id"], row)

    @projection.on(DepartmentSuspensionEnded)
    async def department_ended(conn: AsyncConnection, env: Envelope) -> None:
        p: DepartmentSuspensionEnded = env.payload
        await conn.execute(
            department_suspensions.update()
            .where(
                department_suspensions.c.institution_code == p.institution_code,
                department_suspensions.c.case_id == p.case_id,
            )
            .values(ended_on=p.ended_on)
        )

    @projection.on(FilingApproved, FilingChanged)
    async def filing(conn: AsyncConnection, env: Envelope) -> None:
        p: FilingApproved | FilingChanged = env.payload
        row = {
            "filing_id": p.filing_id,
            "person_id": p.person_id,
            "kind": p.kind.value,
            "visit_region": p.visit_region,
            "destination_institution": p.destination_institution,
            "valid_from": p.valid_from,
            "valid_to": p.valid_to,
            "approved": True,
        }
        await upsert(conn, filings, ["filing_id"], row)
        await upsert(conn, filing_versions, ["filing_id", "revision"], filing_version_row(env))

    @projection.on(FilingRejected)
    async def rejected(conn: AsyncConnection, env: Envelope) -> None:
        p: FilingRejected = env.payload
        await conn.execute(
            filings.update().where(filings.c.filing_id == p.filing_id).values(approved=False)
        )

    @projection.on(FilingCancelled)
    async def cancelled(conn: AsyncConnection, env: Envelope) -> None:
        p: FilingCancelled = env.payload
        await conn.execute(
            filings.update()
            .where(filings.c.filing_id == p.filing_id)
            .values(cancelled_on=p.cancelled_on)
        )

    @projection.on(ChronicDiseaseCertified)
    async def chronic_certified(conn: AsyncConnection, env: Envelope) -> None:
        p: ChronicDiseaseCertified = env.payload
        row = {
            "certificate_id": p.certificate_id,
            "person_id": p.person_id,
            "disease_code": p.disease_code,
            "disease_name": p.disease_name,
            "valid_from": p.valid_from,
            "valid_to": p.valid_to,
            "revoked_on": None,
        }
        await upsert(conn, chronic_certificates, ["certificate_id"], row)

    @projection.on(ChronicDiseaseRevoked)
    async def chronic_revoked(conn: AsyncConnection, env: Envelope) -> None:
        p: ChronicDiseaseRevoked = env.payload
        await conn.execute(
            chronic_certificates.update()
            .where(chronic_certificates.c.certificate_id == p.certificate_id)
            .values(revoked_on=p.revoked_on)
        )

    @projection.on(PolicyPublished)
    async def policy(conn: AsyncConnection, env: Envelope) -> None:
        await publish_policy(conn, policies, env.payload)

    return projection
