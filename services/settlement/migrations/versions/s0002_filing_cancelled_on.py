"""Filings keep their cancellation day as received; coverage is decided in the domain.

Revision ID: settlement_0002
Revises: settlement_0001

A database created by settlement_0001 after the column was declared already has it (`create_all`
there, `IF NOT EXISTS` here). Rows of an older database keep the end date the projection used to
cut at the cancellation, which the domain reads the same way; a rebuild of `insured_facts`
stores them as received.
"""

from alembic import op

revision = "settlement_0002"
down_revision = "settlement_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE filings ADD COLUMN IF NOT EXISTS cancelled_on DATE")


def downgrade() -> None:
    op.execute("ALTER TABLE filings DROP COLUMN IF EXISTS cancelled_on")
