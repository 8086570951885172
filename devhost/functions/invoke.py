"""Call the app's functions the way the Python worker does.

- Orchestrators: the registered function is the SDK's `handle(context)`; it gets the context
  JSON through azure-functions' own `OrchestrationTriggerConverter` and returns the state JSON,
  or raises with `$OutOfProcData$` state appended to the message.
- Activities: input through `ActivityTriggerConverter.decode` (df_loads), result through its
  `encode` (df_dumps), as the worker's converters do.
- Failures as the host reports them: an activity's exception becomes `Activity function 'name'
  failed:  Type: message` (the worker sends "Type: message" in an `RpcException`, whose
  "\nException: " label leaves the second space; extension `TaskActivityShim.RunAsync`,
  `OutOfProcExceptionHelpers`); a function running past host.json's `functionTimeout` fails with
  the WebJobs SDK's "Timeout value of 00:10:00 was exceeded by function: Functions.name"
  (`FunctionExecutor`). A timed-out async function is cancelled; a sync one cannot be stopped
  in-process (Azure restarts the worker), so its thread runs on and its result is dropped.
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
from devhost.functions.config import format_timespan
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


class FunctionTimeoutError(Exception):
    """A function ran past host.json's functionTimeout (the WebJobs SDK's FunctionTimeoutException)."""


class Invoker:
    def __init__(
        self,
        *,
        app_dir: Path,
        activity_pool: ThreadPoolExecutor,
        function_pool: ThreadPoolExecutor,
        client_binding: Callable[[dict[str, Any]], str],
        function_timeout: float | None = None,
        tracing: HostTracing | None = None,
    ) -> None:
        self._app_dir = app_dir
        self._activity_pool = activity_pool
        self._function_pool = function_pool
        self._client_binding = client_binding
        self._function_timeout = function_timeout
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
        except FunctionTimeoutError as timeout:
            return ActivityOutcome(
                reason=f"Activity function '{function.name}' failed: {timeout}",
                details="".join(traceback.format_exception(timeout)),
            )
        except Exception as exc:
            return ActivityOutcome(
                reason=f"Activity function '{function.name}' failed:  {type(exc).__name__}: {exc}",
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
        """Call the function, failing it with FunctionTimeoutError past the function timeout."""
        if self._function_timeout is None:
            return await self._call_now(function, trigger_value, pool)
        deadline = asyncio.timeout(self._function_timeout)
        try:
            async with deadline:
                return await self._call_now(function, trigger_value, pool)
        except TimeoutError:
            if not deadline.expired():
                raise  # the function's own TimeoutError
            raise FunctionTimeoutError(
                f"Timeout value of {format_timespan(self._function_timeout)} was exceeded by function: "
                f"Functions.{function.name}"
            ) from None

    async def _call_now(self, function: FunctionInfo, trigger_value: Any, pool: ThreadPoolExecutor) -> Any:
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
