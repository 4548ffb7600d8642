"""What caused the events being written: the request's correlation id, and the event a reaction
answers.

A HIS request gets a correlation id at the edge (the caller's `x-correlation-id`, or a new one);
every event written while serving it carries that id. A consumer applying a fact makes it the
cause of whatever its handlers write: same correlation id, causation id = the fact's event id.
So the settlement at the counter, the person-year movement at the insured place, the
reconciliation record and an audit flag it raises all share one correlation id, and each says
which event it answers. Kept in a context variable, like the log context, because the write path
is reached through many layers that have no reason to pass it along.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

import structlog

from yidi_events.envelope import Envelope


@dataclass(frozen=True)
class Cause:
    correlation_id: UUID
    causation_id: UUID | None = None


_current: ContextVar[Cause | None] = ContextVar("yidi_cause", default=None)


def current() -> Cause | None:
    return _current.get()


def from_header(value: str | None) -> UUID:
    """The caller's correlation id when it is one (a UUID); otherwise a new one."""
    if value:
        try:
            return UUID(value)
        except ValueError:
            pass
    return uuid.uuid4()


def headers() -> dict[str, str]:
    """The header that carries the correlation to another service's API."""
    cause = current()
    return {"x-correlation-id": str(cause.correlation_id)} if cause else {}


@contextmanager
def correlated(cause: Cause) -> Iterator[Cause]:
    token = _current.set(cause)
    structlog.contextvars.bind_contextvars(correlation_id=str(cause.correlation_id))
    try:
        yield cause
    finally:
        _current.reset(token)
        structlog.contextvars.unbind_contextvars("correlation_id")


@contextmanager
def caused_by(envelope: Envelope) -> Iterator[Cause]:
    """While a fact is applied: what is written answers it, in its request's correlation."""
    cause = Cause(envelope.correlation_id or envelope.event_id, envelope.event_id)
    with correlated(cause):
        yield cause
