"""Optional OpenTelemetry traces across HTTP and Kafka.

Off unless `YIDI_OTEL_ENDPOINT` names an OTLP/HTTP collector. When on: every request gets a span
(FastAPI), calls to other services carry the context (httpx), each stored event remembers the
`traceparent` of the span that wrote it, the relay sends it as a Kafka header, and the consumer
applies the event inside a span continuing that trace — so one settlement is one trace from the
hospital's call to every projection it changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

_configured = False
tracer = trace.get_tracer("yidi")


def configure(service: str, endpoint: str | None) -> bool:
    """Install the exporter once per process; returns whether tracing is on."""
    global _configured
    if not endpoint:
        return False
    if not _configured:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": f"yidi-{service}"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        trace.set_tracer_provider(provider)
        HTTPXClientInstrumentor().instrument()
        _configured = True
    return True


def current_traceparent() -> str | None:
    """The W3C traceparent of the active span, if one is recording."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


@contextmanager
def consuming(name: str, headers: Sequence[tuple[str, bytes]] | None) -> Iterator[None]:
    """Apply a consumed record inside a span that continues the producer's trace."""
    carrier: Mapping[str, str] = {
        k: v.decode(errors="replace") for k, v in (headers or ()) if k == "traceparent"
    }
    with tracer.start_as_current_span(
        name, context=propagate.extract(carrier), kind=SpanKind.CONSUMER
    ):
        yield
