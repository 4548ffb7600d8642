"""Alembic environment of the clearing service: its own tables plus libs/events' event-store branch."""

from yidi_clearing.adapters.tables import metadata
from yidi_events.migrate import run_env

run_env(metadata)
