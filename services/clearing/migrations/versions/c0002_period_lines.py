"""Period heads and lines: per-line confirmation state, so a line's decision reads two rows.

Revision ID: clearing_0002
Revises: clearing_0001

A database created by clearing_0001 after these tables were declared already has them
(`create_all` there, `checkfirst` here). On an older database they start empty: rebuild the
`clearing.own` projection from the store once (`rebuild_from_store`) before serving.
"""

from alembic import op

from yidi_clearing.adapters.tables import metadata, period_heads, period_lines

revision = "clearing_0002"
down_revision = "clearing_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind(), tables=[period_heads, period_lines], checkfirst=True)


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=[period_lines, period_heads], checkfirst=True)
