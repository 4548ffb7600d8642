"""The reference data's version: moved by every statement that writes the tables the HIS gateway
keeps per process (adapters/reference_cache.py), so each process knows, in the statement that
claims a request's nonce, whether what it kept is still what the database holds.

Revision ID: settlement_0011
Revises: settlement_0010
"""

from alembic import op

revision = "settlement_0011"
down_revision = "settlement_0010"
branch_labels = None
depends_on = None

# What the counter's hot path keeps per process; item mappings (3301) are not kept.
TABLES = ("hospitals", "hospital_suspensions", "department_suspensions", "policies", "catalogue_items")


def upgrade() -> None:
    op.execute("CREATE SEQUENCE IF NOT EXISTS reference_version_seq")
    # A database created by settlement_0001 after the table was declared already has it.
    op.execute(
        "CREATE TABLE IF NOT EXISTS reference_version ("
        ' singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CONSTRAINT reference_version_one_row'
        ' CHECK (singleton), version BIGINT NOT NULL)'
    )
    op.execute(
        "INSERT INTO reference_version (singleton, version)"
        " VALUES (TRUE, nextval('reference_version_seq')) ON CONFLICT DO NOTHING"
    )
    # Statement-level: one move per writing statement however many rows, also for a TRUNCATE.
    op.execute(
        "CREATE OR REPLACE FUNCTION settlement_reference_changed() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN"
        " UPDATE reference_version SET version = nextval('reference_version_seq');"
        " RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_reference_changed"
            f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION settlement_reference_changed()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_reference_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS settlement_reference_changed()")
    op.execute("DROP TABLE IF EXISTS reference_version")
    op.execute("DROP SEQUENCE IF EXISTS reference_version_seq")
