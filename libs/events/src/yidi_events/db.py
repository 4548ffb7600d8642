"""Database engines, and which database errors mean a concurrent writer won."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from yidi_events.store.event_store import ConcurrencyError

# SQLSTATEs worth retrying the whole transaction for: serialization failure, deadlock.
_RETRYABLE = {"40001", "40P01"}


def is_transient(exc: BaseException) -> bool:
    """A concurrency conflict, serialization failure or deadlock: retrying decides afresh."""
    if isinstance(exc, ConcurrencyError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RETRYABLE


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def async_dsn(dsn: str) -> str:
    """Accept a plain postgresql:// DSN and use the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+asyncpg://" + dsn[len(prefix) :]
    raise ValueError(f"not a PostgreSQL DSN: {dsn!r}")


def make_engine(dsn: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    return create_async_engine(
        async_dsn(dsn),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip per checkout on every request's hot path.
        pool_pre_ping=False,
        pool_recycle=1800,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        echo=echo,
    )
