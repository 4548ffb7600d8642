"""Database engines, and which errors mean a concurrent writer won or a server is away."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Iterable
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
from aiokafka.errors import RequestTimedOutError as KafkaRequestTimedOut
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from yidi_events.kernel.errors import DomainError
from yidi_events.store.event_store import ConcurrencyError

# SQLSTATEs worth retrying the whole transaction for: serialization failure, deadlock.
_RETRYABLE = {"40001", "40P01"}


def is_transient(exc: BaseException) -> bool:
    """A concurrency conflict, serialization failure or deadlock: retrying decides afresh."""
    if isinstance(exc, ConcurrencyError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RETRYABLE


# The text could not be stored: NUL (0x00) is not a character PostgreSQL's text holds, and
# nothing else in valid UTF-8 fails this way.
_UNSTORABLE_TEXT = {"22021", "22P05"}


def is_unstorable_text(exc: BaseException) -> bool:
    """A statement refused because a value held a character PostgreSQL cannot store (NUL)."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _UNSTORABLE_TEXT


# SQLSTATE classes and codes that say the server, not the statement, is the problem: connection
# exceptions (08), insufficient resources (53: too many connections, disk full), operator
# intervention (57P01-57P03: shutting down, crashed, not accepting connections yet), a statement
# timeout or cancellation (57014), and system errors (58).
_UNAVAILABLE_CLASSES = ("08", "53", "58")
_UNAVAILABLE_CODES = {"57P01", "57P02", "57P03", "57014"}
_NETWORK_ERRNOS = {
    errno.ENETDOWN,
    errno.ENETUNREACH,
    errno.EHOSTDOWN,
    errno.EHOSTUNREACH,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
}
_UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
    socket.gaierror,  # the server's name does not resolve (DNS away)
    ConnectionError,  # ConnectionRefusedError, ConnectionResetError, BrokenPipeError...
    TimeoutError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    KafkaConnectionError,
    KafkaTimeoutError,
    KafkaRequestTimedOut,
    NodeNotReadyError,
)


def is_unavailable(exc: BaseException) -> bool:
    """The database or broker could not be reached or gave up on us: nothing about the record or
    command being processed, so it must be retried, never held against it (dead-lettered).

    Looks through the cause chain (SQLAlchemy wraps the driver's error in its own). A domain
    refusal is the record's, whatever it was raised from."""
    if isinstance(exc, DomainError):
        return False
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE_TYPES):
            return True
        code = getattr(current, "sqlstate", None)
        if isinstance(code, str) and (
            code in _UNAVAILABLE_CODES or code.startswith(_UNAVAILABLE_CLASSES)
        ):
            return True
        if isinstance(current, OSError) and (
            current.errno in _NETWORK_ERRNOS or str(current).startswith("Multiple exceptions")
        ):
            return True  # socket-level (asyncio joins several addresses' refusals in one)
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen:
            current = orig
            continue
        current = current.__cause__
    return False


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


def any_of(column: sa.ColumnElement[Any], values: Iterable[Any]) -> sa.ColumnElement[bool]:
    """`column = ANY(:values)`: one array parameter however many values a batch brings, where
    `IN (...)` would bind one parameter each and prepare a new statement per batch size."""
    return column == sa.any_(sa.literal(list(values), ARRAY(column.type)))
