"""Projection of the insured places' facts (filing and audit events, and filing's identity topic)
into this side's tables.

Facts that describe a whole thing (PersonEnrolled, FilingApproved...) replace the row, so a
redelivery or a rebuild lands on the same state. A filing's terms are also kept per version
(`filing_versions`, keyed by the event's place in the filing's stream), because an admission
settles under the version in force when it began.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    FILING_FACTS,
    PERSON_FACTS,
    InsuredPlaceRows,
    publish_policy,
)
from yidi_events.runtime.projection import Projection
from yidi_events.runtime.row_fold import RowFold
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

    # A consumer's batch and a rebuild's page: the run folded per row in stream order, then one
    # multi-row statement per table and shape (a run of one is the statements its fact always
    # ran). Facts that change rows by a condition, not a key, stay one at a time (below).
    @projection.on_batch(
        *PERSON_FACTS,
        *FILING_FACTS,
        PersonIdentified,
        EnrolmentStatusChanged,
        PersonDied,
        BenefitsTerminated,
        BenefitsSuspended,
        DirectSettlementSuspended,
        DirectSettlementSuspensionEnded,
        HospitalSuspended,
        HospitalSuspensionEnded,
        DepartmentSuspended,
        DepartmentSuspensionEnded,
        FilingRejected,
        FilingCancelled,
        ChronicDiseaseCertified,
        ChronicDiseaseRevoked,
    )
    async def facts(conn: AsyncConnection, envs: Sequence[Envelope]) -> None:
        rows = _Rows()
        for env in envs:
            _fold(rows, env)
        await rows.write(conn)

    @projection.on(BenefitsResumed)
    async def resumed(conn: AsyncConnection, env: Envelope) -> None:
        # Ends whichever of filing's suspensions of the person is open: rows found by a
        # condition, so one at a time between the runs, which keeps its place in the order.
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

    @projection.on(PolicyPublished)
    async def policy(conn: AsyncConnection, env: Envelope) -> None:
        await publish_policy(conn, policies, env.payload)

    return projection


class _Rows:
    """This side's tables as a run leaves them (`RowFold` each, filing's shared ones included)."""

    def __init__(self) -> None:
        self.place = InsuredPlaceRows(persons, person_years, filing_versions)
        self.persons = self.place.persons
        self.identities = RowFold(person_identities)
        self.filings = RowFold(filings)
        self.person_suspensions = RowFold(person_suspensions)
        self.hospital_suspensions = RowFold(hospital_suspensions)
        self.department_suspensions = RowFold(department_suspensions)
        self.chronic = RowFold(chronic_certificates)

    async def write(self, conn: AsyncConnection) -> None:
        await self.place.write(conn)
        for rows in (
            self.identities,
            self.filings,
            self.person_suspensions,
            self.hospital_suspensions,
            self.department_suspensions,
            self.chronic,
        ):
            await rows.write(conn)


def _fold(rows: _Rows, env: Envelope) -> None:
    """What one fact does to this side's rows."""
    p = env.payload
    if isinstance(p, PersonEnrolled):
        rows.place.enrolled(p, visit_ledger_counted=0, enrolment_status=p.enrolment_status.value)
    elif isinstance(p, PersonUpdated):
        rows.place.updated(p)
    elif isinstance(p, AccountBalanceChanged):
        rows.place.balance(p, visit_ledger_counted=p.visit_ledger_counted)
    elif isinstance(p, PersonYearStated):
        rows.place.year(p, visit_ledger_counted=p.visit_ledger_counted)
    elif isinstance(p, FilingApproved | FilingChanged):
        rows.filings.upsert(
            {
                "filing_id": p.filing_id,
                "person_id": p.person_id,
                "kind": p.kind.value,
                "visit_region": p.visit_region,
                "destination_institution": p.destination_institution,
                "valid_from": p.valid_from,
                "valid_to": p.valid_to,
                "approved": True,
            }
        )
        rows.place.filing(env)
    elif isinstance(p, PersonIdentified):
        # Its own table and topic: it may come before or after the person's PersonEnrolled, and
        # the row is the same either way. An update's identity leaves the certificate stated at
        # enrolment (it never changes) and, like PersonUpdated, changes only a known person.
        details = {
            "name": p.name,
            "gender": p.gender,
            "birth_date": p.birth_date,
            "card_serial": p.card_serial,
        }
        if p.certificate_no is None:
            rows.identities.update({"person_id": p.person_id}, details)
        else:
            rows.identities.upsert(
                {
                    "person_id": p.person_id,
                    "certificate_type": p.certificate_type,
                    "certificate_no": p.certificate_no,
                    **details,
                }
            )
    elif isinstance(p, EnrolmentStatusChanged):
        rows.persons.update(
            {"person_id": p.person_id}, {"enrolment_status": p.enrolment_status.value}
        )
    elif isinstance(p, PersonDied):
        rows.persons.update({"person_id": p.person_id}, {"death_date": p.death_date})
    elif isinstance(p, BenefitsTerminated):
        rows.persons.update({"person_id": p.person_id}, {"terminated_from": p.effective_from})
    elif isinstance(p, BenefitsSuspended):
        rows.person_suspensions.upsert(
            {
                "person_id": p.person_id,
                "suspension_key": f"filing:{p.case_id or p.effective_from.isoformat()}",
                "source": p.source.value,
                "suspended_from": p.effective_from,
                "suspended_until": p.until,
                "ended_on": None,
            }
        )
    elif isinstance(p, DirectSettlementSuspended):
        rows.person_suspensions.upsert(
            {
                "person_id": p.person_id,
                "suspension_key": f"audit:{p.case_id}",
                "source": "audit",
                "suspended_from": p.suspended_from,
                "suspended_until": p.suspended_until,
                "ended_on": None,
            }
        )
    elif isinstance(p, DirectSettlementSuspensionEnded):
        rows.person_suspensions.update(
            {"person_id": p.person_id, "suspension_key": f"audit:{p.case_id}"},
            {"ended_on": p.ended_on},
        )
    elif isinstance(p, HospitalSuspended):
        rows.hospital_suspensions.upsert(
            {
                "institution_code": p.institution_code,
                "case_id": p.case_id,
                "suspended_from": p.suspended_from,
                "suspended_until": p.suspended_until,
                "ended_on": None,
            }
        )
    elif isinstance(p, HospitalSuspensionEnded):
        rows.hospital_suspensions.update(
            {"institution_code": p.institution_code, "case_id": p.case_id},
            {"ended_on": p.ended_on},
        )
    elif isinstance(p, DepartmentSuspended):
        rows.department_suspensions.upsert(
            {
                "institution_code": p.institution_code,
                "case_id": p.case_id,
                "department": p.department,
                "suspended_from": p.suspended_from,
                "suspended_until": p.suspended_until,
                "ended_on": None,
            }
        )
    elif isinstance(p, DepartmentSuspensionEnded):
        rows.department_suspensions.update(
            {"institution_code": p.institution_code, "case_id": p.case_id},
            {"ended_on": p.ended_on},
        )
    elif isinstance(p, FilingRejected):
        rows.filings.update({"filing_id": p.filing_id}, {"approved": False})
    elif isinstance(p, FilingCancelled):
        rows.filings.update({"filing_id": p.filing_id}, {"cancelled_on": p.cancelled_on})
    elif isinstance(p, ChronicDiseaseCertified):
        rows.chronic.upsert(
            {
                "certificate_id": p.certificate_id,
                "person_id": p.person_id,
                "disease_code": p.disease_code,
                "disease_name": p.disease_name,
                "valid_from": p.valid_from,
                "valid_to": p.valid_to,
                "revoked_on": None,
            }
        )
    elif isinstance(p, ChronicDiseaseRevoked):
        rows.chronic.update({"certificate_id": p.certificate_id}, {"revoked_on": p.revoked_on})
    else:
        raise TypeError(f"insured_facts: no fold for {env.event_type}")
