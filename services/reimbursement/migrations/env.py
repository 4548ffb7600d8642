"""Alembic environment of the reimbursement service: its own tables plus libs/events' event-store branch."""

from yidi_events.migrate import run_env
from yidi_reimbursement.adapters.tables import metadata

run_env(metadata)
