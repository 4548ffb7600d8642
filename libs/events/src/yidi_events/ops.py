"""Operator commands on a service's event store (the `yidi` CLI builds on these).

    python -m yidi_events.ops republish settlement   # rebuild yidi.settlement.events from the store
    python -m yidi_events.ops backlog settlement     # events stored but not yet published

The database comes from YIDI_DATABASE_URL (or --database-url). `republish` only rewinds the relay
checkpoint: the service's active relay then publishes every stored event again, in commit order,
and idempotent consumers absorb what they had already applied.
"""

from __future__ import annotations

import asyncio

import typer

from yidi_events.db import make_engine
from yidi_events.kernel.time import SystemClock
from yidi_events.runtime.relay import Relay
from yidi_events.settings import ServiceSettings
from yidi_events.store import EventStore

app = typer.Typer(no_args_is_help=True, help=__doc__)


def _relay(service: str, database_url: str | None) -> Relay:
    settings = ServiceSettings()
    engine = make_engine(database_url or settings.database_url, pool_size=1)
    return Relay(engine, EventStore(service, SystemClock()), settings.kafka(), service=service)


@app.command()
def republish(service: str, database_url: str | None = typer.Option(None)) -> None:
    """Rewind the relay: the whole topic is published again from the event store."""

    async def run() -> int:
        relay = _relay(service, database_url)
        await relay.ensure_checkpoint()
        await relay.rewind()
        backlog = await relay.backlog()
        await relay.engine.dispose()
        return backlog

    typer.echo(f"{service}: rewound; {asyncio.run(run())} events will be published again")


@app.command()
def backlog(service: str, database_url: str | None = typer.Option(None)) -> None:
    """How many stored events the relay has not published yet."""

    async def run() -> int:
        relay = _relay(service, database_url)
        count = await relay.backlog()
        await relay.engine.dispose()
        return count

    typer.echo(f"{service}: {asyncio.run(run())} events not yet published")


if __name__ == "__main__":
    app()
