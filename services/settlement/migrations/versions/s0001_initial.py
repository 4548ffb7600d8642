"""The settlement service's own tables.

Revision ID: settlement_0001
Branch labels: settlement
"""

from alembic import op

from yidi_settlement.adapters.tables import metadata

revision = "settlement_0001"
down_revision = None
branch_labels = ("settlement",)
depends_on = "e0001"


def upgrade() -> None:
    # The first revision creates the tables as declared; later changes get their own revisions.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
