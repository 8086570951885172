"""Call the app's functions the way the Python worker does.

- Orchestrators: the registered function is the SDK's `handle(context)`; it gets the context
  JSON through azure-functions' own `OrchestrationTriggerConverter` and returns the state JSON,
  or raises with `$OutOfProcData$` state appended to the message.
- Activities: input through `ActivityTriggerConverter.decode` (df_loads), result through its
  `encode` (df_dumps), as the worker's converters do.
- Every function: arguments by binding name; a durable client binding gets the binding JSON
  string (the SDK's middleware turns it into a `DurableOrchestrationClient`); a `context`
  parameter gets a `func.Context`. Sync functions run in a thread pool, async ones on the loop;
  both see the invocation's OpenTelemetry context, as the worker makes it current in either case
  (`devhost.monitoring.tracing`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions import meta
from azure.functions._abc import RetryContext, TraceContext
from azure.functions.durable_functions import ActivityTriggerConverter, OrchestrationTriggerConverter

from devhost.functions.app_loader import BLOB_TRIGGER, HTTP_TRIGGER, TIMER_TRIGGER, FunctionInfo
from devhost.monitoring.tracing import HostTracing

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


@dataclass(frozen=True)
class OrchestratorOutcome:
    state: dict[str, Any] | None  # the SDK's OrchestratorState JSON, also when the episode failed
    crash: str | None = None  # the invocation failed before the SDK produced a state
    stack: str = ""  # traceback of the orchestrator's exception, if it raised one


@dataclass(frozen=True)
class ActivityOutcome:
    result: str | None = None  # df_dumps of the return value
    reason: str | None = None  # set when the activity failed
    details: str | None = None

    @property
    def failed(self) -> bool:
        return self.reason is not None


class Invoker:
    def __init__(
        self,
        *,
        app_dir: Path,
        activity_pool: ThreadPoolExecutor,
        function_pool: ThreadPoolExecutor,
        client_binding: Callable[[dict[str, Any]], str],
        tracing: HostTracing | None = None,
    ) -> None:
        self._app_dir = app_dir
        self._activity_pool = activity_pool
        self._function_pool = function_pool
        self._client_binding = client_binding
        self.tracing = tracing or HostTracing()

    def call_orchestrator(
        self, function: FunctionInfo, context_json: str, instance_id: str | None = None
    ) -> OrchestratorOutcome:
        """Run one episode (blocking: call it from a worker thread)."""
        context = OrchestrationTriggerConverter.decode(
            meta.Datum(type="json", value=context_json), trigger_metadata=None
        )
        try:
            with self.tracing.orchestration(instance_id):
                returned = function.user_function(context)
        except Exception as exc:
            message = str(exc)
            cause = exc.__cause__ or exc  # the SDK raises the user's exception `from` its own
            stack = "".join(traceback.format_exception(cause))
            if OUT_OF_PROC_MARKER in message:
                # The state JSON has no raw newline, so the last marker is the separator.
                state = json.loads(message.rpartition(OUT_OF_PROC_MARKER)[2])
                return OrchestratorOutcome(state=state, stack=stack)
            return OrchestratorOutcome(state=None, crash=f"{type(exc).__name__}: {message}", stack=stack)
        encoded = OrchestrationTriggerConverter.encode(returned, expected_type=None)
        value = encoded.value
        return OrchestratorOutcome(state=json.loads(value) if isinstance(value, str | bytes) else value)

    async def call_activity(
        self, function: FunctionInfo, input_text: str | None, instance_id: str | None = None
    ) -> ActivityOutcome:
        try:
            argument = ActivityTriggerConverter.decode(
                meta.Datum(type="json", value="null" if input_text is None else input_text),
                trigger_metadata=None,
            )
            with self.tracing.activity(instance_id, function.name):
                returned = await self._call(function, argument, self._activity_pool)
            encoded = ActivityTriggerConverter.encode(returned, expected_type=None)
        except Exception as exc:
            return ActivityOutcome(
                reason=f"Activity function '{function.name}' failed: {exc}",
                details="".join(traceback.format_exception(exc)),
            )
        return ActivityOutcome(result=encoded.value)

    async def call(self, function: FunctionInfo, trigger_value: Any) -> Any:
        """Call an HTTP-, blob- or timer-triggered function with its trigger value; exceptions propagate."""
        trigger = _TRACED_TRIGGERS.get(function.trigger_type, "other")
        with self.tracing.invocation(function.name, trigger, trigger_value) as span:
            returned = await self._call(function, trigger_value, self._function_pool)
            status = getattr(returned, "status_code", None)
            if trigger == "http" and isinstance(status, int):
                span.set_attribute("http.response.status_code", status)
            return returned

    async def _call(self, function: FunctionInfo, trigger_value: Any, pool: ThreadPoolExecutor) -> Any:
        kwargs = {function.trigger["name"]: trigger_value}
        for binding in function.client_bindings:
            kwargs[binding["name"]] = self._client_binding(binding)
        if "context" in function.parameters and "context" not in kwargs:
            kwargs["context"] = InvocationContext(function.name, str(self._app_dir))
        if function.is_async:
            return await function.user_function(**kwargs)
        loop = asyncio.get_running_loop()
        in_context = contextvars.copy_context().run  # the worker's thread sees the trace context too
        return await loop.run_in_executor(
            pool, functools.partial(in_context, function.user_function, **kwargs)
        )


_TRACED_TRIGGERS = {HTTP_TRIGGER: "http", BLOB_TRIGGER: "datasource", TIMER_TRIGGER: "timer"}


class _TraceContext(TraceContext):
    def __init__(self) -> None:
        self._parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """The `context: func.Context` argument the worker passes to functions that declare it."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace_context = _TraceContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> type[threading.local]:
        return threading.local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> TraceContext:
        return self._trace_context

    @property
    def retry_context(self) -> RetryContext:
        return _RetryContext()
