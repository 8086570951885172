"""A span per activity invocation, with the job context the activity's payload names.

In Azure the Python worker makes the host's invocation span (Durable Functions distributed
tracing, V2, in the orchestration's trace) the current context before it calls the function, so
this span is that invocation's child; devhost does the same. The span records the outcome of the
result envelope: ``succeeded``, ``failed`` (a permanent failure returned as data, with its error
code) or ``error`` (an exception, which the host retries).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from core import telemetry_fields as fields
from core.errors import PermanentError
from telemetry.context import from_payload, job_scope

tracer = trace.get_tracer("cu_pipeline.activities")


class ActivitySpan:
    def __init__(self, span: Span) -> None:
        self._span = span

    def finished(self, envelope: Mapping[str, Any]) -> None:
        """Record how the activity ended, from the envelope it returns."""
        if envelope.get("ok"):
            self._span.set_attribute(fields.OUTCOME, "succeeded")
            return
        self._span.set_attribute(fields.OUTCOME, "failed")
        error = envelope.get("error")
        if isinstance(error, Mapping) and error.get("code"):
            self._span.set_attribute(fields.ERROR_CODE, str(error["code"]))
        self._span.set_status(Status(StatusCode.ERROR))


@contextlib.contextmanager
def activity_span(name: str, payload: Any) -> Iterator[ActivitySpan]:
    """Run the block as activity ``name`` of the job ``payload`` names, in a span of its own."""
    with (
        job_scope(from_payload(payload)),
        tracer.start_as_current_span(
            f"activity {name}",
            attributes={fields.DEPENDENCY: fields.DEPENDENCY_ACTIVITY, fields.ACTIVITY: name},
            record_exception=False,  # exception messages are not telemetry's to copy
            set_status_on_exception=False,
        ) as span,
    ):
        try:
            yield ActivitySpan(span)
        except BaseException as exc:
            span.set_attribute(fields.OUTCOME, "error")
            span.set_attribute(fields.ERROR_CODE, str(getattr(exc, "code", None) or type(exc).__name__))
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


@contextlib.contextmanager
def step_span(name: str) -> Iterator[None]:
    """One step an activity runs for each of its items, in a span of its own, named and marked as
    activity ``name``'s would be: ``poll_operations`` runs the ``get_operation`` step once per
    operation, and each poll's operation id, status and pages (``note_operation``) land on that
    operation's span, so the queries that read ``get_operation`` spans read these alike.

    Open it inside the item's job scope (``telemetry.context.job_scope``), so that it carries the
    item's input index and operation id rather than its neighbours'."""
    with tracer.start_as_current_span(
        f"activity {name}",
        attributes={fields.DEPENDENCY: fields.DEPENDENCY_ACTIVITY, fields.ACTIVITY: name},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        except BaseException as exc:
            permanent = isinstance(exc, PermanentError)
            span.set_attribute(fields.OUTCOME, "failed" if permanent else "error")
            span.set_attribute(fields.ERROR_CODE, str(getattr(exc, "code", None) or type(exc).__name__))
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        span.set_attribute(fields.OUTCOME, "succeeded")
