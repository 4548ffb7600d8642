"""The PostgreSQL event store and its companion tables, shared by every service."""

from yidi_events.store.event_store import (
    ConcurrencyError,
    EventStore,
    NewEvent,
    StoredEvent,
    StreamAppend,
)
from yidi_events.store.idempotency import IdempotencyConflict, IdempotencyStore, StoredResponse

__all__ = [
    "ConcurrencyError",
    "EventStore",
    "IdempotencyConflict",
    "IdempotencyStore",
    "NewEvent",
    "StoredEvent",
    "StoredResponse",
    "StreamAppend",
]
