"""Filing's facts as the rows a service of the visit side keeps of them.

Settlement (at the counter) and reimbursement (at the agency's desk) both price a visit under the
insured place's terms, so both keep a copy of the person, the policy, the person's year and the
filing's terms. What each fact says about those rows is stated here once; each service's
projection writes them into its own tables, adding what only it keeps.

A consumer's batch or a rebuild's page goes through `InsuredPlaceRows`: the run folded per row in
memory, in stream order, then one multi-row statement per table and shape.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events import registry
from yidi_events.contracts.filing import (
    AccountBalanceChanged,
    FilingApproved,
    FilingChanged,
    PersonEnrolled,
    PersonUpdated,
    PersonYearStated,
    PolicyPublished,
)
from yidi_events.envelope import Envelope
from yidi_events.policy_document import policy_document
from yidi_events.runtime.projection import upsert
from yidi_events.runtime.row_fold import RowFold


def policies_table(metadata: sa.MetaData) -> sa.Table:
    """The insured places' published policies, each version with its document (PolicyPublished)."""
    return sa.Table(
        "policies",
        metadata,
        sa.Column("insured_region", sa.String(6), primary_key=True),
        sa.Column("insurance_type", sa.String(3), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date),
        sa.Column("document", JSONB, nullable=False),
    )


def person_years_table(metadata: sa.MetaData, *extra: sa.Column[Any]) -> sa.Table:
    """Each person's year as filing last stated it (PersonYearStated), plus what a service adds."""
    return sa.Table(
        "person_years",
        metadata,
        sa.Column("person_id", sa.Text, primary_key=True),
        sa.Column("policy_year", sa.Integer, primary_key=True),
        sa.Column("totals", JSONB, nullable=False),  # an AccumulatorMovement: the year's sum
        *extra,
    )


def person_terms(p: PersonEnrolled | PersonUpdated) -> dict[str, Any]:
    """Who the person is to the fund: the columns PersonEnrolled states and PersonUpdated
    restates."""
    return {
        "insured_region": p.insured_region,
        "insurance_type": p.insurance_type.value,
        "person_category": p.person_category,
        "civil_servant": p.civil_servant,
        "assistance_identities": [i.value for i in p.assistance_identities],
    }


def person_row(p: PersonEnrolled) -> dict[str, Any]:
    return {"person_id": p.person_id, **person_terms(p), "account_balance": p.account_balance}


def person_year_row(p: PersonYearStated) -> dict[str, Any]:
    # Statements of one person arrive in the order filing made them, so the last one stands.
    return {
        "person_id": p.person_id,
        "policy_year": p.policy_year,
        "totals": registry.encode(p)["totals"],
    }


def filing_version_row(env: Envelope) -> dict[str, Any]:
    """A filing's terms as of one fact, keyed by the fact's place in the filing's stream: an
    admission settles under the version in force when it began."""
    p: FilingApproved | FilingChanged = env.payload
    return {
        "filing_id": p.filing_id,
        "revision": env.stream_version,
        "changed_on": p.changed_on if isinstance(p, FilingChanged) else None,
        "visit_region": p.visit_region,
        "destination_institution": p.destination_institution,
        "valid_from": p.valid_from,
        "valid_to": p.valid_to,
    }


async def publish_policy(conn: AsyncConnection, policies: sa.Table, p: PolicyPublished) -> None:
    """A published version, and the end of the one it supersedes."""
    row = {
        "insured_region": p.insured_region,
        "insurance_type": p.insurance_type.value,
        "version": p.version,
        "effective_from": p.effective_from,
        "effective_to": p.policy.effective_to,
        "document": policy_document(p.policy),
    }
    await upsert(conn, policies, ["insured_region", "insurance_type", "version"], row)
    if p.superseded_version is not None:
        await conn.execute(
            policies.update()
            .where(
                policies.c.insured_region == p.insured_region,
                policies.c.insurance_type == p.insurance_type.value,
                policies.c.version == p.superseded_version,
            )
            .values(effective_to=p.superseded_effective_to)
        )


# Filing's facts both services fold the same way; each service's batch handler takes them with
# what it adds. PolicyPublished stays one at a time: rare, and it changes two versions' rows.
PERSON_FACTS = (PersonEnrolled, PersonUpdated, AccountBalanceChanged, PersonYearStated)
FILING_FACTS = (FilingApproved, FilingChanged)


class InsuredPlaceRows:
    """The persons, person years and filing versions a run of filing's facts leaves, folded in
    stream order (`RowFold`): each method states what one fact does, with the columns the
    service adds (`extra`); `write` leaves the tables as the facts one by one would."""

    def __init__(
        self, persons: sa.Table, person_years: sa.Table, filing_versions: sa.Table
    ) -> None:
        self.persons = RowFold(persons)
        self.person_years = RowFold(person_years)
        self.filing_versions = RowFold(filing_versions)

    def enrolled(self, p: PersonEnrolled, **extra: Any) -> None:
        self.persons.upsert({**person_row(p), **extra})

    def updated(self, p: PersonUpdated) -> None:
        # Only a person already known changes: an update before the enrolment is lost, as before.
        self.persons.update({"person_id": p.person_id}, person_terms(p))

    def balance(self, p: AccountBalanceChanged, **extra: Any) -> None:
        self.persons.update(
            {"person_id": p.person_id}, {"account_balance": p.account_balance, **extra}
        )

    def year(self, p: PersonYearStated, **extra: Any) -> None:
        self.person_years.upsert({**person_year_row(p), **extra})

    def filing(self, env: Envelope, **extra: Any) -> None:
        self.filing_versions.upsert({**filing_version_row(env), **extra})

    async def write(self, conn: AsyncConnection) -> None:
        for rows in (self.persons, self.person_years, self.filing_versions):
            await rows.write(conn)
