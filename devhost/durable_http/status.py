"""Status JSON of the Durable HTTP API and RPC endpoint (extension `StatusResponsePayload`).

`input` is the instance's input as the host stored it (for `start_new`, a JSON string holding
the JSON text), `output` and `customStatus` are JSON values, times are `yyyy-MM-ddTHH:mm:ssZ`.
With `showHistory`, `historyEvents` follows the extension's history view: orchestrator
start/complete rows dropped, `EventType` as a name, each completion carrying its function name
and scheduled time instead of a separate scheduling row.
"""

from __future__ import annotations

import json
from typing import Any

from devhost.durable.store import Instance
from devhost.durable.wire import Event, EventType, RuntimeStatus, format_status_time, from_epoch

_SCHEDULING = {
    EventType.TASK_SCHEDULED: (EventType.TASK_COMPLETED, EventType.TASK_FAILED),
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: (
        EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
        EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
    ),
}
_HIDDEN = (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED)


def status_payload(
    instance: Instance,
    *,
    show_input: bool = True,
    history: list[Event] | None = None,
    show_history_output: bool = False,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": instance.name,
        "instanceId": instance.instance_id,
        "runtimeStatus": instance.runtime_status.value,
        "input": _value(instance.input) if show_input else None,
        "customStatus": _value(instance.custom_status),
        "output": _value(instance.output),
        "createdTime": format_status_time(from_epoch(instance.created_time)),
        "lastUpdatedTime": format_status_time(from_epoch(instance.last_updated_time)),
    }
    if history is not None:
        payload["historyEvents"] = history_view(history, show_output=show_history_output)
    return payload


def history_view(history: list[Event], *, show_output: bool) -> list[dict[str, Any]]:
    scheduled = {e["EventId"]: e for e in history if e["EventType"] in _SCHEDULING}
    finished = {
        e["TaskScheduledId"]
        for e in history
        if e["EventType"] in (k for pair in _SCHEDULING.values() for k in pair)
    }
    view: list[dict[str, Any]] = []
    for event in history:
        kind = EventType(event["EventType"])
        if kind in _HIDDEN or (kind in _SCHEDULING and event["EventId"] in finished):
            continue
        item: dict[str, Any] = {"EventType": kind.dotnet_name, "Timestamp": event["Timestamp"]}
        if kind in _SCHEDULING:  # still running: the scheduling row stays
            item["Name"] = event["Name"]
        origin = scheduled.get(event.get("TaskScheduledId", -2))
        if origin is not None:
            item["FunctionName"] = origin["Name"]
            item["ScheduledTime"] = origin["Timestamp"]
        item.update(_fields(kind, event, show_output))
        view.append(item)
    return view


def _fields(kind: EventType, event: Event, show_output: bool) -> dict[str, Any]:
    if kind == EventType.EXECUTION_STARTED:
        return {"FunctionName": event["Name"]}
    if kind == EventType.EXECUTION_COMPLETED:
        status = list(RuntimeStatus)[event["OrchestrationStatus"]].value
        return {"OrchestrationStatus": status, **({"Result": _value(event["Result"])} if show_output else {})}
    if kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED):
        return {"Result": _value(event["Result"])} if show_output else {}
    if kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
        return {"Reason": event["Reason"], "Details": event["Details"]}
    if kind in (EventType.TIMER_CREATED, EventType.TIMER_FIRED):
        return {"FireAt": event["FireAt"]}
    if kind == EventType.EVENT_RAISED:
        return {"Name": event["Name"], **({"Input": _value(event["Input"])} if show_output else {})}
    if kind == EventType.EXECUTION_TERMINATED:
        return {"Input": event.get("Input")}
    if kind in (EventType.EXECUTION_SUSPENDED, EventType.EXECUTION_RESUMED):
        return {"Reason": event.get("Reason")}
    return {}


def _value(text: str | None) -> Any:
    """A stored JSON text as a JSON value (text that is not JSON stays a string)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
