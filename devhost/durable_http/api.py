"""The Durable extension's HTTP API and the SDK's RPC endpoint (same handlers, two mounts).

Public: `/runtime/webhooks/durabletask/...` (system key checked with `--enforce-keys`).
RPC: `/durabletask/...` on the RPC listener, which the binding JSON's `rpcBaseUrl` points at.
Status codes and bodies are the ones `DurableOrchestrationClient` handles (reference §5.2).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from devhost.durable.engine import Engine
from devhost.durable.store import InstanceQuery
from devhost.durable.wire import RuntimeStatus, jtoken_text, parse_timestamp, to_epoch
from devhost.durable_http.client_binding import DurableEndpoints
from devhost.durable_http.status import status_payload
from devhost.errors import ManagementError
from devhost.functions.keys import DURABLE_SYSTEM, HostKeys
from devhost.monitoring.tracing import HostTracing

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_RUNNING = (
    RuntimeStatus.RUNNING,
    RuntimeStatus.PENDING,
    RuntimeStatus.CONTINUED_AS_NEW,
    RuntimeStatus.SUSPENDED,
)


class DurableApi:
    def __init__(
        self,
        engine: Engine,
        endpoints: Callable[[], DurableEndpoints],
        keys: HostKeys | None,
        tracing: HostTracing | None = None,
    ) -> None:
        self._engine = engine
        self._endpoints = endpoints
        self._keys = keys  # None: keys are not enforced
        self._tracing = tracing

    def routes(self, prefix: str, *, public: bool) -> list[web.RouteDef]:
        guard = self._require_system_key if public and self._keys is not None else _unguarded
        return [
            web.post(f"{prefix}/orchestrators/{{name}}", guard(self.start)),
            web.post(f"{prefix}/orchestrators/{{name}}/{{instance_id}}", guard(self.start)),
            web.get(f"{prefix}/instances", guard(self.list_instances)),
            web.get(f"{prefix}/instances/", guard(self.list_instances)),
            web.delete(f"{prefix}/instances", guard(self.purge_many)),
            web.delete(f"{prefix}/instances/", guard(self.purge_many)),
            web.get(f"{prefix}/instances/{{instance_id}}", guard(self.status)),
            web.delete(f"{prefix}/instances/{{instance_id}}", guard(self.purge)),
            web.post(
                f"{prefix}/instances/{{instance_id}}/raiseEvent/{{event_name}}", guard(self.raise_event)
            ),
            web.post(f"{prefix}/instances/{{instance_id}}/terminate", guard(self.terminate)),
            web.post(f"{prefix}/instances/{{instance_id}}/suspend", guard(self.suspend)),
            web.post(f"{prefix}/instances/{{instance_id}}/resume", guard(self.resume)),
            web.post(f"{prefix}/instances/{{instance_id}}/restart", guard(self.restart)),
            web.post(f"{prefix}/instances/{{instance_id}}/rewind", guard(self.rewind)),
        ]

    def _require_system_key(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            assert self._keys is not None
            provided = request.query.get("code") or request.headers.get("x-functions-key")
            if not self._keys.accepts(provided, DURABLE_SYSTEM):
                return web.Response(status=401)
            return await handler(request)

        return guarded

    async def start(self, request: web.Request) -> web.StreamResponse:
        try:
            raw_input = _json_body(await request.text())
            instance_id = self._engine.start_new(
                request.match_info["name"], request.match_info.get("instance_id"), raw_input
            )
        except ManagementError as exc:
            return _error(exc)
        if self._tracing is not None:  # the caller's traceparent, as the SDK sends it
            self._tracing.instance_started(instance_id, request.match_info["name"], request.headers)
        return self._accepted(instance_id)

    async def status(self, request: web.Request) -> web.StreamResponse:
        instance_id = request.match_info["instance_id"]
        instance = self._engine.instance(instance_id)
        if instance is None:
            return web.Response(status=404)  # empty body: the SDK returns a falsy status
        query = request.query
        history = self._engine.history(instance_id) if _flag(query.get("showHistory")) else None
        body = status_payload(
            instance,
            show_input=_flag(query.get("showInput"), default=True),
            history=history,
            show_history_output=_flag(query.get("showHistoryOutput")),
        )
        if instance.runtime_status in _RUNNING:
            headers = {"Location": str(request.url), "Retry-After": "5"}
            return web.json_response(body, status=202, headers=headers)
        failed = instance.runtime_status is RuntimeStatus.FAILED
        status = 500 if failed and _flag(query.get("returnInternalServerErrorOnFailure")) else 200
        return web.json_response(body, status=status)

    async def list_instances(self, request: web.Request) -> web.StreamResponse:
        try:
            query = _instance_query(request)
            start = int(request.headers.get("x-ms-continuation-token") or 0)
            top = int(request.query.get("top") or 0)
        except ValueError as exc:
            return _error(ManagementError(f"invalid instance query: {exc}"))
        show_input = _flag(request.query.get("showInput"), default=True)
        rows = [status_payload(i, show_input=show_input) for i in self._engine.instances(query)]
        top = top or len(rows)
        page, headers = rows[start : start + top], {}
        if start + top < len(rows):
            headers["x-ms-continuation-token"] = str(start + top)
        return web.json_response(page, headers=headers)

    async def raise_event(self, request: web.Request) -> web.StreamResponse:
        try:
            raw_input = _json_body(await request.text())
            self._engine.raise_event(
                request.match_info["instance_id"], request.match_info["event_name"], raw_input
            )
        except ManagementError as exc:
            return _error(exc)
        return web.Response(status=202)

    async def terminate(self, request: web.Request) -> web.StreamResponse:
        return self._control(request, self._engine.terminate)

    async def suspend(self, request: web.Request) -> web.StreamResponse:
        return self._control(request, self._engine.suspend)

    async def resume(self, request: web.Request) -> web.StreamResponse:
        return self._control(request, self._engine.resume)

    def _control(
        self, request: web.Request, operation: Callable[[str, str | None], None]
    ) -> web.StreamResponse:
        try:
            operation(request.match_info["instance_id"], request.query.get("reason"))
        except ManagementError as exc:
            return _error(exc)
        return web.Response(status=202)

    async def restart(self, request: web.Request) -> web.StreamResponse:
        new_id = _flag(request.query.get("restartWithNewInstanceId"), default=True)
        try:
            instance_id = self._engine.restart(request.match_info["instance_id"], new_instance_id=new_id)
        except ManagementError as exc:
            return _error(exc)
        return self._accepted(instance_id)

    async def rewind(self, request: web.Request) -> web.StreamResponse:
        return _error_body(501, "devhost does not implement rewind (a preview feature of the real host).")

    async def purge(self, request: web.Request) -> web.StreamResponse:
        deleted = self._engine.purge(request.match_info["instance_id"])
        return web.json_response({"instancesDeleted": deleted}) if deleted else web.Response(status=404)

    async def purge_many(self, request: web.Request) -> web.StreamResponse:
        try:
            query = _instance_query(request)
        except ValueError as exc:
            return _error(ManagementError(str(exc)))
        if query.created_from is None:
            return _error(ManagementError("createdTimeFrom is required to purge instances by filter."))
        deleted = self._engine.purge_where(query)
        return web.json_response({"instancesDeleted": deleted}) if deleted else web.Response(status=404)

    def _accepted(self, instance_id: str) -> web.StreamResponse:
        payload = self._endpoints().management_payload(instance_id)
        headers = {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        return web.json_response(payload, status=202, headers=headers)


def _unguarded(handler: Handler) -> Handler:
    return handler


def _json_body(text: str) -> str | None:
    """The host parses the body into a JSON value and keeps its serialised form (None if empty)."""
    if not text.strip():
        return None
    try:
        return jtoken_text(json.loads(text))
    except ValueError as exc:
        raise ManagementError(f"The request body is not valid JSON: {exc}") from exc


def _flag(value: str | None, *, default: bool = False) -> bool:
    return default if value is None else value.strip().lower() == "true"


def _instance_query(request: web.Request) -> InstanceQuery:
    query = request.query
    statuses = None
    if query.get("runtimeStatus"):
        try:
            statuses = frozenset(RuntimeStatus(s.strip()) for s in query["runtimeStatus"].split(","))
        except ValueError as exc:
            raise ValueError(f"runtimeStatus has an unknown status: {query['runtimeStatus']}") from exc
    return InstanceQuery(
        created_from=_time(query.get("createdTimeFrom"), "createdTimeFrom"),
        created_to=_time(query.get("createdTimeTo"), "createdTimeTo"),
        statuses=statuses,
        prefix=query.get("instanceIdPrefix") or None,
    )


def _time(value: str | None, name: str) -> float | None:
    if not value:
        return None
    try:
        return to_epoch(parse_timestamp(value))
    except ValueError as exc:
        raise ValueError(f"{name} is not an ISO 8601 time: {value!r}") from exc


def _error(exc: ManagementError) -> web.StreamResponse:
    message = str(exc)
    summary = "Something went wrong while processing your request" if exc.status >= 500 else message
    body: dict[str, Any] = {
        "Message": summary,
        "ExceptionMessage": message,
        "ExceptionType": exc.exception_type,
        "StackTrace": None,
    }
    return web.json_response(body, status=exc.status)


def _error_body(status: int, message: str) -> web.StreamResponse:
    return web.json_response({"Message": message, "ExceptionMessage": message}, status=status)
