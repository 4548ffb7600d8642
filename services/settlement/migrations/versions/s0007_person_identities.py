"""Persons' identity apart from the rest of their facts: it now arrives on its own topic
(`yidi.filing.identity`, filing.PersonIdentified), in any order relative to filing.PersonEnrolled.

Revision ID: settlement_0007
Revises: settlement_0006
"""

from alembic import op

revision = "settlement_0007"
down_revision = "settlement_0006"
branch_labels = None
depends_on = None

IDENTITY = ("name", "certificate_type", "certificate_no", "gender", "birth_date", "card_serial")


def upgrade() -> None:
    # Revision 0001 creates the tables as declared today, so on a new database this has nothing
    # to do; on an older one the identities move, unchanged, out of `persons`.
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS person_identities (
            person_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            certificate_type TEXT NOT NULL,
            certificate_no TEXT NOT NULL,
            gender TEXT NOT NULL,
            birth_date DATE NOT NULL,
            card_serial TEXT
        )
        """
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_person_identities_certificate_no "
        "ON person_identities (certificate_no)"
    )
    op.execute(
        """
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema()
                         AND table_name = 'persons' AND column_name = 'certificate_no') THEN
                INSERT INTO person_identities
                    (person_id, name, certificate_type, certificate_no, gender, birth_date,
                     card_serial)
                SELECT person_id, name, certificate_type, certificate_no, gender, birth_date,
                       card_serial
                FROM persons
                ON CONFLICT (person_id) DO NOTHING;
            END IF;
        END $$
        """
    )
    for column in IDENTITY:
        op.execute(f"ALTER TABLE persons DROP COLUMN IF EXISTS {column}")


def downgrade() -> None:
    # Back into `persons` (nullable: a person whose identity had not arrived has none).
    for column, kind in zip(IDENTITY, ("TEXT", "TEXT", "TEXT", "TEXT", "DATE", "TEXT"), strict=True):
        op.execute(f"ALTER TABLE persons ADD COLUMN IF NOT EXISTS {column} {kind}")
    op.execute(
        "UPDATE persons p SET "
        + ", ".join(f"{c} = i.{c}" for c in IDENTITY)
        + " FROM person_identities i WHERE i.person_id = p.person_id"
    )
    op.execute("DROP TABLE IF EXISTS person_identities")
