"""The reconciliation service's own tables (projections and write-side invariants); the event store's tables
come from libs/events.

Two families, rebuilt separately:
- the consumed projection of settlement facts (`settlement_records`, `daily_totals`): what 3201 and
  3202 compare against, rebuilt by re-reading `yidi.settlement.events`;
- the read model of the service's own day-statement events (`day_statements`) and the state the
  settlement recording decides on (`day_state`, `day_settlement_ids`), rebuilt from the service's
  event store.
`detail_files` holds the 9101 uploads and the 3202 result files (not a projection).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = sa.MetaData()

# One row per settlement fact (a settlement, or a cancellation as a negative record of its own).
settlement_records = sa.Table(
    "settlement_records",
    metadata,
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("visit_id", sa.Text, nullable=False),
    sa.Column("person_id", sa.Text, nullable=False),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("clearing_agency", sa.Text, nullable=False),
    sa.Column("insured_region", sa.Text, nullable=False),
    sa.Column("visit_region", sa.Text, nullable=False),
    sa.Column("insurance_type", sa.Text, nullable=False),
    sa.Column("clearing_category", sa.Text, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("total_fee", sa.BigInteger, nullable=False),
    sa.Column("fund_total", sa.BigInteger, nullable=False),
    sa.Column("account_paid", sa.BigInteger, nullable=False),
    sa.Column("cash_paid", sa.BigInteger, nullable=False),
    sa.Column("is_refund", sa.Boolean, nullable=False),
    sa.Column("original_settlement_id", sa.Text, nullable=True),
    sa.Column("fund_payments", JSONB, nullable=False),
    # 2601 undid the call: the hospital never had this settlement, so 3201/3202 leave it out.
    sa.Column("voided", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(
        "settlement_records_scope",
        "institution_code",
        "clearing_agency",
        "business_date",
    ),
)

# Per (institution, clearing agency, insurance type, clearing category, business date).
daily_totals = sa.Table(
    "daily_totals",
    metadata,
    sa.Column("institution_code", sa.Text, primary_key=True),
    sa.Column("clearing_agency", sa.Text, primary_key=True),
    sa.Column("insurance_type", sa.Text, primary_key=True),
    sa.Column("clearing_category", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("total_fee", sa.BigInteger, nullable=False),
    sa.Column("fund_total", sa.BigInteger, nullable=False),
    sa.Column("account_paid", sa.BigInteger, nullable=False),
    sa.Column("cash_paid", sa.BigInteger, nullable=False),
    # The cancellations' share of the figures above, so 3201 without cancellations
    # is the difference, still read from this one row. Defaulted so a bulk load
    # that writes only the totals (the bench's generated day) stays valid with cancellations included.
    sa.Column("refund_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("refund_total_fee", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("refund_fund_total", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("refund_account_paid", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("refund_cash_paid", sa.BigInteger, nullable=False, server_default="0"),
)

# Read model of the day-statement aggregate: one row per (pair, business date).
day_statements = sa.Table(
    "day_statements",
    metadata,
    sa.Column("pair", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("insured_region", sa.Text, nullable=False, index=True),
    sa.Column("visit_region", sa.Text, nullable=False, index=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("total_fee", sa.BigInteger, nullable=False),
    sa.Column("fund_total", sa.BigInteger, nullable=False),
    sa.Column("account_paid", sa.BigInteger, nullable=False),
    sa.Column("cash_paid", sa.BigInteger, nullable=False),
    sa.Column("issued", sa.Boolean, nullable=False),
    sa.Column("insured_confirmed", sa.Boolean, nullable=False),
    sa.Column("visit_confirmed", sa.Boolean, nullable=False),
    sa.Column("open_disputes", sa.Integer, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Column("close_count", sa.Integer, nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
)

# What recording a settlement decides on (`DayHead`), one row per day stream, with the stream's
# version so the append after it still checks that nothing slipped in between. Projected from the
# day-statement events with `day_statements`, in the same transaction as each append.
day_state = sa.Table(
    "day_state",
    metadata,
    sa.Column("pair", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("insured_region", sa.Text, nullable=False),
    sa.Column("visit_region", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("issued", sa.Boolean, nullable=False),
    sa.Column("confirmed_by", ARRAY(sa.Text), nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Column("open_disputes", ARRAY(sa.Text), nullable=False),
)

# Which settlements a day already holds: a redelivered (or re-consumed, in a rebuild of the
# settlement projection) fact is recognised by one index lookup instead of a fold of the day.
day_settlement_ids = sa.Table(
    "day_settlement_ids",
    metadata,
    sa.Column("pair", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("settlement_id", sa.Text, primary_key=True),
)

detail_files = sa.Table(
    "detail_files",
    metadata,
    sa.Column("file_query_no", sa.Text, primary_key=True),
    sa.Column("institution_code", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # upload | result
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("download_until", sa.DateTime(timezone=True), nullable=False),
)
