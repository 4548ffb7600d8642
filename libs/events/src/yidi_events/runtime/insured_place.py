"""Filing's facts as the rows a service of the visit side keeps of them.

Settlement (at the counter) and reimbursement (at the agency's desk) both price a visit under the
insured place's terms, so both keep a copy of the person, the policy, the person's year and the
filing's terms. What each fact says about those rows is stated here once; each service's
projection writes them into its own tables, adding what only it keeps.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_events import registry
from yidi_events.contracts.filing import (
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
