"""libs/events' Alembic branch: the event-store tables every service database carries."""
