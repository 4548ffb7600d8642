"""Each service's projections and how to rebuild them.

Two kinds, found from the service itself:
- consumed projections: the service's `bootstrap.subscriptions()`, as its runtime wires them into
  consumers; rebuilt with `Consumer.rebuild` (reset, then re-read the source topics);
- own projections: the read models a service applies inline after each append; rebuilt from its
  event store with `rebuild_from_store`. Bootstraps do not expose them by one name yet, so the
  factory of each is named here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from yidi_events.runtime.consumer import Consumer
from yidi_events.runtime.projection import Progress, Projection, rebuild_from_store
from yidi_events.service import Runtime

OWN_PROJECTIONS: dict[str, str] = {
    "filing": "yidi_filing.adapters.projection:read_models",
    "settlement": "yidi_settlement.adapters.own_facts:make_projection",
    "reconciliation": "yidi_reconciliation.adapters.day_views:make_day_projection",
    "clearing": "yidi_clearing.app.projection:own_projection",
    "audit": "yidi_audit.adapters.read_models:own_projection",
}


@dataclass(frozen=True)
class Found:
    name: str
    kind: str  # "own" (from the event store) or "consumed" (from topics)
    projection: Projection
    consumer: Consumer | None = None
    sources: tuple[str, ...] = ()


def own_projection(service: str) -> Projection:
    module, factory = OWN_PROJECTIONS[service].split(":")
    projection: Projection = getattr(importlib.import_module(module), factory)()
    return projection


def projections(runtime: Runtime) -> list[Found]:
    own = own_projection(runtime.name)
    found = [Found(own.name, "own", own)]
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
