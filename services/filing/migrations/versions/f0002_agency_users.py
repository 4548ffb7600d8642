"""The identity store: agency users and their password hashes.

Revision ID: filing_0002
"""

from alembic import op

from yidi_filing.adapters.tables import agency_users

revision = "filing_0002"
down_revision = "filing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0001 creates the metadata as declared at the time it runs, which now includes this table.
    agency_users.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    agency_users.drop(op.get_bind())
