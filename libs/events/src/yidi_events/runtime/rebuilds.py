"""Each service's projections and how to rebuild them, as the service declares them (the admin API
behind `yidi rebuild` runs these inside the service):
- own projections: the read models a service keeps inline in the writing transaction (its
  runtime's `own`); rebuilt from its event store with `rebuild_from_store`;
- consumed projections: its runtime's consumers (read models and reactions); rebuilt with
  `Consumer.rebuild` (re-read the source topics).
Both build beside the live tables and swap (`yidi_events.runtime.shadow`): the service keeps
answering and writing meanwhile, and nothing committed during the rebuild is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from yidi_events.runtime.consumer import Consumer
from yidi_events.runtime.projection import Progress, Projection, rebuild_from_store

if TYPE_CHECKING:  # the service module builds its admin API on this one
    from yidi_events.service import Runtime


@dataclass(frozen=True)
class Found:
    name: str
    kind: str  # "own" (from the event store) or "consumed" (from topics)
    projection: Projection
    consumer: Consumer | None = None
    sources: tuple[str, ...] = ()


def projections(runtime: Runtime) -> list[Found]:
    found = [Found(own.name, "own", own) for own in runtime.own]
    found += [
        Found(c.name, "consumed", c.projection, c, tuple(t.split(".")[-2] for t in c.topics))
        for c in runtime.consumers
    ]
    return found


def find(runtime: Runtime, name: str) -> Found:
    every = projections(runtime)
    for item in every:
        # The full name, or without the service's prefix ("read_models" for filing.read_models).
        if name in (item.name, item.name.removeprefix(f"{runtime.name}.")):
            return item
    names = ", ".join(i.name for i in every)
    raise LookupError(f"{runtime.name} has no projection {name!r}; it has: {names}")


async def rebuild(runtime: Runtime, found: Found, progress: Progress | None = None) -> int:
    if found.consumer is not None:
        return await found.consumer.rebuild(progress)
    return await rebuild_from_store(
        runtime.engine, runtime.store, found.projection, progress=progress
    )
