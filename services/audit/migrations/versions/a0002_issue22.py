"""Issue 22: suspension on suspicion (the interim mark on a suspension, the reports of
suspicion), sanctions on one department (the department a suspension targets), fee deductions.

Revision ID: audit_0002
Revises: audit_0001

Projections of audit's own events: `yidi rebuild audit` fills them from the event store.
"""

from alembic import op

revision = "audit_0002"
down_revision = "audit_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database created by audit_0001 after these were declared already has them.
    op.execute(
        "ALTER TABLE audit_suspensions"
        " ADD COLUMN IF NOT EXISTS interim BOOLEAN NOT NULL DEFAULT false,"
        " ADD COLUMN IF NOT EXISTS review_by DATE,"
        " ADD COLUMN IF NOT EXISTS department TEXT"
    )
    op.execute(
        "CREATE TABLE IF NOT EXISTS audit_suspicion_reports ("
        " case_id TEXT PRIMARY KEY, person_id TEXT NOT NULL, rule_id TEXT NOT NULL,"
        " institution_code TEXT NOT NULL, visit_region TEXT NOT NULL,"
        " insured_region TEXT NOT NULL, centre_region TEXT NOT NULL, cities TEXT[] NOT NULL,"
        " suspicion TEXT NOT NULL, evidence JSONB NOT NULL, reported_by TEXT NOT NULL,"
        " reported_on DATE NOT NULL, review_by DATE NOT NULL)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_audit_suspicion_reports_person_id"
        " ON audit_suspicion_reports (person_id)"
    )


    op.execute(
        "CREATE TABLE IF NOT EXISTS audit_fee_deductions ("
        " deduction_id TEXT PRIMARY KEY, source TEXT NOT NULL, settlement_id TEXT NOT NULL,"
        " person_id TEXT NOT NULL, institution_code TEXT NOT NULL, visit_region TEXT NOT NULL,"
        " insured_region TEXT NOT NULL, cities TEXT[] NOT NULL, insurance_type TEXT NOT NULL,"
        " settled_on DATE NOT NULL, lines JSONB NOT NULL, amount BIGINT NOT NULL,"
        " reason TEXT NOT NULL, evidence TEXT NOT NULL, decided_by TEXT NOT NULL,"
        " decided_on DATE NOT NULL)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_audit_fee_deductions_settlement_id"
        " ON audit_fee_deductions (settlement_id)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS audit_fee_deductions")
    op.execute("DROP TABLE IF EXISTS audit_suspicion_reports")
    op.execute(
        "ALTER TABLE audit_suspensions DROP COLUMN IF EXISTS interim,"
        " DROP COLUMN IF EXISTS review_by, DROP COLUMN IF EXISTS department"
    )
