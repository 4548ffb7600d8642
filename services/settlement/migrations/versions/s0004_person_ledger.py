"""The person's year and account: the insured place's statements and our ledger movements.

Revision ID: settlement_0004
Revises: settlement_0003

The stated balance is placed by the ledger sequence it includes, no longer by the time it was
stated. Both tables are projections: `yidi rebuild` fills them from the stored events.
"""

from alembic import op

revision = "settlement_0004"
down_revision = "settlement_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database created by settlement_0001 after these were declared already has them.
    op.execute("ALTER TABLE persons DROP COLUMN IF EXISTS balance_as_of")
    op.execute(
        "ALTER TABLE persons ADD COLUMN IF NOT EXISTS visit_ledger_counted BIGINT NOT NULL DEFAULT 0"
    )
    op.execute(
        "CREATE TABLE IF NOT EXISTS person_years ("
        " person_id TEXT NOT NULL, policy_year INTEGER NOT NULL, totals JSONB NOT NULL,"
        " visit_ledger_counted BIGINT NOT NULL, PRIMARY KEY (person_id, policy_year))"
    )
    op.execute(
        "CREATE TABLE IF NOT EXISTS ledger_movements ("
        " person_id TEXT NOT NULL, sequence BIGINT NOT NULL, policy_year INTEGER NOT NULL,"
        " movement JSONB NOT NULL, PRIMARY KEY (person_id, sequence))"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ledger_movements")
    op.execute("DROP TABLE IF EXISTS person_years")
    op.execute("ALTER TABLE persons DROP COLUMN IF EXISTS visit_ledger_counted")
    op.execute(
        "ALTER TABLE persons ADD COLUMN IF NOT EXISTS balance_as_of TIMESTAMPTZ"
        " NOT NULL DEFAULT now()"
    )
