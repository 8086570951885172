"""The monitoring pages' routes: what the portal's Durable Task Scheduler dashboard shows, locally.

- ``GET /``: jobs first with progress and nested sub-orchestrations; filters by status,
  orchestrator and creation time (``?status=Running&orchestrator=analysis_job&window=1h``).
- ``GET /instances/{id}``: one instance: summary, progress, timeline, sub-orchestrations, input,
  output and history.
- ``POST /instances/{id}/terminate`` and ``POST /instances/{id}/purge``: the dashboard's
  terminate and purge, through the same engine calls as the Durable HTTP API (so terminate is not
  recursive and purge refuses a running instance, as in Azure); both answer 303 back to a page.

With ``--enforce-keys`` every page needs a host key in ``?code=``, which links and forms carry on.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from devhost.durable.clock import Clock
from devhost.durable.engine import Engine
from devhost.durable.store import InstanceQuery
from devhost.errors import ManagementError
from devhost.functions.app_loader import ORCHESTRATION_TRIGGER, LoadedApp
from devhost.monitoring import render
from devhost.monitoring.timeline import build_timeline
from devhost.monitoring.views import MAX_INSTANCES, FilterError, Filters, job_tree

TERMINATE_REASON = "Terminated from the devhost monitoring page"


class MonitoringPages:
    def __init__(
        self,
        engine: Engine,
        app: LoadedApp,
        clock: Clock,
        hub_name: str,
        allowed: Callable[[web.Request], bool],
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._app = app
        self._hub_name = hub_name
        self._allowed = allowed

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.instances),
            web.get("/instances/{instance_id}", self.instance),
            web.post("/instances/{instance_id}/terminate", self.terminate),
            web.post("/instances/{instance_id}/purge", self.purge),
        ]

    async def instances(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request):
            return web.Response(status=401)
        now = self._clock.now()
        code = request.query.get("code")
        try:
            filters = Filters.from_query(request.query, now)
        except FilterError as exc:
            return _html(render.message_page("Bad filter", str(exc), code), status=400)
        matching = [i for i in self._engine.instances(filters.store_query()) if filters.matches(i)]
        everything = self._engine.instances(InstanceQuery()) if filters.active else matching
        roots = job_tree(matching[:MAX_INSTANCES], everything)
        names = [f.name for f in self._app.by_trigger(ORCHESTRATION_TRIGGER)]
        return _html(render.instances_page(self._hub_name, roots, filters, names, now, code))

    async def instance(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request):
            return web.Response(status=401)
        instance_id = request.match_info["instance_id"]
        code = request.query.get("code")
        found = self._engine.instance(instance_id)
        if found is None:
            return _html(render.message_page("Not found", f"No instance {instance_id}", code), status=404)
        history = self._engine.history(instance_id)
        now = self._clock.now()
        children = sorted(
            (i for i in self._engine.instances(InstanceQuery()) if i.parent_instance_id == instance_id),
            key=lambda i: i.created_time,
        )
        page = render.instance_page(found, history, build_timeline(history, now), children, now, code)
        return _html(page)

    async def terminate(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request):
            return web.Response(status=401)
        instance_id = request.match_info["instance_id"]
        code = request.query.get("code")
        try:
            self._engine.terminate(instance_id, TERMINATE_REASON)
        except ManagementError as exc:
            return _html(render.message_page("Cannot terminate", str(exc), code), status=exc.status)
        raise web.HTTPSeeOther(render.unescaped_instance_href(instance_id, code))

    async def purge(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request):
            return web.Response(status=401)
        instance_id = request.match_info["instance_id"]
        code = request.query.get("code")
        if not self._engine.purge(instance_id):
            message = (
                f"Instance {instance_id} is unknown or still running: only finished instances are purged."
            )
            return _html(render.message_page("Cannot purge", message, code), status=409)
        raise web.HTTPSeeOther(render.unescaped_href("/", code))


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, content_type="text/html", status=status)
