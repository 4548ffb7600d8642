"""The provincial gateways' credentials beside the HIS secret: TIF paasid/token, CSB keys.

Revision ID: settlement_0005
Revises: settlement_0004
"""

from alembic import op

revision = "settlement_0005"
down_revision = "settlement_0004"
branch_labels = None
depends_on = None

_COLUMNS = ("tif_paasid", "tif_token", "csb_access_key", "csb_secret_key")


def upgrade() -> None:
    # A database created by settlement_0001 after these were declared already has them.
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE hospital_secrets ADD COLUMN IF NOT EXISTS {column} TEXT")
    for column in ("tif_paasid", "csb_access_key"):
        op.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS hospital_secrets_{column}_key"
            f" ON hospital_secrets ({column})"
        )


def downgrade() -> None:
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE hospital_secrets DROP COLUMN IF EXISTS {column}")
