"""Traces cross Kafka: the span that wrote an event is the parent of the span that applied it."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

from yidi_events.runtime.consumer import Consumer
from yidi_events.runtime.kafka import KafkaSettings, producer
from yidi_events.runtime.relay import Relay
from yidi_events.store import EventStore

_exporter = InMemorySpanExporter()


def _provider() -> InMemorySpanExporter:
    # The global provider can be set once per process; this is the only test that sets it.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        trace.set_tracer_provider(provider)
    return _exporter


async def test_the_applying_span_continues_the_trace_of_the_writing_span(
    engine: AsyncEngine, store: EventStore, kafka_settings: KafkaSettings, example: Any
) -> None:
    exporter = _provider()
    with trace.get_tracer("test").start_as_current_span("hospital 2207") as writing:
        await example.append(engine, store, "tr-1", 0, 7)
    written = writing.get_span_context()

    kafka = producer(kafka_settings, client_id="trace-test")
    await kafka.start()
    try:
        await Relay(engine, store, kafka_settings, service="filing").publish_once(kafka)
    finally:
        await kafka.stop()
    await Consumer(engine, example.make_projection(), kafka_settings, sources=["filing"]).catch_up()

    applied = [s for s in exporter.get_finished_spans() if s.name == "apply filing.Counted"]
    assert len(applied) == 1
    assert applied[0].context.trace_id == written.trace_id
    assert applied[0].parent is not None
    assert applied[0].parent.span_id == written.span_id
    assert applied[0].kind is trace.SpanKind.CONSUMER


async def test_without_a_span_nothing_is_recorded_and_nothing_breaks(
    engine: AsyncEngine, store: EventStore, example: Any
) -> None:
    await example.append(engine, store, "tr-2", 0, 1)
    async with engine.connect() as conn:
        stored = await store.read_committed(conn, (0, 0), 10)
    assert [s.trace_parent for s in stored] == [None]
