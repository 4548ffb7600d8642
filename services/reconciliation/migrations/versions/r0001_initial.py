"""The reconciliation service's own tables.

Revision ID: reconciliation_0001
Branch labels: reconciliation
"""

from alembic import op

from yidi_reconciliation.adapters.tables import metadata

revision = "reconciliation_0001"
down_revision = None
branch_labels = ("reconciliation",)
depends_on = "e0001"


def upgrade() -> None:
    # The first revision creates the tables as declared; later changes get their own revisions.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
