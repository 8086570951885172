"""The orchestration context as the orchestrators use it: a typed interface, not the SDK class.

``azure.durable_functions.DurableOrchestrationContext`` satisfies it (the decorated shells pass
theirs in); the fast tests pass a fake (``tests/orchestrators/fake_context.py``). Only the methods
the orchestrators call are here. A task is scheduled when it is *yielded* (alone, or inside
``task_all``/``task_any``), not when it is created.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class DurableTask(Protocol):
    """A scheduled unit of work: an activity, a sub-orchestration, a timer, or a group of them."""

    @property
    def is_completed(self) -> bool: ...

    @property
    def result(self) -> Any: ...  # the value, or the exception the host reported


class DurableTimer(DurableTask, Protocol):
    """A durable timer; cancelling one that has not fired lets the instance end without waiting."""

    def cancel(self) -> None: ...


class OrchestrationContext(Protocol):
    @property
    def current_utc_datetime(self) -> datetime: ...  # the replay-safe clock

    def get_input(self) -> Any: ...

    def set_custom_status(self, status: Any) -> None: ...

    def call_activity(self, name: str, input_: Any = None) -> DurableTask: ...

    def call_activity_with_retry(self, name: str, retry_options: Any, input_: Any = None) -> DurableTask: ...

    def call_sub_orchestrator(
        self, name: str, input_: Any = None, instance_id: str | None = None
    ) -> DurableTask: ...

    def task_all(self, activities: list[DurableTask]) -> DurableTask: ...

    def task_any(self, activities: list[DurableTask]) -> DurableTask: ...

    def create_timer(self, fire_at: datetime) -> DurableTimer: ...

    def wait_for_external_event(self, name: str) -> DurableTask: ...

    def continue_as_new(self, input_: Any) -> None: ...
