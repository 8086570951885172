"""The status page: instances with status, custom status and times, and each one's history.

What the portal's monitoring shows, locally: `/` lists instances (newest first), and
`/instances/{id}` shows one instance's history events. Everything is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from devhost.durable.store import Instance
from devhost.durable.wire import Event, EventType
from devhost.durable_http.status import status_payload

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}"
    "code{white-space:pre-wrap;word-break:break-all}"
    ".Completed{color:#070}.Failed,.Terminated{color:#b00}.Running,.Pending{color:#00a}"
)
_PREVIEW = 300


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _json_cell(value: object) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > _PREVIEW:
        text = text[:_PREVIEW] + "…"
    return f"<code>{html.escape(text)}</code>"


def render_instances(hub_name: str, instances: list[Instance]) -> str:
    rows = []
    for instance in instances:
        status = status_payload(instance, show_input=False)
        link = f"instances/{quote(instance.instance_id, safe='')}"
        rows.append(
            "<tr>"
            f"<td><a href='{html.escape(link)}'>{html.escape(instance.instance_id)}</a></td>"
            f"<td>{html.escape(instance.name)}</td>"
            f"<td class='{status['runtimeStatus']}'>{status['runtimeStatus']}</td>"
            f"<td>{_json_cell(status['customStatus'])}</td>"
            f"<td>{status['createdTime']}</td><td>{status['lastUpdatedTime']}</td>"
            "</tr>"
        )
    table = (
        "<table><tr><th>Instance</th><th>Orchestrator</th><th>Status</th><th>Custom status</th>"
        "<th>Created</th><th>Last updated</th></tr>" + "".join(rows) + "</table>"
    )
    empty = "<p>No orchestration instances yet.</p>"
    return _page(f"devhost: task hub {hub_name}", table if rows else empty)


def render_history(instance: Instance, history: list[Event]) -> str:
    status = status_payload(instance)
    summary = (
        f"<p><a href='../'>All instances</a></p><p>{html.escape(instance.name)}: "
        f"<span class='{status['runtimeStatus']}'>{status['runtimeStatus']}</span>, created "
        f"{status['createdTime']}, last updated {status['lastUpdatedTime']}</p>"
        f"<p>Custom status: {_json_cell(status['customStatus'])}</p>"
        f"<p>Output: {_json_cell(status['output'])}</p>"
    )
    rows = []
    for event in history:
        kind = EventType(event["EventType"]).dotnet_name
        details = {
            k: v for k, v in event.items() if k not in ("EventType", "EventId", "IsPlayed", "Timestamp")
        }
        event_id = event["EventId"] if event["EventId"] >= 0 else ""
        rows.append(
            f"<tr><td>{event['Timestamp']}</td><td>{kind}</td><td>{event_id}</td>"
            f"<td>{_json_cell(details or None)}</td></tr>"
        )
    table = (
        "<table><tr><th>Timestamp</th><th>Event</th><th>Id</th><th>Details</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return _page(f"Instance {instance.instance_id}", summary + table)
