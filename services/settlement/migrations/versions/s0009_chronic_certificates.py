"""Chronic-disease certificates from the insured places (filing.ChronicDiseaseCertified/Revoked).

Revision ID: settlement_0009
Revises: settlement_0008

A projection: `yidi rebuild` fills it from the stored events.
"""

from alembic import op

revision = "settlement_0009"
down_revision = "settlement_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database created by settlement_0001 after the table was declared already has it.
    op.execute(
        "CREATE TABLE IF NOT EXISTS chronic_certificates ("
        " certificate_id TEXT PRIMARY KEY, person_id TEXT NOT NULL, disease_code TEXT NOT NULL,"
        " disease_name TEXT NOT NULL, valid_from DATE NOT NULL, valid_to DATE, revoked_on DATE)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_chronic_certificates_person_id"
        " ON chronic_certificates (person_id)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS chronic_certificates")
