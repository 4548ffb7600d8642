"""The application write path, written once for every service (docs/conventions.md).

    write = WritePath(store, clock, own_projection)
    await write.execute(stream_id, PERSON, lambda person: decide_enrol(person, command, now))

`execute` runs load (fold, after a declared snapshot), decide (a pure function), append (with the
expected version), project inline and, when asked, record the idempotent answer, all in one
transaction, retried from the start when a concurrent writer won. Handlers that act on several
streams at once open the transaction themselves with `transact` and call `load` and `append`.

The store is a port: `PostgresEventStore` in the services, `InMemoryEventStore` in unit tests, so
every handler's decisions are tested in milliseconds without PostgreSQL.
"""

from yidi_events.application.memory import InMemoryEventStore
from yidi_events.application.ports import EventStorePort, Idempotent, Unit
from yidi_events.application.postgres import PostgresEventStore
from yidi_events.application.write_path import Aggregate, Loaded, Snapshot, WritePath, lost_a_race

__all__ = [
    "Aggregate",
    "EventStorePort",
    "Idempotent",
    "InMemoryEventStore",
    "Loaded",
    "PostgresEventStore",
    "Snapshot",
    "Unit",
    "WritePath",
    "lost_a_race",
]
