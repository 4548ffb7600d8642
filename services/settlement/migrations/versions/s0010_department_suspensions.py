"""Audit sanctions on one department of a hospital (audit.DepartmentSuspended/...Ended).

Revision ID: settlement_0010
Revises: settlement_0009

A projection: `yidi rebuild` fills it from the stored events.
"""

from alembic import op

revision = "settlement_0010"
down_revision = "settlement_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database created by settlement_0001 after the table was declared already has it.
    op.execute(
        "CREATE TABLE IF NOT EXISTS department_suspensions ("
        " institution_code TEXT NOT NULL, case_id TEXT NOT NULL, department TEXT NOT NULL,"
        " suspended_from DATE NOT NULL, suspended_until DATE NOT NULL, ended_on DATE,"
        " PRIMARY KEY (institution_code, case_id))"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS department_suspensions")
