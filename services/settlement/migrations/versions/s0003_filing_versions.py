"""Filings keep each version of their terms: an admission settles under the version in force when
it began, so a re-referral or a move during a stay must not lose the first hospital's terms.

Revision ID: settlement_0003
Revises: settlement_0002

A database created by settlement_0001 after the table was declared already has it (`create_all`
there, `IF NOT EXISTS` here). An older database's filings get their current terms as the approved
version; the history of changes received before comes back with a rebuild of `insured_facts`.
"""

from alembic import op

revision = "settlement_0003"
down_revision = "settlement_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS filing_versions (
            filing_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            changed_on DATE,
            visit_region VARCHAR(6) NOT NULL,
            destination_institution TEXT,
            valid_from DATE NOT NULL,
            valid_to DATE,
            PRIMARY KEY (filing_id, revision)
        )
        """
    )
    op.execute(
        """
        INSERT INTO filing_versions
            (filing_id, revision, changed_on, visit_region, destination_institution,
             valid_from, valid_to)
        SELECT filing_id, 0, NULL, visit_region, destination_institution, valid_from, valid_to
        FROM filings
        ON CONFLICT DO NOTHING
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS filing_versions")
