"""Alembic environment for databases that carry only the event-store tables (libs/events tests)."""

from yidi_events.migrate import run_env

run_env()
