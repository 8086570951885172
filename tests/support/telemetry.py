"""Capturing the app's telemetry in tests: in-memory exporters, never the network.

``TelemetryCapture`` installs (once per process: OpenTelemetry allows one global tracer and logger
provider) SDK providers with in-memory exporters and the app's own processors
(``telemetry.setup.install``, which also switches on the Azure SDK's tracing as production does).
Spans are sampled and log records collected only inside ``capturing()``, so the rest of the test
session pays almost nothing for the installed providers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.context import Context
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

from telemetry.setup import install


class _OnlyWhileCapturing(Sampler):
    def __init__(self) -> None:
        self.on = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP, attributes)

    def get_description(self) -> str:
        return "OnlyWhileCapturing"


class TelemetryCapture:
    _installed: TelemetryCapture | None = None

    def __init__(self) -> None:
        self._sampler = _OnlyWhileCapturing()
        self.span_exporter = InMemorySpanExporter()
        self.log_exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
        self.tracer_provider = TracerProvider(sampler=self._sampler)
        self.logger_provider = LoggerProvider()
        install(self.tracer_provider, self.logger_provider)  # the app's processors come first
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))
        self.handler = LoggingHandler(logger_provider=self.logger_provider)

    @classmethod
    def installed(cls) -> TelemetryCapture:
        if cls._installed is None:
            capture = cls()
            trace.set_tracer_provider(capture.tracer_provider)
            set_logger_provider(capture.logger_provider)
            cls._installed = capture
        return cls._installed

    @contextlib.contextmanager
    def capturing(self) -> Iterator[TelemetryCapture]:
        self.span_exporter.clear()
        self.log_exporter.clear()
        root = logging.getLogger()
        previous_level = root.level
        root.setLevel(min(previous_level or logging.INFO, logging.INFO))
        root.addHandler(self.handler)
        self._sampler.on = True
        try:
            yield self
        finally:
            self._sampler.on = False
            root.removeHandler(self.handler)
            root.setLevel(previous_level)

    def spans(self) -> list[ReadableSpan]:
        return list(self.span_exporter.get_finished_spans())

    def logs(self) -> list[ReadableLogRecord]:
        return list(self.log_exporter.get_finished_logs())


def attributes(item: ReadableSpan | ReadableLogRecord) -> dict[str, Any]:
    if isinstance(item, ReadableSpan):
        return dict(item.attributes or {})
    return dict(item.log_record.attributes or {})


def everything_recorded(capture: TelemetryCapture) -> str:
    """Every name, attribute, event and log body recorded, as one text to search for secrets."""
    parts: list[str] = []
    for span in capture.spans():
        parts.append(span.name)
        parts += [f"{key}={value}" for key, value in attributes(span).items()]
        for event in span.events:
            parts.append(event.name)
            parts += [f"{key}={value!s}" for key, value in (event.attributes or {}).items()]
        parts.append(str(span.status.description or ""))
        parts += [f"{key}={value!s}" for key, value in (span.resource.attributes or {}).items()]
    for record in capture.logs():
        parts.append(str(record.log_record.body))
        parts += [f"{key}={value}" for key, value in attributes(record).items()]
    return "\n".join(parts)
