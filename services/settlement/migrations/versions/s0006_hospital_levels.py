"""Hospital levels beyond three: a 三甲 (3a) and a township health centre (1t) need two characters.

Revision ID: settlement_0006
Revises: settlement_0005
"""

from alembic import op

revision = "settlement_0006"
down_revision = "settlement_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE hospitals ALTER COLUMN hospital_level TYPE VARCHAR(2)")


def downgrade() -> None:
    # Only possible while every hospital is priced at a level of one character.
    op.execute("ALTER TABLE hospitals ALTER COLUMN hospital_level TYPE VARCHAR(1)")
