"""The reimbursement service's own tables; the event store's come from libs/events.

- `insured_facts` (consumed from filing and settlement, rebuilt from their topics): persons,
  policies, person years as filing states them (and which claims they count), visits settled
  directly;
- `claims_own` (the service's own events, rebuilt from its store): the claims as the agency and
  the person see them, their deadlines, the notifications outbox, payment batches;
- `claimed_invoices`: the write-side invariant "an invoice is claimed once" (a unique key, written
  in the unit that receives the claim), never rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from yidi_events.runtime.insured_place import person_years_table, policies_table

metadata = sa.MetaData()

# --- write side ---------------------------------------------------------------------------------

claimed_invoices = sa.Table(
    "claimed_invoices",
    metadata,
    sa.Column("invoice_code", sa.Text, primary_key=True),
    sa.Column("invoice_number", sa.Text, primary_key=True),
    sa.Column("claim_id", sa.Text, nullable=False),
)

# --- consumed facts -----------------------------------------------------------------------------

persons = sa.Table(
    "persons",
    metadata,
    sa.Column("person_id", sa.Text, primary_key=True),
    sa.Column("insured_region", sa.String(6), nullable=False),
    sa.Column("insurance_type", sa.String(3), nullable=False),
    sa.Column("person_category", sa.Text, nullable=False),
    sa.Column("civil_servant", sa.Boolean, nullable=False),
    sa.Column("assistance_identities", JSONB, nullable=False),
    sa.Column("account_balance", sa.BigInteger, nullable=False),
)

policies = policies_table(metadata)

person_years = person_years_table(metadata)

# Claims filing has counted in a statement (PersonYearStated of source "reimbursement").
counted_claims = sa.Table(
    "counted_claims",
    metadata,
    sa.Column("claim_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False),
)

# Each version of a person's filings (approval, then each change), for the filing a claim is
# accepted under; a cancellation marks every version of its filing.
filing_versions = sa.Table(
    "filing_versions",
    metadata,
    sa.Column("filing_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),  # the event's version in its stream
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("visit_region", sa.String(6), nullable=False),
    sa.Column("destination_institution", sa.Text),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date),
    sa.Column("changed_on", sa.Date),
    sa.Column("cancelled_on", sa.Date),
)

settled_visits = sa.Table(
    "settled_visits",
    metadata,
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("admitted_on", sa.Date, nullable=False),
    sa.Column("discharged_on", sa.Date, nullable=False),
    sa.Column("cancelled", sa.Boolean, nullable=False, server_default=sa.false()),
)

# --- own read models ----------------------------------------------------------------------------

claims = sa.Table(
    "claims",
    metadata,
    sa.Column("claim_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("insured_region", sa.String(6), nullable=False, index=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("admitted_on", sa.Date, nullable=False),
    sa.Column("discharged_on", sa.Date, nullable=False),
    sa.Column("claimed_total", sa.BigInteger, nullable=False),
    sa.Column("step", sa.Text, nullable=False),
    sa.Column("due_on", sa.Date),  # the current step's deadline; null once closed
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("filing_kind", sa.Text),
    sa.Column("reviewers", JSONB, nullable=False),
    sa.Column("reviewers_needed", sa.Integer, nullable=False),
    sa.Column("policy_year", sa.Integer),
    sa.Column("approval", JSONB),  # totals, fund payments, movement, payable
    sa.Column("payable", sa.BigInteger),
    sa.Column("bank_account", sa.Text, nullable=False),
    sa.Column("payment_batch", sa.Text),
    sa.Column("refusal", sa.Text),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("event_id", sa.Uuid, primary_key=True),  # one per fact told: a rebuild is the same
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("claim_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

payment_batches = sa.Table(
    "payment_batches",
    metadata,
    sa.Column("batch_id", sa.Text, primary_key=True),
    sa.Column("insured_region", sa.String(6), nullable=False),
    sa.Column("exported_on", sa.Date, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("file", sa.Text, nullable=False),
)
