"""The filing service's own tables (projections and write-side invariants); the event store's tables
come from libs/events.

- `person_certificates` is a write-side invariant (one person, one number, seed 004): the handler
  inserts the certificate key after appending `PersonEnrolled`, in the same transaction, and the
  primary key refuses a second basic enrolment. It is not a projection: a rebuild never truncates it.
- `agency_users` is the identity store's write side: one row per login, keyed by user id, the
  login name's key unique (a second "Alice" for "alice" is refused), with the argon2 hash of the
  password, which is in no event. Written by the registering handler after its append.
- `persons`, `filings`, `policies` are read models of the service's own events (see
  `adapters/projection.py`), applied inline by the handlers and rebuildable from the event store.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

# All our enrolments are basic schemes (310 employee, 390 resident): the scheme column keeps room
# for non-basic schemes that may legitimately share a certificate.
person_certificates = sa.Table(
    "person_certificates",
    metadata,
    sa.Column("scheme", sa.Text, primary_key=True),
    sa.Column("certificate_key", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False),
)

agency_users = sa.Table(
    "agency_users",
    metadata,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("roles", JSONB, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
)

persons = sa.Table(
    "persons",
    metadata,
    sa.Column("person_id", sa.Text, primary_key=True),
    sa.Column("insured_region", sa.Text, nullable=False, index=True),
    sa.Column("insurance_type", sa.Text, nullable=False),
    sa.Column("person_category", sa.Text, nullable=False),
    sa.Column("civil_servant", sa.Boolean, nullable=False),
    sa.Column("assistance_identities", JSONB, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("certificate_type", sa.Text, nullable=False),
    sa.Column("certificate_no", sa.Text, nullable=False),
    sa.Column("gender", sa.Text, nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("card_serial", sa.Text),
    sa.Column("account_balance", sa.BigInteger, nullable=False),  # fen
    sa.Column("enrolment_status", sa.Text, nullable=False),
    sa.Column("death_date", sa.Date),
    sa.Column("benefits", sa.Text, nullable=False),  # active / suspended / terminated
    sa.Column("benefits_suspended_from", sa.Date),
    sa.Column("benefits_suspended_until", sa.Date),
    sa.Column("audit_suspensions", JSONB, nullable=False),  # [{case_id, from, until}]
    sa.Column("enrolled_on", sa.Date, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),  # stream version last applied
)

filings = sa.Table(
    "filings",
    metadata,
    sa.Column("filing_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("insured_region", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("long_term_type", sa.Text),
    sa.Column("visit_region", sa.Text, nullable=False),
    sa.Column("destination_institution", sa.Text),
    sa.Column("diagnosis", sa.Text),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date),
    sa.Column("promise_based", sa.Boolean, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("referral_opinion_from", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("submitted_on", sa.Date, nullable=False),
    sa.Column("review_due", sa.Date),
    sa.Column("review_reasons", JSONB, nullable=False),
    sa.Column("decided_on", sa.Date),
    sa.Column("reviewer", sa.Text),
    sa.Column("decision_reason", sa.Text),
    sa.Column("cancelled_on", sa.Date),
    sa.Column("version", sa.Integer, nullable=False),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("insured_region", sa.Text, primary_key=True),
    sa.Column("insurance_type", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("effective_to", sa.Date),
    sa.Column("document", JSONB, nullable=False),  # the published document format
    sa.Column("published_on", sa.Date, nullable=False),
)
