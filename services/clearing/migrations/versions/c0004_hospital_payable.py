"""Hospital clearing applications keep their payable (fixed at review) and their payment.

Revision ID: clearing_0004
Revises: clearing_0003

A database created by clearing_0001 after these columns were declared already has them. On an
older database the columns start empty: rebuild the `clearing.own` projection once.
"""

import sqlalchemy as sa
from alembic import op

revision = "clearing_0004"
down_revision = "clearing_0003"
branch_labels = None
depends_on = None

_COLUMNS = {
    "reimbursable": sa.BigInteger,
    "audit_deducted": sa.BigInteger,
    "clawed_back": sa.BigInteger,
    "payable_amount": sa.BigInteger,
    "paid_amount": sa.BigInteger,
    "bank_reference": sa.Text,
    "paid_on": sa.Date,
}


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("hospital_applications")}
    for name, kind in _COLUMNS.items():
        if name not in present:
            op.add_column("hospital_applications", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name in _COLUMNS:
        op.drop_column("hospital_applications", name)
