"""Reads the handlers need, turned into the domain's snapshots: the rows as stored, and the
domain (`domain/standing.py`, `domain/eligibility.py`) decides what they mean on the day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_benefits.accumulators import Accumulators
from yidi_benefits.chronic import ChronicCertificate
from yidi_benefits.filings import FilingSnapshot
from yidi_benefits.model import (
    Catalogue,
    CatalogueEntry,
    CatalogueVersion,
    PersonAtSettlement,
)
from yidi_events.contracts.policy import AssistanceIdentity, BenefitPolicy, FilingKind
from yidi_events.contracts.settlement import AccumulatorMovement, ItemClass
from yidi_events.kernel import DomainError, NotFound
from yidi_events.policy_document import parse_policy_document
from yidi_settlement.adapters.tables import (
    catalogue_items,
    chronic_certificates,
    department_suspensions,
    filing_versions,
    filings,
    hospital_items,
    hospital_secrets,
    hospital_suspensions,
    hospitals,
    ledger_movements,
    person_identities,
    person_suspensions,
    person_years,
    persons,
    policies,
    settlements,
)
from yidi_settlement.domain.eligibility import EnrolmentStatus, HospitalSnapshot, PersonSnapshot
from yidi_settlement.domain.person_ledger import (
    LedgerEntry,
    StatedAccount,
    StatedYear,
    account_balance,
    year_figures,
)
from yidi_settlement.domain.standing import (
    Suspension,
    departments_suspended,
    enrolment_on,
    hospital_suspended,
    suspended_until,
)


@dataclass(frozen=True, kw_only=True)
class Hospital:
    institution_code: str
    institution_name: str
    region: str
    hospital_level: str
    networked: bool
    suspended: bool
    clearing_agency: str
    kind: str = "hospital"
    suspended_departments: frozenset[str] = frozenset()

    def snapshot(self) -> HospitalSnapshot:
        return HospitalSnapshot(
            institution_code=self.institution_code,
            region=self.region,
            networked=self.networked,
            suspended=self.suspended,
            suspended_departments=self.suspended_departments,
        )


@dataclass(frozen=True, kw_only=True)
class Person:
    row: dict[str, Any]
    snapshot: PersonSnapshot
    at_settlement: PersonAtSettlement  # its balance: the stated one plus our uncounted movements
    stated_account: StatedAccount


async def credential_of(
    conn: AsyncConnection, identity_column: str, secret_column: str, identity: str
) -> tuple[str, str, str] | None:
    """(institution code, secret, kind) of the institution whose `identity_column` is
    `identity`."""
    columns = hospital_secrets.c
    row = (
        await conn.execute(
            sa.select(columns.institution_code, columns[secret_column], hospitals.c.kind)
            .join(hospitals, hospitals.c.institution_code == columns.institution_code)
            .where(columns[identity_column] == identity, columns[secret_column].is_not(None))
        )
    ).first()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def hospital_query(institution_code: str) -> sa.Select[Any]:
    return sa.select(hospitals).where(hospitals.c.institution_code == institution_code)


def sanctions_query(institution_code: str) -> sa.CompoundSelect[Any]:
    """The hospital's sanctions and its departments' in one round trip (the 2207 hot path):
    `department` is NULL on a sanction of the whole hospital."""
    whole = sa.select(
        sa.null().label("department"),
        hospital_suspensions.c.suspended_from,
        hospital_suspensions.c.suspended_until,
        hospital_suspensions.c.ended_on,
    ).where(hospital_suspensions.c.institution_code == institution_code)
    parts = sa.select(
        department_suspensions.c.department,
        department_suspensions.c.suspended_from,
        department_suspensions.c.suspended_until,
        department_suspensions.c.ended_on,
    ).where(department_suspensions.c.institution_code == institution_code)
    return sa.union_all(whole, parts)


def hospital_not_found(institution_code: str) -> NotFound:
    return NotFound(
        "hospital.not_found",
        f"institution {institution_code} is not in the hospital registry",
        field="institution_code",
    )


async def hospital(conn: AsyncConnection, institution_code: str, on: date) -> Hospital:
    row = (await conn.execute(hospital_query(institution_code))).mappings().first()
    if row is None:
        raise hospital_not_found(institution_code)
    sanctions = (await conn.execute(sanctions_query(institution_code))).mappings().all()
    return hospital_on(row, sanctions, on)


def hospital_on(row: Any, sanctions: Sequence[Any], on: date) -> Hospital:
    """The registry row and its sanctions as the hospital stands on `on`."""
    suspended = hospital_suspended(
        by_agency=bool(row["suspended"]),
        agency_until=row["suspended_until"],
        sanctions=[_suspension(r) for r in sanctions if r["department"] is None],
        on=on,
    )
    departments = departments_suspended(
        [(r["department"], _suspension(r)) for r in sanctions if r["department"] is not None], on
    )
    return Hospital(
        institution_code=row["institution_code"],
        institution_name=row["institution_name"],
        region=row["region"],
        hospital_level=row["hospital_level"],
        networked=row["networked"],
        suspended=suspended,
        clearing_agency=row["clearing_agency"],
        kind=row["kind"],
        suspended_departments=departments,
    )


async def own_movements(conn: AsyncConnection, person_id: str, after: int) -> list[LedgerEntry]:
    """Our ledger movements of the person past a sequence, in order."""
    rows = await conn.execute(
        sa.select(ledger_movements.c.sequence, ledger_movements.c.movement)
        .where(ledger_movements.c.person_id == person_id, ledger_movements.c.sequence > after)
        .order_by(ledger_movements.c.sequence)
    )
    return [
        LedgerEntry(sequence=int(r.sequence), movement=AccumulatorMovement.from_json(r.movement))
        for r in rows
    ]


# The counter's reads are built once, their values bound at each call: a statement built per call
# costs its construction and its cache key every time, the compiled form being cached anyway.
_STATED_YEAR = sa.select(person_years.c.totals, person_years.c.visit_ledger_counted).where(
    person_years.c.person_id == sa.bindparam("person_id"),
    person_years.c.policy_year == sa.bindparam("policy_year"),
)


async def stated_year(conn: AsyncConnection, person_id: str, policy_year: int) -> StatedYear:
    row = (
        await conn.execute(_STATED_YEAR, {"person_id": person_id, "policy_year": policy_year})
    ).first()
    if row is None:
        return StatedYear(totals=None, visit_ledger_counted=0)
    return StatedYear(
        totals=AccumulatorMovement.from_json(row.totals),
        visit_ledger_counted=int(row.visit_ledger_counted),
    )


async def person_year(conn: AsyncConnection, person_id: str, policy_year: int) -> Accumulators:
    """The person's year as the insured place states it plus our movements it has not counted."""
    stated = await stated_year(conn, person_id, policy_year)
    own = await own_movements(conn, person_id, stated.visit_ledger_counted)
    return year_figures(policy_year, stated, own)


async def person(
    conn: AsyncConnection, person_id: str, on: date, today: date | None = None
) -> Person:
    """The person on `on` (the visit's day); with `today`, also the direct-settlement suspension
    in force on the day of the request, whatever day the visit began."""
    found = (await conn.execute(_PERSON, {"person_id": person_id})).mappings().first()
    if found is None:
        raise NotFound(
            "person.not_found",
            f"person {person_id} is not known here: the insured place has not published them",
            field="person_id",
        )
    row = dict(found)
    suspensions = [
        Suspension(
            suspended_from=date.fromisoformat(begun),
            suspended_until=None if until is None else date.fromisoformat(until),
            ended_on=None if ended is None else date.fromisoformat(ended),
        )
        for begun, until, ended in row.pop("person_suspensions")
    ]
    own = [
        LedgerEntry(sequence=int(sequence), movement=AccumulatorMovement.from_json(movement))
        for sequence, movement in row.pop("uncounted_movements")
    ]
    status = enrolment_on(EnrolmentStatus(row["enrolment_status"]), row["terminated_from"], on)
    until = suspended_until(suspensions, on)
    until_today = None if today is None else suspended_until(suspensions, today)
    stated = StatedAccount(
        balance=int(row["account_balance"]),
        visit_ledger_counted=int(row["visit_ledger_counted"]),
    )
    snapshot = PersonSnapshot(
        person_id=person_id,
        insured_region=row["insured_region"],
        certificate_no=row["certificate_no"],
        enrolment_status=status,
        direct_settlement_suspended_until=until,
        direct_settlement_suspended_today=until_today,
        death_date=row["death_date"],
    )
    at_settlement = PersonAtSettlement(
        person_category=row["person_category"],
        civil_servant=row["civil_servant"],
        assistance_identities=frozenset(
            AssistanceIdentity(i) for i in row["assistance_identities"]
        ),
        account_balance=account_balance(stated, own),
    )
    return Person(row=row, snapshot=snapshot, at_settlement=at_settlement, stated_account=stated)


# Read with the person's row, in the same round trip (the 2207 hot path): their suspensions and
# our ledger movements the insured place has not yet counted, each as a JSON array.
_PERSON_SUSPENSIONS = (
    sa.select(
        sa.func.coalesce(
            sa.func.jsonb_agg(
                sa.func.jsonb_build_array(
                    person_suspensions.c.suspended_from,
                    person_suspensions.c.suspended_until,
                    person_suspensions.c.ended_on,
                )
            ),
            sa.text("'[]'::jsonb"),
            type_=JSONB,
        )
    )
    .where(person_suspensions.c.person_id == persons.c.person_id)
    .scalar_subquery()
    .label("person_suspensions")
)
_UNCOUNTED_MOVEMENTS = (
    sa.select(
        sa.func.coalesce(
            sa.func.jsonb_agg(
                aggregate_order_by(
                    sa.func.jsonb_build_array(
                        ledger_movements.c.sequence, ledger_movements.c.movement
                    ),
                    ledger_movements.c.sequence,
                )
            ),
            sa.text("'[]'::jsonb"),
            type_=JSONB,
        )
    )
    .where(
        ledger_movements.c.person_id == persons.c.person_id,
        ledger_movements.c.sequence > persons.c.visit_ledger_counted,
    )
    .scalar_subquery()
    .label("uncounted_movements")
)


# Known once both the person's facts and their identity have arrived (two topics).
_PERSON = (
    sa.select(
        persons,
        *[c for c in person_identities.c if c.name != "person_id"],
        _PERSON_SUSPENSIONS,
        _UNCOUNTED_MOVEMENTS,
    )
    .join(person_identities, person_identities.c.person_id == persons.c.person_id)
    .where(persons.c.person_id == sa.bindparam("person_id"))
)


def _suspension(row: Any) -> Suspension:
    return Suspension(
        suspended_from=row["suspended_from"],
        suspended_until=row["suspended_until"],
        ended_on=row["ended_on"],
    )


async def person_by_certificate(conn: AsyncConnection, certificate_no: str) -> str | None:
    value = await conn.scalar(
        sa.select(person_identities.c.person_id).where(
            person_identities.c.certificate_no == certificate_no.upper()
        )
    )
    return None if value is None else str(value)


async def person_chronic_certificates(
    conn: AsyncConnection, person_id: str
) -> list[ChronicCertificate]:
    """Every chronic-disease certificate of the person, revoked ones too; the domain decides."""
    c = chronic_certificates.c
    rows = await conn.execute(
        sa.select(
            c.certificate_id,
            c.disease_code,
            c.disease_name,
            c.valid_from,
            c.valid_to,
            c.revoked_on,
        )
        .where(c.person_id == person_id)
        .order_by(c.certificate_id)
    )
    return [
        ChronicCertificate(
            certificate_id=r.certificate_id,
            disease_code=r.disease_code,
            disease_name=r.disease_name,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            revoked_on=r.revoked_on,
        )
        for r in rows
    ]


_FILINGS = (
    sa.select(
        filings.c.filing_id,
        filings.c.kind,
        filings.c.approved,
        filings.c.cancelled_on,
        filing_versions.c.revision,
        filing_versions.c.changed_on,
        filing_versions.c.visit_region,
        filing_versions.c.destination_institution,
        filing_versions.c.valid_from,
        filing_versions.c.valid_to,
    )
    .join(filing_versions, filing_versions.c.filing_id == filings.c.filing_id)
    .where(filings.c.person_id == sa.bindparam("person_id"))
)


async def person_filings(conn: AsyncConnection, person_id: str) -> list[FilingSnapshot]:
    """Every version of the person's filings; the domain picks the one in force on a day."""
    rows = (await conn.execute(_FILINGS, {"person_id": person_id})).mappings()
    return [
        FilingSnapshot(
            filing_id=r["filing_id"],
            kind=FilingKind(r["kind"]),
            visit_region=r["visit_region"],
            valid_from=r["valid_from"],
            valid_to=r["valid_to"],
            approved=r["approved"],
            institution_code=r["destination_institution"],
            cancelled_on=r["cancelled_on"],
            revision=r["revision"],
            changed_on=r["changed_on"],
        )
        for r in rows
    ]


def policy_query(insured_region: str, insurance_type: str, on: date) -> sa.Select[Any]:
    """The policy in force on `on`: the latest version whose period holds the day."""
    return (
        sa.select(policies)
        .where(
            policies.c.insured_region == insured_region,
            policies.c.insurance_type == insurance_type,
            policies.c.effective_from <= on,
            sa.or_(policies.c.effective_to.is_(None), policies.c.effective_to >= on),
        )
        .order_by(policies.c.version.desc())
        .limit(1)
    )


async def policy(
    conn: AsyncConnection, insured_region: str, insurance_type: str, on: date
) -> BenefitPolicy:
    row = (await conn.execute(policy_query(insured_region, insurance_type, on))).mappings().first()
    return policy_of(row, insured_region, insurance_type, on)


def policy_of(row: Any, insured_region: str, insurance_type: str, on: date) -> BenefitPolicy:
    if row is None:
        raise DomainError(
            "settlement.no_policy",
            f"no {insurance_type} benefit policy of insured place {insured_region} is in force "
            f"on {on}",
            field="insurance_type",
        )
    # The stored document predates its successor: the row's end date is the truth.
    return replace(parse_policy_document(row["document"]), effective_to=row["effective_to"])


def catalogue_query(visit_region: str, codes: Iterable[str]) -> sa.Select[Any]:
    """Every published version of the codes."""
    return sa.select(catalogue_items).where(
        catalogue_items.c.visit_region == visit_region,
        catalogue_items.c.catalogue_code.in_(sorted(set(codes))),
    )


async def catalogue(conn: AsyncConnection, visit_region: str, codes: Iterable[str]) -> Catalogue:
    """Every published version of the codes: each fee line takes the one of its own fee date."""
    wanted = sorted(set(codes))
    if not wanted:
        return Catalogue({})
    rows = (await conn.execute(catalogue_query(visit_region, wanted))).mappings()
    return Catalogue(catalogue_versions(rows))


def catalogue_versions(rows: Iterable[Any]) -> dict[str, tuple[CatalogueVersion, ...]]:
    versions: dict[str, list[CatalogueVersion]] = {}
    for r in rows:
        entry = CatalogueEntry(
            catalogue_code=r["catalogue_code"],
            item_class=ItemClass(r["item_class"]),
            self_pay_ratio=Decimal(r["self_pay_ratio"]).quantize(Decimal("0.0001")),
            price_cap=None if r["price_cap"] is None else Decimal(r["price_cap"]),
            list_type=r["list_type"],
        )
        versions.setdefault(r["catalogue_code"], []).append(
            CatalogueVersion(
                entry=entry, effective_from=r["effective_from"], effective_to=r["effective_to"]
            )
        )
    return {code: tuple(found) for code, found in versions.items()}


async def mapped_codes(
    conn: AsyncConnection, institution_code: str, hospital_codes: Iterable[str]
) -> dict[str, str]:
    wanted = sorted(set(hospital_codes))
    if not wanted:
        return {}
    rows = await conn.execute(
        sa.select(hospital_items.c.hospital_item_code, hospital_items.c.catalogue_code).where(
            hospital_items.c.institution_code == institution_code,
            hospital_items.c.hospital_item_code.in_(wanted),
        )
    )
    return {r.hospital_item_code: r.catalogue_code for r in rows}


async def settlement_row(
    conn: AsyncConnection,
    *,
    settlement_id: str | None = None,
    institution_code: str,
    message_id: str | None = None,
) -> dict[str, Any] | None:
    query = sa.select(settlements).where(settlements.c.institution_code == institution_code)
    if settlement_id is not None:
        query = query.where(settlements.c.settlement_id == settlement_id)
    if message_id is not None:
        query = query.where(settlements.c.message_id == message_id)
    row = (await conn.execute(query.limit(1))).mappings().first()
    return None if row is None else dict(row)
