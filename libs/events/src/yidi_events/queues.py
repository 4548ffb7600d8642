"""The agencies' work queues as metrics: how much waits for an officer, and how much of it is past
its deadline, per service, queue and region (`yidi_queue_waiting`, `yidi_queue_overdue`).

A service declares its queues as functions of (connection, today) returning `QueueCount`s; the
deadline rule stays in the service's domain (the functions call it), never in the chassis. They are
measured when Prometheus scrapes `/metrics` (a grouped count over a projection, once per scrape
interval), and a queue that drained reads 0 rather than disappearing, so an alert on it resolves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

WAITING = Gauge(
    "yidi_queue_waiting",
    "Items waiting for an agency's action (days to confirm, filings to review, ...)",
    ["service", "queue", "region"],
)
OVERDUE = Gauge(
    "yidi_queue_overdue",
    "Items waiting past their deadline (working days where the rules count them so)",
    ["service", "queue", "region"],
)


@dataclass(frozen=True)
class QueueCount:
    queue: str
    region: str
    waiting: int
    overdue: int


Measure = Callable[[AsyncConnection, date], Awaitable[Sequence[QueueCount]]]


@dataclass
class Queues:
    service: str
    measures: Sequence[Measure]
    _seen: set[tuple[str, str]] | None = None

    async def refresh(self, engine: AsyncEngine, today: date) -> None:
        if not self.measures:
            return
        counts: list[QueueCount] = []
        async with engine.connect() as conn:
            for measure in self.measures:
                counts += await measure(conn, today)
        current = {(c.queue, c.region) for c in counts}
        for queue, region in (self._seen or set()) - current:
            WAITING.labels(self.service, queue, region).set(0)
            OVERDUE.labels(self.service, queue, region).set(0)
        for c in counts:
            WAITING.labels(self.service, c.queue, c.region).set(c.waiting)
            OVERDUE.labels(self.service, c.queue, c.region).set(c.overdue)
        self._seen = (self._seen or set()) | current
