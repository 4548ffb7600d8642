"""Event store, idempotency, relay checkpoints, consumer bookkeeping, request nonces.

Revision ID: e0001
Branch labels: events
"""

from alembic import op

from yidi_events.store.schema import metadata

revision = "e0001"
down_revision = None
branch_labels = ("events",)
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
