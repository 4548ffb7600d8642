"""Deductions keep their evidence and source: a fee-review deduction (审核扣款) shows on the
statement's detail what the reviewer relied on.

Revision ID: clearing_0003
Revises: clearing_0002

A database created by clearing_0001 after these columns were declared already has them.
"""

import sqlalchemy as sa
from alembic import op

revision = "clearing_0003"
down_revision = "clearing_0002"
branch_labels = None
depends_on = None

_COLUMNS = ("evidence", "source")


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("deduction_inputs")}
    for name in _COLUMNS:
        if name not in present:
            op.add_column(
                "deduction_inputs",
                sa.Column(name, sa.Text, nullable=False, server_default=""),
            )


def downgrade() -> None:
    for name in _COLUMNS:
        op.drop_column("deduction_inputs", name)
