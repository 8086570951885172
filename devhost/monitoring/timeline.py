"""An instance's timeline (Gantt) and readable history, drawn from its history events.

Each activity, timer and sub-orchestration becomes a bar from when it was scheduled to when its
completion (or failure, or the timer's firing) entered history; one still running reaches "now".
Bars that overlap ran in parallel. A retried activity shows one bar per attempt, as its history
has one ``TaskScheduled`` per attempt.

History payloads (``Input``, ``Result``, ``Details``...) are JSON texts, sometimes of JSON texts
(an event raised through the client is encoded twice): ``readable`` decodes every layer so that
they can be shown as indented JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devhost.durable.wire import Event, EventType, parse_timestamp

ACTIVITY, TIMER, SUB_ORCHESTRATION = "activity", "timer", "sub-orchestration"
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"

_ENDS = {
    EventType.TASK_COMPLETED: SUCCEEDED,
    EventType.TASK_FAILED: FAILED,
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED: SUCCEEDED,
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED: FAILED,
}
_STARTS = {
    EventType.TASK_SCHEDULED: ACTIVITY,
    EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: SUB_ORCHESTRATION,
    EventType.TIMER_CREATED: TIMER,
}


@dataclass
class Bar:
    task_id: int
    kind: str  # activity | timer | sub-orchestration
    name: str
    start: datetime
    end: datetime | None = None  # None: still running (or a timer not fired yet)
    outcome: str = RUNNING
    child_instance_id: str | None = None
    fire_at: datetime | None = None
    start_seq: int = 0  # positions of its start and end events in history, which order ties
    end_seq: int | None = None

    def seconds(self, now: datetime) -> float:
        return ((self.end or now) - self.start).total_seconds()


@dataclass
class Timeline:
    start: datetime
    end: datetime  # the instance's end, or now
    bars: list[Bar]

    @property
    def seconds(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.001)

    def offset(self, moment: datetime) -> float:
        """Where ``moment`` falls, as a percentage of the instance's whole time."""
        return max(0.0, min(100.0, (moment - self.start).total_seconds() / self.seconds * 100))

    def peak_parallelism(self) -> int:
        """The most bars running at the same moment (timers excluded)."""
        edges: list[tuple[datetime, int, int]] = []  # (moment, history position, +1 start / -1 end)
        for bar in self.bars:
            if bar.kind != TIMER:
                end_seq = bar.end_seq if bar.end_seq is not None else 1 << 30
                edges += [(bar.start, bar.start_seq, 1), (bar.end or self.end, end_seq, -1)]
        running = peak = 0
        for _, _, step in sorted(edges):  # history order breaks ties of equal timestamps
            running += step
            peak = max(peak, running)
        return peak


def build_timeline(history: list[Event], now: datetime) -> Timeline | None:
    """The timeline of one execution's history (None before it has started)."""
    if not history:
        return None
    started = parse_timestamp(history[0]["Timestamp"])
    ended: datetime | None = None
    bars: dict[int, Bar] = {}
    for position, event in enumerate(history):
        kind = EventType(event["EventType"])
        moment = parse_timestamp(event["Timestamp"])
        if kind in _STARTS:
            bar = Bar(event["EventId"], _STARTS[kind], str(event.get("Name") or "timer"), moment)
            bar.start_seq = position
            if kind == EventType.TIMER_CREATED:
                bar.fire_at = parse_timestamp(event["FireAt"])
                bar.name = "timer"
            if kind == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
                bar.child_instance_id = event.get("InstanceId")
            bars[bar.task_id] = bar
        elif kind in _ENDS and event.get("TaskScheduledId") in bars:
            bar = bars[event["TaskScheduledId"]]
            bar.end, bar.outcome, bar.end_seq = moment, _ENDS[kind], position
        elif kind == EventType.TIMER_FIRED and event.get("TimerId") in bars:
            bar = bars[event["TimerId"]]
            bar.end, bar.outcome, bar.end_seq = moment, SUCCEEDED, position
        elif kind in (EventType.EXECUTION_COMPLETED, EventType.EXECUTION_TERMINATED):
            ended = moment
    end = ended or max(now, started)
    return Timeline(started, end, sorted(bars.values(), key=lambda bar: (bar.start, bar.task_id)))


def readable(value: Any) -> Any:
    """A history payload with every layer of JSON text decoded."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[", '"'):
            try:
                return readable(json.loads(text))
            except ValueError:
                return value
        return value
    if isinstance(value, dict):
        return {key: readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [readable(item) for item in value]
    return value


def pretty(value: Any) -> str:
    """Indented JSON of a readable payload (a plain string stays as it is)."""
    value = readable(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
