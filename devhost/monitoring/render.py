"""The monitoring pages' HTML: plain server-rendered pages, no script, every value escaped.

``instances_page`` (``/``): the filter form, then jobs first, each with its progress and its
sub-orchestrations nested under it (``<details>``). ``instance_page`` (``/instances/{id}``): the
summary with terminate or purge, progress, the timeline (Gantt) of activities, timers and
sub-orchestrations, input and output, and the history with every payload as indented JSON.
While something shown is still running the page refreshes itself every few seconds.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from devhost.durable.store import Instance
from devhost.durable.wire import Event, EventType, RuntimeStatus, from_epoch
from devhost.monitoring.timeline import Bar, Timeline, pretty, readable
from devhost.monitoring.views import RUNNING_STATUSES, WINDOWS, Filters, Node, Progress, duration, progress_of

REFRESH_SECONDS = 3
MAX_BARS = 400
MAX_PAYLOAD = 20_000

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
a{color:#0650a8}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f4f4f4}
.status{padding:.05rem .45rem;border-radius:.7rem;font-size:.85rem;color:#fff;background:#777}
.Completed{background:#1b7f3b}.Failed{background:#b3261e}.Terminated{background:#8a4b00}
.Running{background:#0a5cc2}.Pending{background:#5b6b7f}.Suspended{background:#6b3fa0}
.progress{display:inline-block;width:9rem;height:.6rem;background:#e3e3e3;border-radius:.3rem;
vertical-align:middle;overflow:hidden}.progress .done{height:100%;background:#1b7f3b;float:left}
.progress .failed{height:100%;background:#b3261e;float:left}
.muted{color:#666;font-size:.85rem}details.children{margin:.2rem 0 .2rem 1.2rem}
form.inline{display:inline}#filters{background:#f7f7f7;padding:.6rem;border-radius:.4rem}
#filters label{margin-right:.7rem}button{cursor:pointer}
.gantt-row{display:flex;align-items:center;height:1.3rem;font-size:.8rem}
.gantt-label{width:16rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.gantt-track{position:relative;flex:1;height:.9rem;background:#f2f2f2}
.gantt-bar{position:absolute;top:0;height:100%;min-width:2px;border-radius:2px}
.gantt-bar.activity{background:#2f7bd8}.gantt-bar.sub-orchestration{background:#8e5bd0}
.gantt-bar.timer{background:repeating-linear-gradient(45deg,#c9a227,#c9a227 4px,#e6cf72 4px,#e6cf72 8px)}
.gantt-bar.failed{background:#b3261e}.gantt-bar.running{opacity:.55}
.gantt-axis{display:flex;justify-content:space-between;margin-left:16rem;font-size:.75rem;color:#666}
pre.payload{background:#f7f7f7;padding:.4rem;margin:.2rem 0;max-height:24rem;overflow:auto;
white-space:pre-wrap;word-break:break-word}
"""


def instances_page(
    hub_name: str,
    roots: list[Node],
    filters: Filters,
    orchestrators: Iterable[str],
    now: datetime,
    code: str | None,
) -> str:
    running = any(_any_running(node) for node in roots)
    body = _filter_form(filters, orchestrators, code)
    if roots:
        rows = "".join(_job_rows(node, now, code) for node in roots)
        body += (
            "<table id='jobs'><tr><th>Instance</th><th>Orchestrator</th><th>Status</th><th>Progress</th>"
            f"<th>Created (UTC)</th><th>Duration</th></tr>{rows}</table>"
        )
    elif filters.active:
        body += "<p id='empty'>No instance matches these filters.</p>"
    else:
        body += "<p id='empty'>No orchestration instances yet.</p>"
    return _page(f"devhost: task hub {hub_name}", body, refresh=running)


def instance_page(
    instance: Instance,
    history: list[Event],
    timeline: Timeline | None,
    children: list[Instance],
    now: datetime,
    code: str | None,
) -> str:
    status = instance.runtime_status
    parts = [f"<p><a href='{_href('/', code)}'>All instances</a></p>", _summary(instance, now, code)]
    progress = progress_of(instance.custom_status)
    if progress is not None:
        parts.append(f"<h2>Progress</h2><div id='progress'>{_progress(progress)}</div>")
        parts.append(f"<details><summary>Custom status</summary>{_pre(instance.custom_status)}</details>")
    parts.append(
        "<h2>Timeline</h2>" + (_gantt(timeline, now, code) if timeline else "<p>Not started yet.</p>")
    )
    if children:
        rows = "".join(_instance_row(child, now, code, css="child") for child in children)
        parts.append(
            "<h2>Sub-orchestrations</h2><table id='children'><tr><th>Instance</th><th>Orchestrator</th>"
            f"<th>Status</th><th>Progress</th><th>Created (UTC)</th><th>Duration</th></tr>{rows}</table>"
        )
    parts.append(f"<h2>Input</h2>{_pre(instance.input)}")
    if instance.output is not None:
        parts.append(f"<h2>Output</h2>{_pre(instance.output)}")
    parts.append("<h2>History</h2>" + _history(history))
    return _page(f"Instance {instance.instance_id}", "".join(parts), refresh=status in RUNNING_STATUSES)


def message_page(title: str, message: str, code: str | None) -> str:
    return _page(
        title, f"<p id='message'>{html.escape(message)}</p><p><a href='{_href('/', code)}'>Back</a></p>"
    )


# -- pieces ------------------------------------------------------------------------------------


def _page(title: str, body: str, *, refresh: bool = False) -> str:
    meta = f"<meta http-equiv='refresh' content='{REFRESH_SECONDS}'>" if refresh else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>{meta}<title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def unescaped_href(path: str, code: str | None) -> str:
    """``path`` with the host key carried on (for redirects; pages use the escaped form)."""
    return path + ("?" + urlencode({"code": code}) if code else "")


def unescaped_instance_href(instance_id: str, code: str | None, action: str = "") -> str:
    return unescaped_href(f"/instances/{quote(instance_id, safe='')}{action}", code)


def _href(path: str, code: str | None) -> str:
    return html.escape(unescaped_href(path, code), quote=True)


def _instance_href(instance_id: str, code: str | None, action: str = "") -> str:
    return html.escape(unescaped_instance_href(instance_id, code, action), quote=True)


def _status(status: RuntimeStatus) -> str:
    return f"<span class='status {status.value}'>{status.value}</span>"


def _progress(progress: Progress | None) -> str:
    if progress is None:
        return ""
    if progress.total is None:
        text = f"{progress.stage} " if progress.stage else ""
        other = "" if progress.other is None else json.dumps(progress.other, ensure_ascii=False)
        shown = other if len(other) < 160 else other[:159] + "…"
        return f"<span class='progress-text'>{html.escape(text + shown)}</span>"
    done = progress.done / progress.total * 100 if progress.total else 0
    failed = progress.failed / progress.total * 100 if progress.total else 0
    text = f"{progress.done}/{progress.total} done" + (
        f", {progress.failed} failed" if progress.failed else ""
    )
    stage = f"{progress.stage} · " if progress.stage else ""
    return (
        f"<span class='progress' title='{progress.percent or 0:.0f}%'><span class='done' "
        f"style='width:{done:.1f}%'></span><span class='failed' style='width:{failed:.1f}%'></span></span> "
        f"<span class='progress-text'>{html.escape(stage + text)}</span>"
    )


def _instance_row(instance: Instance, now: datetime, code: str | None, *, css: str) -> str:
    return (
        f"<tr class='{css}' data-instance='{html.escape(instance.instance_id, quote=True)}'>"
        f"<td><a href='{_instance_href(instance.instance_id, code)}'>"
        f"{html.escape(instance.instance_id)}</a></td>"
        f"<td>{html.escape(instance.name)}</td><td>{_status(instance.runtime_status)}</td>"
        f"<td>{_progress(progress_of(instance.custom_status))}</td>"
        f"<td>{_when(from_epoch(instance.created_time))}</td><td>{_span(duration(instance, now))}</td></tr>"
    )


def _job_rows(node: Node, now: datetime, code: str | None) -> str:
    css = "job" if node.instance.parent_instance_id is None else "orphan"
    row = _instance_row(node.instance, now, code, css=css)
    if not node.children:
        return row
    return row + f"<tr class='nested'><td colspan='6'>{_children(node, now, code)}</td></tr>"


def _children(node: Node, now: datetime, code: str | None) -> str:
    count = node.descendants
    label = f"{count} sub-orchestration{'s' if count != 1 else ''}"
    rows = ""
    for child in node.children:
        rows += _instance_row(child.instance, now, code, css="child")
        if child.children:
            rows += f"<tr class='nested'><td colspan='6'>{_children(child, now, code)}</td></tr>"
    return f"<details class='children'><summary>{label}</summary><table>{rows}</table></details>"


def _filter_form(filters: Filters, orchestrators: Iterable[str], code: str | None) -> str:
    boxes = "".join(
        f"<label><input type='checkbox' name='status' value='{s.value}'"
        f"{' checked' if s in filters.statuses else ''}> {s.value}</label>"
        for s in (RuntimeStatus.RUNNING, RuntimeStatus.PENDING, RuntimeStatus.COMPLETED, RuntimeStatus.FAILED,
                  RuntimeStatus.TERMINATED, RuntimeStatus.SUSPENDED)
    )  # fmt: skip
    names = "".join(
        f"<option value='{html.escape(name, quote=True)}'"
        f"{' selected' if name == filters.orchestrator else ''}>"
        f"{html.escape(name)}</option>"
        for name in sorted(orchestrators)
    )
    windows = "".join(
        f"<option value='{key}'{' selected' if key == filters.window else ''}>last {key}</option>"
        for key in WINDOWS
    )
    hidden = f"<input type='hidden' name='code' value='{html.escape(code, quote=True)}'>" if code else ""
    return (
        f"<form id='filters' method='get' action='/'>{hidden}<div>{boxes}</div><div>"
        "<label>Orchestrator <select name='orchestrator'><option value=''>any</option>"
        f"{names}</select></label>"
        f"<label>Created <select name='window'><option value=''>any time</option>{windows}</select></label>"
        "<label>from <input type='datetime-local' name='from' "
        f"value='{_local(filters.created_from, filters)}'></label>"
        "<label>to <input type='datetime-local' name='to' "
        f"value='{_local(filters.created_to, None)}'>"
        f"</label><button type='submit'>Filter</button> <a href='{_href('/', code)}'>clear</a></div></form>"
    )


def _summary(instance: Instance, now: datetime, code: str | None) -> str:
    status = instance.runtime_status
    parent = ""
    if instance.parent_instance_id:
        parent = (
            " · sub-orchestration of <a id='parent' "
            f"href='{_instance_href(instance.parent_instance_id, code)}'>"
            f"{html.escape(instance.parent_instance_id)}</a>"
        )
    actions = ""
    if status in RUNNING_STATUSES:
        actions = (
            "<form class='inline' method='post' "
            f"action='{_instance_href(instance.instance_id, code, '/terminate')}'>"
            "<button id='terminate' type='submit'>Terminate</button></form>"
        )
    elif status.is_terminal:
        actions = (
            "<form class='inline' method='post' "
            f"action='{_instance_href(instance.instance_id, code, '/purge')}'>"
            "<button id='purge' type='submit'>Purge history</button></form>"
        )
    return (
        f"<p id='summary'><strong>{html.escape(instance.name)}</strong> {_status(status)}{parent}<br>"
        f"<span class='muted'>created {_when(from_epoch(instance.created_time))} · last updated "
        f"{_when(from_epoch(instance.last_updated_time))} · {_span(duration(instance, now))}"
        f"</span></p>{actions}"
    )


def _gantt(timeline: Timeline, now: datetime, code: str | None) -> str:
    bars = timeline.bars[:MAX_BARS]
    rows = "".join(_gantt_row(timeline, bar, now, code) for bar in bars)
    more = len(timeline.bars) - len(bars)
    note = f"<p class='muted'>and {more} more steps not drawn.</p>" if more > 0 else ""
    ticks = "".join(f"<span>{_span(timedelta(seconds=timeline.seconds * q / 4))}</span>" for q in range(5))
    header = (
        f"<p class='muted' id='timeline-summary'>{len(timeline.bars)} steps over "
        f"{_span(timedelta(seconds=timeline.seconds))}"
        f"; at most {timeline.peak_parallelism()} running at once.</p>"
    )
    return f"{header}<div id='timeline'>{rows}<div class='gantt-axis'>{ticks}</div></div>{note}"


def _gantt_row(timeline: Timeline, bar: Bar, now: datetime, code: str | None) -> str:
    left = timeline.offset(bar.start)
    width = max(0.3, timeline.offset(bar.end or timeline.end) - left)
    label = bar.name if bar.kind != "timer" else f"timer until {_when(bar.fire_at) if bar.fire_at else '?'}"
    if bar.child_instance_id:
        label_html = f"<a href='{_instance_href(bar.child_instance_id, code)}'>{html.escape(label)}</a>"
    else:
        label_html = html.escape(label)
    tip = f"{label} (#{bar.task_id}): {bar.outcome}, {_span(timedelta(seconds=bar.seconds(now)))}"
    return (
        f"<div class='gantt-row' data-kind='{bar.kind}' data-outcome='{bar.outcome}'>"
        f"<div class='gantt-label' title='{html.escape(tip, quote=True)}'>{label_html}</div>"
        f"<div class='gantt-track'><div class='gantt-bar {bar.kind} {bar.outcome}' "
        f"style='left:{left:.2f}%;width:{width:.2f}%' title='{html.escape(tip, quote=True)}'>"
        "</div></div></div>"
    )


_PAYLOAD_FIELDS = ("Input", "Result", "Reason", "Details", "FailureDetails", "FireAt", "InstanceId", "Name")


def _history(history: list[Event]) -> str:
    rows = []
    for event in history:
        kind = EventType(event["EventType"])
        if kind in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED):
            continue
        event_id = (
            event["EventId"]
            if event["EventId"] >= 0
            else event.get("TaskScheduledId", event.get("TimerId", ""))
        )
        details = "".join(
            f"<div><span class='muted'>{name}</span>{_payload(event[name])}</div>"
            for name in _PAYLOAD_FIELDS
            if event.get(name) not in (None, "")
        )
        rows.append(
            f"<tr class='event' data-event='{kind.dotnet_name}'><td>{html.escape(event['Timestamp'])}</td>"
            f"<td>{kind.dotnet_name}</td><td>{event_id}</td><td>{details}</td></tr>"
        )
    return (
        "<table id='history'><tr><th>Timestamp (UTC)</th><th>Event</th><th>Id</th><th>Details</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _payload(value: Any) -> str:
    decoded = readable(value)
    if isinstance(decoded, str) and "\n" not in decoded and len(decoded) < 200:
        return f" <code>{html.escape(decoded)}</code>"
    return _pre(decoded)


def _pre(value: Any) -> str:
    if value is None:
        return "<p class='muted'>none</p>"
    text = pretty(value)
    if len(text) > MAX_PAYLOAD:
        text = text[:MAX_PAYLOAD] + f"\n… ({len(text) - MAX_PAYLOAD} more characters)"
    return f"<pre class='payload'>{html.escape(text)}</pre>"


def _any_running(node: Node) -> bool:
    return node.instance.runtime_status in RUNNING_STATUSES or any(_any_running(c) for c in node.children)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _local(moment: datetime | None, filters: Filters | None) -> str:
    if moment is None or (filters is not None and filters.window):
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M")


def _span(delta: timedelta) -> str:
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
