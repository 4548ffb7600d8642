"""The audit service's own tables.

Revision ID: audit_0001
Branch labels: audit
"""

from alembic import op

from yidi_audit.adapters.tables import metadata

revision = "audit_0001"
down_revision = None
branch_labels = ("audit",)
depends_on = "e0001"


def upgrade() -> None:
    # The first revision creates the tables as declared; later changes get their own revisions.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
