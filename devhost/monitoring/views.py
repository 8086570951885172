"""What the monitoring pages show, before it becomes HTML: filters, the job tree, progress.

- ``Filters`` come from the page's query string: statuses, an orchestrator name, and a creation
  window (a preset such as ``1h``, or ``from``/``to`` times in UTC).
- ``job_tree`` puts jobs first: instances without a parent (newest first), each with its
  sub-orchestrations nested under it; a matching sub-orchestration whose parent does not match
  is listed at the top level after the jobs.
- ``Progress`` reads a custom status of the shape jobs usually have (``stage``, ``total``,
  ``done``, ``failed``...); any other custom status is shown as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devhost.durable.store import Instance, InstanceQuery
from devhost.durable.wire import RuntimeStatus, from_epoch, to_epoch

WINDOWS = {
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
}
MAX_INSTANCES = 500
RUNNING_STATUSES = frozenset(
    {RuntimeStatus.RUNNING, RuntimeStatus.PENDING, RuntimeStatus.SUSPENDED, RuntimeStatus.CONTINUED_AS_NEW}
)


class FilterError(ValueError):
    """A filter the page cannot apply (shown to the user, never a 500)."""


@dataclass(frozen=True)
class Filters:
    statuses: frozenset[RuntimeStatus] = frozenset()
    orchestrator: str = ""
    window: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, Any], now: datetime) -> Filters:
        getall = getattr(query, "getall", None)
        raw_statuses = (
            getall("status", []) if getall else [query.get("status")] if query.get("status") else []
        )
        try:
            statuses = frozenset(RuntimeStatus(value) for value in raw_statuses if value)
        except ValueError as exc:
            raise FilterError(f"Unknown status in {raw_statuses}") from exc
        window = str(query.get("window") or "")
        if window and window not in WINDOWS:
            raise FilterError(f"Unknown time window {window!r}: use one of {', '.join(WINDOWS)}")
        created_from = _time(query.get("from"), "from")
        created_to = _time(query.get("to"), "to")
        if window:
            created_from = now - WINDOWS[window]
        return cls(statuses, str(query.get("orchestrator") or ""), window, created_from, created_to)

    def store_query(self) -> InstanceQuery:
        return InstanceQuery(
            created_from=None if self.created_from is None else to_epoch(self.created_from),
            created_to=None if self.created_to is None else to_epoch(self.created_to),
            statuses=self.statuses or None,
        )

    def matches(self, instance: Instance) -> bool:
        return not self.orchestrator or instance.name.casefold() == self.orchestrator.casefold()

    @property
    def active(self) -> bool:
        return bool(self.statuses or self.orchestrator or self.created_from or self.created_to)


@dataclass
class Node:
    instance: Instance
    children: list[Node] = field(default_factory=list)

    @property
    def descendants(self) -> int:
        return sum(1 + child.descendants for child in self.children)


def job_tree(matching: list[Instance], everything: list[Instance]) -> list[Node]:
    """Matching instances as trees: jobs (no parent) first, then orphaned matches; newest first."""
    children: dict[str, list[Instance]] = {}
    for instance in everything:
        if instance.parent_instance_id:
            children.setdefault(instance.parent_instance_id, []).append(instance)

    def node(instance: Instance, depth: int = 0) -> Node:
        kids = sorted(children.get(instance.instance_id, []), key=lambda i: i.created_time)
        return Node(instance, [node(kid, depth + 1) for kid in kids] if depth < 8 else [])

    shown = {instance.instance_id for instance in matching}
    tops = [i for i in matching if not i.parent_instance_id or i.parent_instance_id not in shown]
    tops.sort(key=lambda i: (i.parent_instance_id is not None, -i.created_time))
    return [node(instance) for instance in tops]


@dataclass(frozen=True)
class Progress:
    stage: str | None
    total: int | None
    done: int
    failed: int
    other: Any  # a custom status of another shape, shown as it is

    @property
    def percent(self) -> float | None:
        if not self.total:
            return None
        return min(100.0, (self.done + self.failed) / self.total * 100)


def progress_of(custom_status: str | None) -> Progress | None:
    if custom_status is None:
        return None
    try:
        value = json.loads(custom_status)
    except ValueError:
        return Progress(None, None, 0, 0, custom_status)
    if not isinstance(value, dict):
        return Progress(None, None, 0, 0, value)
    total = value.get("total")
    counts = [value.get(key, 0) for key in ("done", "failed")]
    if isinstance(total, int) and all(isinstance(count, int) for count in counts):
        stage = value.get("stage")
        return Progress(str(stage) if stage is not None else None, total, counts[0], counts[1], None)
    return Progress(str(value["stage"]) if "stage" in value else None, None, 0, 0, value)


def duration(instance: Instance, now: datetime) -> timedelta:
    end = now if instance.runtime_status in RUNNING_STATUSES else from_epoch(instance.last_updated_time)
    return end - from_epoch(instance.created_time)


def _time(value: Any, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise FilterError(f"{name} is not a time (YYYY-MM-DDTHH:MM, UTC): {value!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
