"""The shape of an aggregate: state is a fold of its events; a command is a pure decision.

    state = fold(evolve, Initial(), past_events)
    new_events = decide_something(state, command, now)   # raises DomainError to refuse

Handlers load the stream, fold it, call the decision and append what it returns with the stream
version they loaded; the event store's unique (stream_id, stream_version) refuses a concurrent
writer. Nothing in a decision does I/O, so every rule is tested in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

S = TypeVar("S")


def fold(evolve: Callable[[S, Any], S], initial: S, events: Iterable[Any]) -> S:
    state = initial
    for event in events:
        state = evolve(state, event)
    return state
