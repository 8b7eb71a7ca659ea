"""OpenTelemetry traces of the servers' investigations, sent over OTLP/gRPC when
`SRE_TRACING__OTLP_ENDPOINT` is set: one `investigation` span (interface, verdict) per request,
a child span per graph step (`scope`, `investigate`, `analyze`, `recall`, `compose`).

    with opened(settings.tracing) as traces:       # None when no endpoint is set
        metrics.tracing = traces                    # `observing` starts and ends the spans

The SDK is imported only when an endpoint is set, so neither the CLI nor an untraced server
pays for it. Spans carry no question, name or log text: only the fixed-set attributes below.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .settings import TracingSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer


class Tracing:
    """A tracer provider of its own (the process-wide one is left alone), exporting in batches."""

    def __init__(self, config: TracingSettings) -> None:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        assert config.otlp_endpoint
        endpoint = config.otlp_endpoint
        self.provider: TracerProvider = TracerProvider(
            resource=Resource.create({"service.name": config.service_name}))
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
            endpoint=endpoint, insecure=endpoint.startswith("http://"))))
        self.tracer: Tracer = self.provider.get_tracer("sre-assistant")

    def investigation(self, interface: str) -> Trace:
        return Trace(self.tracer, interface)

    def close(self) -> None:
        """Send what is still buffered, then stop."""
        self.provider.shutdown()


class Trace:
    """The spans of one investigation; times are `time.monotonic()` readings."""

    def __init__(self, tracer: Tracer, interface: str) -> None:
        self.tracer = tracer
        self.offset = time.time_ns() - time.monotonic_ns()  # monotonic -> wall clock, in ns
        self.span: Span = tracer.start_span("investigation", attributes={
            "sre.interface": interface})

    def _ns(self, monotonic: float) -> int:
        return int(monotonic * 1e9) + self.offset

    def step(self, step: str, began: float, ended: float) -> None:
        from opentelemetry import trace

        child = self.tracer.start_span(step, context=trace.set_span_in_context(self.span),
                                       start_time=self._ns(began),
                                       attributes={"sre.step": step})
        child.end(end_time=self._ns(ended))

    def end(self, verdict: str, started: float, ended: float) -> None:
        from opentelemetry.trace import Status, StatusCode

        self.span.set_attribute("sre.verdict", verdict)
        if verdict in ("error", "cluster_error"):
            self.span.set_status(Status(StatusCode.ERROR, verdict))
        self.span.end(end_time=self._ns(ended))


@contextmanager
def opened(config: TracingSettings) -> Iterator[Tracing | None]:
    """Tracing for the life of a server, flushed at its end; None without an endpoint."""
    if not config.otlp_endpoint:
        yield None
        return
    tracing = Tracing(config)
    try:
        yield tracing
    finally:
        tracing.close()
