"""The reimbursement service's own tables.

Revision ID: reimbursement_0001
Branch labels: reimbursement
"""

from alembic import op

from yidi_reimbursement.adapters.tables import metadata

revision = "reimbursement_0001"
down_revision = None
branch_labels = ("reimbursement",)
depends_on = "e0001"


def upgrade() -> None:
    # The first revision creates the tables as declared; later changes get their own revisions.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
