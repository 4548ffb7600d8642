"""Retail pharmacies (定点零售药店) in the registry beside hospitals: the kind decides which HIS
transactions an institution may send. Every institution registered before is a hospital.

Revision ID: settlement_0008
Revises: settlement_0007
"""

from alembic import op

revision = "settlement_0008"
down_revision = "settlement_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database created by settlement_0001 after the column was declared already has it.
    op.execute(
        "ALTER TABLE hospitals ADD COLUMN IF NOT EXISTS kind VARCHAR(10) NOT NULL "
        "DEFAULT 'hospital'"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE hospitals DROP COLUMN kind")
