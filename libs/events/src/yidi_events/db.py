"""Database engines and the retrying unit of work."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from yidi_events.store.event_store import ConcurrencyError

T = TypeVar("T")

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


async def in_transaction(
    engine: AsyncEngine,
    work: Callable[[AsyncConnection], Awaitable[T]],
    *,
    attempts: int = 8,
) -> T:
    """Run `work` in one transaction, again from the start when a concurrent writer won.

    `work` must be safe to repeat: it loads, decides and appends inside the transaction, so a
    retry simply decides again on fresher state.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with engine.begin() as conn:
                return await work(conn)
        except (ConcurrencyError, DBAPIError) as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
        await asyncio.sleep(random.uniform(0, 0.002 * attempt))
    raise AssertionError("unreachable")
