"""The filing service's own tables.

Revision ID: filing_0001
Branch labels: filing
"""

from alembic import op

from yidi_filing.adapters.tables import metadata

revision = "filing_0001"
down_revision = None
branch_labels = ("filing",)
depends_on = "e0001"


def upgrade() -> None:
    # The first revision creates the tables as declared; later changes get their own revisions.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
