"""Tables every service database has, created by libs/events' own Alembic branch.

`events.txid` is the writing transaction's id (xid8 as bigint). The relay publishes only rows whose
transaction id is below the oldest running transaction (the snapshot xmin), in (txid, position)
order, so a lower position still held by an open transaction is never skipped.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData()

CURRENT_TXID = sa.text("(pg_current_xact_id()::text::bigint)")

events = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("txid", sa.BigInteger, nullable=False, server_default=CURRENT_TXID),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("partition_key", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("producer", sa.Text, nullable=False),
    sa.Column("correlation_id", UUID(as_uuid=True)),
    sa.Column("causation_id", UUID(as_uuid=True)),
    sa.Column("payload", JSONB, nullable=False),
    # The W3C traceparent of the span that wrote the event, when tracing is on (not part of the
    # fact: transport metadata the relay passes on as a Kafka header).
    sa.Column("trace_parent", sa.Text),
    sa.UniqueConstraint("stream_id", "stream_version", name="events_stream_version_key"),
    sa.Index("events_commit_order", "txid", "position"),
)

# A commit that added events wakes the relay (LISTEN), which otherwise polls only slowly. A
# statement-level trigger: one notification per transaction however many rows, and none for
# transactions that wrote no events.
NOTIFY_CHANNEL = "yidi_events"


@sa.event.listens_for(events, "after_create")
def _notify_relay_on_commit(target: sa.Table, connection: sa.Connection, **_: object) -> None:
    connection.execute(
        sa.text(
            "CREATE OR REPLACE FUNCTION yidi_events_notify() RETURNS trigger LANGUAGE plpgsql"
            f" AS $$ BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', ''); RETURN NULL; END $$"
        )
    )
    connection.execute(
        sa.text(
            f"CREATE TRIGGER events_notify AFTER INSERT ON {target.name}"
            " FOR EACH STATEMENT EXECUTE FUNCTION yidi_events_notify()"
        )
    )


idempotency = sa.Table(
    "idempotency",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("response", JSONB, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

relay_checkpoints = sa.Table(
    "relay_checkpoints",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("txid", sa.BigInteger, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

# Per consumer and stream: the last stream version applied. Lower or equal versions are
# duplicates; a higher one than next is parked until the gap fills.
consumer_streams = sa.Table(
    "consumer_streams",
    metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("stream_id", sa.Text, primary_key=True),
    sa.Column("last_version", sa.Integer, nullable=False),
)

consumed_events = sa.Table(
    "consumed_events",
    metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),  # applied | dead_lettered
    sa.Column(
        "consumed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

parked_events = sa.Table(
    "parked_events",
    metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("stream_id", sa.Text, primary_key=True),
    sa.Column("stream_version", sa.Integer, primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("envelope", JSONB, nullable=False),
)

# HIS request nonces: a nonce may be used once per institution within the signature window.
request_nonces = sa.Table(
    "request_nonces",
    metadata,
    sa.Column("institution_code", sa.Text, primary_key=True),
    sa.Column("nonce", sa.Text, primary_key=True),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("request_nonces_seen_at", "seen_at"),
)
