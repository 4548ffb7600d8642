"""A statement row keeps its held items, so the whole period is read from rows, not decoded; a
line's confirmations and disputes start empty by default, so its row is inserted with the others
of its statement in one statement.

Revision ID: clearing_0005
Revises: clearing_0004

A database created by clearing_0001 after the column was declared already has it. On an older
database it starts NULL, and a period whose row has none is folded from its stream as before
until the `clearing.own` projection is rebuilt once.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "clearing_0005"
down_revision = "clearing_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("statements")}
    if "held" not in present:
        op.add_column("statements", sa.Column("held", JSONB, nullable=True))
    for column in ("confirmed_by", "disputed_by"):
        op.alter_column("period_lines", column, server_default=sa.text("'{}'"))


def downgrade() -> None:
    for column in ("confirmed_by", "disputed_by"):
        op.alter_column("period_lines", column, server_default=None)
    op.drop_column("statements", "held")
