"""Processors that put the job context on every span and every log record.

``JobContextSpanProcessor`` stamps a span when it starts (the Azure SDK's storage spans and the
app's own alike); ``JobContextLogProcessor`` stamps a log record when it is emitted, without
overwriting attributes the record already has (a job record names its own job).
"""

from __future__ import annotations

from collections.abc import MutableMapping

from opentelemetry.context import Context
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from telemetry.context import current_attributes


class JobContextSpanProcessor(SpanProcessor):
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attributes = current_attributes()
        if attributes:
            span.set_attributes(attributes)

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class JobContextLogProcessor(LogRecordProcessor):
    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        attributes = current_attributes()
        if not attributes:
            return
        record = log_record.log_record
        present = record.attributes
        if not isinstance(present, MutableMapping):  # the SDK makes them mutable; be safe anyway
            record.attributes = {**attributes, **(present or {})}
            return
        for name, value in attributes.items():
            present.setdefault(name, value)

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
