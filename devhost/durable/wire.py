"""The Durable extension's wire formats, as the Python SDK receives them (reference §3).

History events are DTFx `HistoryEvent` objects written by Newtonsoft with default settings:
PascalCase names, integer `EventType`, `EventId` (the sequence id for scheduling events, -1
otherwise), `IsPlayed`, and a `Timestamp` with seven fractional digits and a "Z".
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

Event = dict[str, Any]

# TimeSpan strings of the Azure Storage provider (MaximumDelayTime 6 days, long-timer interval
# 3 days), which the extension sends so that the SDK splits longer timers.
MAXIMUM_SHORT_TIMER_DURATION = "6.00:00:00"
LONG_RUNNING_TIMER_INTERVAL_DURATION = "3.00:00:00"


class EventType(IntEnum):
    """DTFx `EventType` (SDK `HistoryEventType` plus DTFx's 21)."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20
    EXECUTION_REWOUND = 21

    @property
    def dotnet_name(self) -> str:
        """The name .NET prints (`TaskScheduled`), as the HTTP API shows it."""
        return "".join(part.capitalize() for part in self.name.split("_"))


class RuntimeStatus(StrEnum):
    """`runtimeStatus` of the status API; the integer is DTFx's `OrchestrationStatus`."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINATED = "Terminated"
    PENDING = "Pending"
    SUSPENDED = "Suspended"

    @property
    def code(self) -> int:
        return list(RuntimeStatus).index(self)

    @property
    def is_terminal(self) -> bool:
        """Completed, Failed, Terminated or Canceled: the states a new start may replace."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {RuntimeStatus.COMPLETED, RuntimeStatus.FAILED, RuntimeStatus.TERMINATED, RuntimeStatus.CANCELED}
)

_FRACTION = re.compile(r"\.(\d+)")


def format_timestamp(moment: datetime) -> str:
    """History timestamps: `2025-01-01T12:00:00.0000000Z` (.NET round-trip, seven digits)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def format_status_time(moment: datetime) -> str:
    """`createdTime`/`lastUpdatedTime` of the status API: `yyyy-MM-ddTHH:mm:ssZ`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """Parse the SDK's `fireAt` (six digits) or a history timestamp (seven) as UTC."""
    text = text.strip().removesuffix("Z").removesuffix("z")
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_epoch(moment: datetime) -> float:
    return moment.timestamp()


def dumps_compact(value: Any) -> str:
    """JSON the way the host's Newtonsoft writes it: no spaces, non-ASCII kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def jtoken_text(value: Any) -> str:
    """The host's serialised form of a JSON value it parsed (a string stays a JSON string)."""
    return json.dumps(value, ensure_ascii=False)


def _event(kind: EventType, moment: datetime, event_id: int = -1, **fields: Any) -> Event:
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_timestamp(moment),
        **fields,
    }


def orchestrator_started(moment: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_STARTED, moment)


def orchestrator_completed(moment: datetime) -> Event:
    return _event(EventType.ORCHESTRATOR_COMPLETED, moment)


def execution_started(
    moment: datetime,
    *,
    name: str,
    raw_input: str | None,
    instance_id: str,
    execution_id: str,
    parent: dict[str, Any] | None,
) -> Event:
    # `Version` must be present: SDK 1.7 reads it unconditionally (reference §4.1 I).
    return _event(
        EventType.EXECUTION_STARTED,
        moment,
        Name=name,
        Version="",
        Input=raw_input,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Tags=None,
    )


def parent_instance(name: str, instance_id: str, execution_id: str, task_id: int) -> dict[str, Any]:
    """DTFx `ParentInstance` of a sub-orchestration's ExecutionStarted."""
    return {
        "Name": name,
        "Version": "",
        "TaskScheduleId": task_id,
        "OrchestrationInstance": {"InstanceId": instance_id, "ExecutionId": execution_id},
    }


def task_scheduled(moment: datetime, task_id: int, name: str, input_text: str | None) -> Event:
    return _event(EventType.TASK_SCHEDULED, moment, task_id, Name=name, Version="", Input=input_text)


def task_completed(moment: datetime, task_id: int, result: str | None) -> Event:
    return _event(EventType.TASK_COMPLETED, moment, TaskScheduledId=task_id, Result=result)


def task_failed(moment: datetime, task_id: int, reason: str, details: str | None) -> Event:
    return _event(EventType.TASK_FAILED, moment, TaskScheduledId=task_id, Reason=reason, Details=details)


def timer_created(moment: datetime, task_id: int, fire_at: datetime) -> Event:
    return _event(EventType.TIMER_CREATED, moment, task_id, FireAt=format_timestamp(fire_at))


def timer_fired(moment: datetime, timer_id: int, fire_at: datetime) -> Event:
    return _event(EventType.TIMER_FIRED, moment, TimerId=timer_id, FireAt=format_timestamp(fire_at))


def sub_orchestration_created(
    moment: datetime, task_id: int, name: str, instance_id: str, raw_input: str | None
) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        moment,
        task_id,
        Name=name,
        Version="",
        InstanceId=instance_id,
        Input=raw_input,
    )


def sub_orchestration_completed(moment: datetime, task_id: int, result: str | None) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED, moment, TaskScheduledId=task_id, Result=result
    )


def sub_orchestration_failed(moment: datetime, task_id: int, reason: str, details: str | None) -> Event:
    return _event(
        EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
        moment,
        TaskScheduledId=task_id,
        Reason=reason,
        Details=details,
    )


def event_raised(moment: datetime, name: str, raw_input: str | None) -> Event:
    return _event(EventType.EVENT_RAISED, moment, Name=name, Input=raw_input)


def execution_completed(
    moment: datetime, event_id: int, status: RuntimeStatus, result: str | None, failure: str | None = None
) -> Event:
    details = None if failure is None else {"ErrorType": "OrchestrationFailure", "ErrorMessage": failure}
    return _event(
        EventType.EXECUTION_COMPLETED,
        moment,
        event_id,
        OrchestrationStatus=status.code,
        Result=result,
        FailureDetails=details,
    )


def execution_terminated(moment: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_TERMINATED, moment, Input=reason)


def execution_suspended(moment: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_SUSPENDED, moment, Reason=reason)


def execution_resumed(moment: datetime, reason: str | None) -> Event:
    return _event(EventType.EXECUTION_RESUMED, moment, Reason=reason)


def with_timestamp(event: Event, moment: datetime) -> Event:
    """A queued event as it enters history at `moment`."""
    return {**event, "Timestamp": format_timestamp(moment)}
