"""Alembic environment of the filing service: its own tables plus libs/events' event-store branch."""

from yidi_events.migrate import run_env
from yidi_filing.adapters.tables import metadata

run_env(metadata)
