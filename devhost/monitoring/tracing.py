"""The host's side of distributed tracing: the spans the Functions host and Durable extension make.

In Azure the host starts a span for each invocation and the Python worker makes it the current
OpenTelemetry context before calling the function (azure-functions-python-worker,
``dispatcher.py``: ``configure_opentelemetry`` extracts the invocation's ``traceparent``), and
Durable Functions' distributed tracing (``tracing.version: V2`` in host.json) puts an orchestration
and its activities in the trace of the request that started it: the SDK's client sends
``traceparent`` with ``start_new`` (``DurableOrchestrationClient._get_current_activity_context``).
devhost does the same with the OpenTelemetry API, so the app's own spans land in one trace:

- an HTTP, blob or timer invocation: a span named after the function (kind SERVER for HTTP, whose
  incoming ``traceparent`` it continues), current while the function runs;
- ``start_new`` over HTTP: an ``orchestration:<name>`` span in the caller's trace, ended when the
  instance finishes;
- an activity: an ``activity:<name>`` span, child of its orchestration's span (sub-orchestrations
  are looked up through their parents), current while the activity runs; an orchestrator episode
  runs with its orchestration's span current, so that what the orchestrator logs joins the trace.

Without an OpenTelemetry SDK installed as the tracer provider all of this is the API's no-op.
Span contexts are kept in memory: after a restart, resumed instances' activities start new traces.
Attributes name functions, ids, methods and paths only (never a query string, which may hold a key).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("devhost")
tracer = trace.get_tracer("devhost")
_propagator = TraceContextTextMapPropagator()

# (instance_id) -> the instance record's parent id, or None; and a waiter for its end.
ParentOf = Callable[[str], str | None]
WaitFor = Callable[[str], Any]


class HostTracing:
    def __init__(self) -> None:
        self._instances: dict[str, Span] = {}
        self._waiters: set[asyncio.Task[None]] = set()
        self._parent_of: ParentOf = lambda _: None
        self._wait_for: WaitFor | None = None

    def attach(self, parent_of: ParentOf, wait_for: WaitFor) -> None:
        """Where to find an instance's parent, and how to wait until an instance has finished."""
        self._parent_of = parent_of
        self._wait_for = wait_for

    @contextlib.contextmanager
    def invocation(self, function_name: str, trigger: str, request: Any = None) -> Iterator[Span]:
        """The span of an HTTP-, blob- or timer-triggered invocation."""
        attributes: dict[str, Any] = {"faas.trigger": trigger, "faas.name": function_name}
        parent = None
        kind = SpanKind.INTERNAL
        if trigger == "http" and request is not None:
            kind = SpanKind.SERVER
            parent = _propagator.extract(dict(request.headers.items()))
            attributes["http.request.method"] = request.method
            attributes["url.path"] = request.url.split("?", 1)[0].split("://", 1)[-1].partition("/")[2]
        with tracer.start_as_current_span(
            function_name, context=parent, kind=kind, attributes=attributes, record_exception=False
        ) as span:
            yield span

    def instance_started(self, instance_id: str, name: str, headers: Mapping[str, str]) -> None:
        """An orchestration started through the client API: its span continues the caller's trace."""
        parent = _propagator.extract(dict(headers.items()))
        if not trace.get_current_span(parent).get_span_context().is_valid:
            return  # the caller traces nothing: neither does the host
        span = tracer.start_span(
            f"orchestration:{name}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"durabletask.type": "orchestration", "durabletask.task.instance_id": instance_id},
        )
        previous = self._instances.pop(instance_id, None)
        if previous is not None:
            previous.end()
        self._instances[instance_id] = span
        if self._wait_for is not None:
            waiter = asyncio.create_task(self._end_when_finished(instance_id, span))
            self._waiters.add(waiter)
            waiter.add_done_callback(self._waiters.discard)

    @contextlib.contextmanager
    def orchestration(self, instance_id: str | None) -> Iterator[None]:
        """An orchestrator episode runs in its orchestration's context (its log records join the trace)."""
        span = self._orchestration_span(instance_id)
        if span is None:
            yield
            return
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            otel_context.detach(token)

    @contextlib.contextmanager
    def activity(self, instance_id: str | None, name: str) -> Iterator[None]:
        """The span of one activity run, child of its orchestration's span when there is one."""
        span = self._orchestration_span(instance_id)
        if span is None:
            yield
            return
        parent = trace.set_span_in_context(span)
        with tracer.start_as_current_span(
            f"activity:{name}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"durabletask.type": "activity", "durabletask.task.instance_id": instance_id or ""},
            record_exception=False,
        ):
            yield

    async def close(self) -> None:
        for waiter in list(self._waiters):
            waiter.cancel()
        await asyncio.gather(*self._waiters, return_exceptions=True)
        for span in self._instances.values():
            span.end()
        self._instances.clear()

    def _orchestration_span(self, instance_id: str | None) -> Span | None:
        seen = 0
        while instance_id is not None and seen < 32:  # sub-orchestrations nest a few levels at most
            span = self._instances.get(instance_id)
            if span is not None:
                return span
            instance_id = self._parent_of(instance_id)
            seen += 1
        return None

    async def _end_when_finished(self, instance_id: str, span: Span) -> None:
        assert self._wait_for is not None
        try:
            instance = await self._wait_for(instance_id)
        except TimeoutError:
            return
        status = getattr(getattr(instance, "runtime_status", None), "value", "")
        span.set_attribute("durabletask.runtime_status", status)
        if status in ("Failed", "Terminated"):
            span.set_status(Status(StatusCode.ERROR, status))
        span.end()
        if self._instances.get(instance_id) is span:
            del self._instances[instance_id]
