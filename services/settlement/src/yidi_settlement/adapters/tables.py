"""The settlement service's own tables (projections and write-side invariants); the event store's tables
come from libs/events.

Three groups:
- reference data the visit-place agency manages (hospitals, catalogue, item mappings), projected
  from the service's own events; HIS secrets live apart, never in an event;
- the insured places' facts as this side needs them (persons, filings, policies, suspensions),
  projected from filing and audit events;
- visits and settlements, read models of the service's own visit facts.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from yidi_events.runtime.insured_place import person_years_table, policies_table

metadata = sa.MetaData()

# --- reference data (own events) ----------------------------------------------------------------

hospitals = sa.Table(
    "hospitals",
    metadata,
    sa.Column("institution_code", sa.Text, primary_key=True),
    sa.Column("institution_name", sa.Text, nullable=False),
    sa.Column("region", sa.String(6), nullable=False, index=True),
    sa.Column("hospital_level", sa.String(2), nullable=False),
    sa.Column("networked", sa.Boolean, nullable=False),
    sa.Column("suspended", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("suspended_until", sa.Date),
    sa.Column("clearing_agency", sa.String(6), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False, server_default="hospital"),
)

# Not a projection: the signing secret never travels in an event.
hospital_secrets = sa.Table(
    "hospital_secrets",
    metadata,
    sa.Column("institution_code", sa.Text, primary_key=True),
    sa.Column("his_secret", sa.Text, nullable=False),
    # The provincial gateways' credentials (TIF paasid/token, CSB access/secret key): the id
    # half names the institution, so each is unique.
    sa.Column("tif_paasid", sa.Text, unique=True),
    sa.Column("tif_token", sa.Text),
    sa.Column("csb_access_key", sa.Text, unique=True),
    sa.Column("csb_secret_key", sa.Text),
)

# Account details (bank account for clearing payouts) are agency data, not an event either.
hospital_accounts = sa.Table(
    "hospital_accounts",
    metadata,
    sa.Column("institution_code", sa.Text, primary_key=True),
    sa.Column("account", JSONB, nullable=False),
)

catalogue_items = sa.Table(
    "catalogue_items",
    metadata,
    sa.Column("visit_region", sa.String(6), primary_key=True),
    sa.Column("catalogue_code", sa.Text, primary_key=True),
    sa.Column("effective_from", sa.Date, primary_key=True),
    sa.Column("effective_to", sa.Date),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("item_class", sa.String(2), nullable=False),
    sa.Column("self_pay_ratio", sa.Numeric(5, 4), nullable=False),
    sa.Column("price_cap", sa.Numeric(16, 6)),
    sa.Column("list_type", sa.Text, nullable=False),
)

hospital_items = sa.Table(
    "hospital_items",
    metadata,
    sa.Column("institution_code", sa.Text, primary_key=True),
    sa.Column("hospital_item_code", sa.Text, primary_key=True),
    sa.Column("catalogue_code", sa.Text, nullable=False),
    sa.Column("tags", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
)

# --- insured places' facts (filing and audit events) --------------------------------------------

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
    # The highest ledger sequence of ours the stated balance includes: later ones still count.
    sa.Column("visit_ledger_counted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("enrolment_status", sa.Text, nullable=False),
    sa.Column("terminated_from", sa.Date),
    sa.Column("death_date", sa.Date),
)

# Who each person is (filing.PersonIdentified, from `yidi.filing.identity`, the only topic
# carrying identity): apart from `persons` because it arrives on another topic, in any order
# relative to the person's other facts; a person is known here once both rows exist.
person_identities = sa.Table(
    "person_identities",
    metadata,
    sa.Column("person_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("certificate_type", sa.Text, nullable=False),
    sa.Column("certificate_no", sa.Text, nullable=False, index=True),
    sa.Column("gender", sa.Text, nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("card_serial", sa.Text),
)

filings = sa.Table(
    "filings",
    metadata,
    sa.Column("filing_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("visit_region", sa.String(6), nullable=False),
    sa.Column("destination_institution", sa.Text),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date),
    sa.Column("approved", sa.Boolean, nullable=False),
    sa.Column("cancelled_on", sa.Date),
)

# Each version of a filing's terms, keyed by its place in the filing's stream: a change takes
# effect from its day, and an admission begun before it keeps the version it began under.
filing_versions = sa.Table(
    "filing_versions",
    metadata,
    sa.Column("filing_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("changed_on", sa.Date),  # None: the terms as approved
    sa.Column("visit_region", sa.String(6), nullable=False),
    sa.Column("destination_institution", sa.Text),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date),
)

# Chronic-disease certificates (门诊慢特病备案) the insured places issued: a med type 14 visit
# settles only for a disease certified on its day.
chronic_certificates = sa.Table(
    "chronic_certificates",
    metadata,
    sa.Column("certificate_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("disease_code", sa.Text, nullable=False),
    sa.Column("disease_name", sa.Text, nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date),
    sa.Column("revoked_on", sa.Date),
)

policies = policies_table(metadata)

# Direct-settlement suspensions of a person: by the insured place (filing) or an audit case.
person_suspensions = sa.Table(
    "person_suspensions",
    metadata,
    sa.Column("person_id", sa.Text, primary_key=True),
    sa.Column("suspension_key", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("suspended_from", sa.Date, nullable=False),
    sa.Column("suspended_until", sa.Date),
    sa.Column("ended_on", sa.Date),
)

hospital_suspensions = sa.Table(
    "hospital_suspensions",
    metadata,
    sa.Column("institution_code", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("suspended_from", sa.Date, nullable=False),
    sa.Column("suspended_until", sa.Date, nullable=False),
    sa.Column("ended_on", sa.Date),
)

# An audit sanction on one department of a hospital: only visits of that department are refused.
department_suspensions = sa.Table(
    "department_suspensions",
    metadata,
    sa.Column("institution_code", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("department", sa.Text, nullable=False),
    sa.Column("suspended_from", sa.Date, nullable=False),
    sa.Column("suspended_until", sa.Date, nullable=False),
    sa.Column("ended_on", sa.Date),
)

# --- the reference data's version ---------------------------------------------------------------

# One row: a number every statement that writes the reference data the counter's hot path keeps per
# process (hospitals, their sanctions, policies, the catalogue) moves, from a sequence (never
# reused, not even by a rolled-back writer). Triggers move it (migration settlement_0011), so
# every writer counts: projections, a rebuild's swap, an operator's psql.
reference_version = sa.Table(
    "reference_version",
    metadata,
    sa.Column("singleton", sa.Boolean, primary_key=True, server_default=sa.true()),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.CheckConstraint("singleton", name="reference_version_one_row"),
)

# --- visits and settlements (own events) --------------------------------------------------------

visits = sa.Table(
    "visits",
    metadata,
    sa.Column("visit_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("insured_region", sa.String(6), nullable=False),
    sa.Column("visit_region", sa.String(6), nullable=False),
    sa.Column("insurance_type", sa.String(3), nullable=False),
    sa.Column("medical_type", sa.Text, nullable=False),
    sa.Column("began_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("discharged_on", sa.Date),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("emergency", sa.Boolean, nullable=False),
    sa.Column("filing_id", sa.Text),
    sa.Column("message_id", sa.Text),
    sa.Index("visits_by_message", "institution_code", "message_id"),
)

settlements = sa.Table(
    "settlements",
    metadata,
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("visit_id", sa.Text, nullable=False, index=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("is_refund", sa.Boolean, nullable=False),
    sa.Column("original_settlement_id", sa.Text),
    sa.Column("cancelled_by", sa.Text),
    sa.Column("message_id", sa.Text, nullable=False),
    sa.Column("insured_region", sa.String(6), nullable=False),
    sa.Column("visit_region", sa.String(6), nullable=False),
    sa.Column("clearing_agency", sa.String(6), nullable=False),
    sa.Column("clearing_category", sa.Text, nullable=False),
    sa.Column("insurance_type", sa.String(3), nullable=False),
    sa.Column("medical_type", sa.Text, nullable=False),
    sa.Column("totals", JSONB, nullable=False),
    sa.Column("fund_payments", JSONB, nullable=False),
    sa.Column("account_paid", sa.BigInteger, nullable=False),
    sa.Column("account_balance_after", sa.BigInteger),
    sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Index("settlements_by_message", "institution_code", "message_id"),
)

# The insured place's latest statement of a person's policy year (filing.PersonYearStated).
person_years = person_years_table(
    metadata, sa.Column("visit_ledger_counted", sa.BigInteger, nullable=False)
)

# Our own movements of each person's ledger (settlement.PersonLedgerMoved), by sequence.
ledger_movements = sa.Table(
    "ledger_movements",
    metadata,
    sa.Column("person_id", sa.Text, primary_key=True),
    sa.Column("sequence", sa.BigInteger, primary_key=True),
    sa.Column("policy_year", sa.Integer, nullable=False),
    sa.Column("movement", JSONB, nullable=False),  # an AccumulatorMovement
)
