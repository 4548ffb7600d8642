"""The clearing service's own tables (projections and write-side invariants); the event store's tables
come from libs/events.

Inputs consumed from other services (one row per input, keyed by its id, so a redelivered event is a
no-op):
- `settlement_inputs`: settlements reconciliation confirmed (DayClosed, DisputedSettlementReleased);
- `day_records`: every settlement reconciliation recorded for an agency pair (DaySettlementRecorded),
  the source of held (not yet closed) settlements and of the hospitals' reconciled monthly totals;
- `deduction_inputs`: clawbacks and routine audit deductions (审核扣款) audit decided.

Own read models and invariants (rebuildable from the clearing event store):
- `statements`: one row per period (primary key: a period never has two statements);
- `statement_items`: every input that entered a statement line (primary key on the item id: an input
  clears in exactly one period, even when two periods are generated concurrently);
- `journal_lines`: the ledger, one row per journal line;
- `period_heads` and `period_lines`: each period stream's version, first approver and every line's
  confirmations and disputes, so that confirming one line of 89,000 reads two rows instead of
  folding the period's whole stream (see `PeriodHandlers.confirm_line`);
- `hospital_applications`: hospital clearing applications (3203), their status, payable and
  payment.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = sa.MetaData()

settlement_inputs = sa.Table(
    "settlement_inputs",
    metadata,
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("insured_agency", sa.Text, nullable=False),
    sa.Column("visit_agency", sa.Text, nullable=False),
    sa.Column("insurance_type", sa.Text, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("fund_total", sa.BigInteger, nullable=False),
    sa.Column("account_paid", sa.BigInteger, nullable=False),
    sa.Column("confirmed_in_month", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),  # day_closed | dispute_released
    sa.Column("close_event_id", sa.Text, nullable=False),
    sa.Index("settlement_inputs_date", "business_date"),
)

day_records = sa.Table(
    "day_records",
    metadata,
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("insured_agency", sa.Text, nullable=False),
    sa.Column("visit_agency", sa.Text, nullable=False),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("clearing_agency", sa.Text, nullable=False),
    sa.Column("clearing_category", sa.Text, nullable=False),
    sa.Column("insurance_type", sa.Text, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("month", sa.Text, nullable=False),
    sa.Column("total_fee", sa.BigInteger, nullable=False),
    sa.Column("fund_total", sa.BigInteger, nullable=False),
    sa.Column("account_paid", sa.BigInteger, nullable=False),
    sa.Column("cash_paid", sa.BigInteger, nullable=False),
    sa.Column("is_refund", sa.Boolean, nullable=False),
    sa.Index(
        "day_records_hospital_month",
        "institution_code",
        "clearing_agency",
        "month",
        "clearing_category",
    ),
    sa.Index("day_records_date", "business_date"),
)

deduction_inputs = sa.Table(
    "deduction_inputs",
    metadata,
    sa.Column("deduction_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("insured_agency", sa.Text, nullable=False),
    sa.Column("visit_agency", sa.Text, nullable=False),
    sa.Column("insurance_type", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("case_id", sa.Text, nullable=False),
    sa.Column("applies_in_month", sa.Text, nullable=False),
    sa.Column("settlement_ids", sa.Text, nullable=False),  # comma-separated, for the drill-down
    # What a fee review relied on (rule, document), shown on the statement's detail; and where
    # the deduction came from: "clawback", "fee_review" or "assist_check".
    sa.Column("evidence", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
)

statements = sa.Table(
    "statements",
    metadata,
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("input_hash", sa.Text, nullable=False),
    sa.Column("generated_on", sa.Date, nullable=False),
    sa.Column("line_count", sa.Integer, nullable=False),
    sa.Column("held_count", sa.Integer, nullable=False),
    # The statement's held items as in the event, so approving and netting read the statement
    # from these rows instead of decoding it; NULL on a row written before the column (rebuild).
    sa.Column("held", JSONB, nullable=True),
)

statement_items = sa.Table(
    "statement_items",
    metadata,
    sa.Column("item_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),  # settlement | audit_deduction | clawback
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("line_id", sa.Text, nullable=False),
    sa.Column("insurance_type", sa.Text, nullable=False),
)

journal_lines = sa.Table(
    "journal_lines",
    metadata,
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("stream_version", sa.Integer, primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("entry_id", sa.Text, nullable=False),
    sa.Column("memo", sa.Text, nullable=False),
    sa.Column("posted_on", sa.Date, nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("debit", sa.BigInteger, nullable=False),
    sa.Column("credit", sa.BigInteger, nullable=False),
    sa.Column("reference", sa.Text, nullable=False),
    sa.UniqueConstraint("entry_id", "line_no", name="journal_lines_entry_line"),
    sa.Index("journal_lines_account", "account"),
)

period_heads = sa.Table(
    "period_heads",
    metadata,
    sa.Column("period", sa.Text, primary_key=True),
    # The version of the stream "clearing-period:<period>" these rows reflect: a line's decision
    # appends at it, so a concurrent writer to the period is refused as with a full fold.
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("first_approver", sa.Text, nullable=True),
)

period_lines = sa.Table(
    "period_lines",
    metadata,
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("line_id", sa.Text, primary_key=True),
    sa.Column("payer_agency", sa.Text, nullable=False),
    sa.Column("receiver_agency", sa.Text, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("parts", JSONB, nullable=False),  # the line's StatementParts, as in the event
    # Agencies, in stream order; empty when the statement's lines are inserted.
    sa.Column("confirmed_by", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("disputed_by", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
)

hospital_applications = sa.Table(
    "hospital_applications",
    metadata,
    sa.Column("clearing_application_id", sa.Text, primary_key=True),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("clearing_agency", sa.Text, nullable=False),
    sa.Column("month", sa.Text, nullable=False),
    sa.Column("clearing_category", sa.Text, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("total_fee", sa.BigInteger, nullable=False),
    sa.Column("fund_total", sa.BigInteger, nullable=False),
    sa.Column("account_paid", sa.BigInteger, nullable=False),
    sa.Column("cash_paid", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("withdrawn", sa.Boolean, nullable=False),
    sa.Column("applied_on", sa.Date, nullable=False),
    sa.Column("changed_on", sa.Date, nullable=False),
    sa.Column("changed_by", sa.Text, nullable=False),
    # Fixed at review (40): reconciled fund + account, less the month's deductions; then paid.
    sa.Column("reimbursable", sa.BigInteger, nullable=True),
    sa.Column("audit_deducted", sa.BigInteger, nullable=True),
    sa.Column("clawed_back", sa.BigInteger, nullable=True),
    sa.Column("payable_amount", sa.BigInteger, nullable=True),
    sa.Column("paid_amount", sa.BigInteger, nullable=True),
    sa.Column("bank_reference", sa.Text, nullable=True),
    sa.Column("paid_on", sa.Date, nullable=True),
    sa.Index("hospital_applications_agency", "clearing_agency", "month"),
)
