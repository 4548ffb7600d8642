"""Alembic environment of the settlement service: its own tables plus libs/events' event-store branch."""

from yidi_events.migrate import run_env
from yidi_settlement.adapters.tables import metadata

run_env(metadata)
