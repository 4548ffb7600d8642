"""The clearing service's own tables.

Revision ID: clearing_0001
Branch labels: clearing
"""

from alembic import op

from yidi_clearing.adapters.tables import metadata

revision = "clearing_0001"
down_revision = None
branch_labels = ("clearing",)
depends_on = "e0001"


def upgrade() -> None:
    # The first revision creates the tables as declared; later changes get their own revisions.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
