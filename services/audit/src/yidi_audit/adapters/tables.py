"""The audit service's own tables (projections and write-side invariants); the event store's tables
come from libs/events.

Three groups:
- consumed facts (projections of settlement and filing events): each person's audit history, the
  fee lines of visits not yet settled, and the 协查 pool of high-cost admissions;
- write-side guards: a flag fingerprint is raised once (`audit_flag_keys`);
- read models of audit's own events (flags, cases, sanctions, 协查, tickets, complaints), applied
  inline after each append and rebuildable from the event store.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = sa.MetaData()

# --- consumed facts ----------------------------------------------------------------------------

fee_lines = sa.Table(
    "audit_fee_lines",
    metadata,
    sa.Column("visit_id", sa.Text, primary_key=True),
    sa.Column("fee_line_no", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False),
    sa.Column("line", JSONB, nullable=False),  # facts.FeeLine as JSON
)

visit_facts = sa.Table(
    "audit_visit_facts",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("kind", sa.Text, nullable=False),  # settled | cancelled
    sa.Column("settlement_id", sa.Text, nullable=False),
    sa.Column("fact", JSONB, nullable=False),  # facts.SettledVisit / CancelledSettlement as JSON
)

death_facts = sa.Table(
    "audit_death_facts",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("fact", JSONB, nullable=False),  # facts.PersonDeath as JSON
)

investigation_pool = sa.Table(
    "audit_investigation_pool",
    metadata,
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("settled_on", sa.Date, nullable=False, index=True),
    sa.Column("cancelled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("item", JSONB, nullable=False),  # contracts.audit.InvestigationItem as JSON
)

# --- write-side guards -------------------------------------------------------------------------

flag_keys = sa.Table(
    "audit_flag_keys",
    metadata,
    sa.Column("flag_id", sa.Text, primary_key=True),
)

# --- read models of audit's own events ---------------------------------------------------------

flags = sa.Table(
    "audit_flags",
    metadata,
    sa.Column("flag_id", sa.Text, primary_key=True),
    sa.Column("rule_id", sa.Text, nullable=False),
    sa.Column("rule_version", sa.Integer, nullable=False),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("cities", ARRAY(sa.Text), nullable=False),  # visit and insured cities of the evidence
    sa.Column("amount_at_issue", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("raised_on", sa.Date, nullable=False),
    sa.Column("settlement_ids", ARRAY(sa.Text), nullable=False),
    sa.Column("evidence_event_ids", ARRAY(sa.Text), nullable=False),
    sa.Column("evidence", JSONB, nullable=False),
    sa.Column("case_id", sa.Text, nullable=True),
)

cases = sa.Table(
    "audit_cases",
    metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("rule_id", sa.Text, nullable=False),
    sa.Column("person_id", sa.Text, nullable=False),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("visit_region", sa.Text, nullable=False),
    sa.Column("insured_region", sa.Text, nullable=False),
    sa.Column("cities", ARRAY(sa.Text), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("decided_on", sa.Date, nullable=True),
    sa.Column("decided_by", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("flag_ids", ARRAY(sa.Text), nullable=False),
    sa.Column("evidence", JSONB, nullable=False),
    # One open case per (person, rule): a new flag joins it instead of opening another.
    sa.Index(
        "audit_cases_one_open",
        "person_id",
        "rule_id",
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    ),
)

suspensions = sa.Table(
    "audit_suspensions",
    metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),  # person | hospital | department
    sa.Column("subject", sa.Text, nullable=False),  # person id or institution code
    sa.Column("department", sa.Text, nullable=True),  # kind department: its code
    sa.Column("region", sa.Text, nullable=False),  # insured region (person) / visit region
    sa.Column("cities", ARRAY(sa.Text), nullable=False),
    sa.Column("suspended_from", sa.Date, nullable=False),
    sa.Column("suspended_until", sa.Date, nullable=False, index=True),
    sa.Column("ended_on", sa.Date, nullable=True),
    sa.Column("end_reason", sa.Text, nullable=True),
    sa.Column("decided_by", sa.Text, nullable=False),
    # On suspicion, pending the case; a sanction continuing it replaces the row.
    sa.Column("interim", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("review_by", sa.Date, nullable=True),
)

suspicion_reports = sa.Table(
    "audit_suspicion_reports",
    metadata,
    sa.Column("case_id", sa.Text, primary_key=True),
    sa.Column("person_id", sa.Text, nullable=False, index=True),
    sa.Column("rule_id", sa.Text, nullable=False),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("visit_region", sa.Text, nullable=False),
    sa.Column("insured_region", sa.Text, nullable=False),
    sa.Column("centre_region", sa.Text, nullable=False),
    sa.Column("cities", ARRAY(sa.Text), nullable=False),  # the visit and insured cities
    sa.Column("suspicion", sa.Text, nullable=False),
    sa.Column("evidence", JSONB, nullable=False),
    sa.Column("reported_by", sa.Text, nullable=False),
    sa.Column("reported_on", sa.Date, nullable=False),
    sa.Column("review_by", sa.Date, nullable=False),
)

clawbacks = sa.Table(
    "audit_clawbacks",
    metadata,
    sa.Column("clawback_id", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("person_id", sa.Text, nullable=False),
    sa.Column("settlement_ids", ARRAY(sa.Text), nullable=False),
    sa.Column("insured_region", sa.Text, nullable=False),
    sa.Column("visit_region", sa.Text, nullable=False),
    sa.Column("insurance_type", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("decided_on", sa.Date, nullable=False),
)

fee_deductions = sa.Table(
    "audit_fee_deductions",
    metadata,
    sa.Column("deduction_id", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),  # fee_review | assist_check
    sa.Column("settlement_id", sa.Text, nullable=False, index=True),
    sa.Column("person_id", sa.Text, nullable=False),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("visit_region", sa.Text, nullable=False),
    sa.Column("insured_region", sa.Text, nullable=False),
    sa.Column("cities", ARRAY(sa.Text), nullable=False),
    sa.Column("insurance_type", sa.Text, nullable=False),
    sa.Column("settled_on", sa.Date, nullable=False),
    sa.Column("lines", JSONB, nullable=False),  # [{fee_line_id, amount, reason}]
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("decided_on", sa.Date, nullable=False),
)

batches = sa.Table(
    "audit_investigation_batches",
    metadata,
    sa.Column("batch_id", sa.Text, primary_key=True),
    sa.Column("window_from", sa.Date, nullable=False),
    sa.Column("window_to", sa.Date, nullable=False),
    sa.Column("built_on", sa.Date, nullable=False),
    sa.Column("answer_by", sa.Date, nullable=False),
    sa.Column("rolled_over_count", sa.Integer, nullable=False),
)

batch_items = sa.Table(
    "audit_investigation_items",
    metadata,
    sa.Column("batch_id", sa.Text, primary_key=True),
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("visit_region", sa.Text, nullable=False),
    sa.Column("insured_region", sa.Text, nullable=False),
    sa.Column("cities", ARRAY(sa.Text), nullable=False),
    sa.Column("item", JSONB, nullable=False),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("answered_on", sa.Date, nullable=True),
    sa.Column("confirm_by", sa.Date, nullable=True),
    sa.Column("late", sa.Boolean, nullable=True),
    sa.Column("confirmed_on", sa.Date, nullable=True),
    sa.Column("automatic", sa.Boolean, nullable=True),
    sa.Column("rolled_to", sa.Text, nullable=True),
)

tickets = sa.Table(
    "audit_tickets",
    metadata,
    sa.Column("ticket_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("requester_region", sa.Text, nullable=False),
    sa.Column("receiver_region", sa.Text, nullable=False),
    sa.Column("cities", ARRAY(sa.Text), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("person_id", sa.Text, nullable=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("raised_on", sa.Date, nullable=False),
    sa.Column("reply_by", sa.Date, nullable=False),
    sa.Column("answer", sa.Text, nullable=True),
    sa.Column("replied_on", sa.Date, nullable=True),
    sa.Column("confirm_by", sa.Date, nullable=True),
    sa.Column("late", sa.Boolean, nullable=True),
    sa.Column("confirmed_on", sa.Date, nullable=True),
    sa.Column("automatic", sa.Boolean, nullable=True),
)

complaints = sa.Table(
    "audit_complaints",
    metadata,
    sa.Column("complaint_id", sa.Text, primary_key=True),
    sa.Column("agency_region", sa.Text, nullable=False),
    sa.Column("city", sa.Text, nullable=False),
    sa.Column("person_id", sa.Text, nullable=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("due", sa.Date, nullable=True),
    sa.Column("outcome", sa.Text, nullable=True),
    sa.Column("notified_on", sa.Date, nullable=True),
    sa.Column("notified_channel", sa.Text, nullable=True),
)

FACT_TABLES = (fee_lines, visit_facts, investigation_pool)
DEATH_TABLES = (death_facts,)
OWN_TABLES = (
    flags,
    cases,
    suspensions,
    suspicion_reports,
    clawbacks,
    fee_deductions,
    batches,
    batch_items,
    tickets,
    complaints,
)
