"""`DevHost`: load an app, serve it over HTTP, run its orchestrations. The in-process API.

    async with DevHost(app_dir, settings={...}, state_dir=tmp_path, clock=VirtualClock()) as host:
        response = await client.post(f"{host.base_url}/api/start/orch", json={...})
        status = await host.wait_for(instance_id, timeout=10)

Two listeners on 127.0.0.1: the public site (`/api/...`, the Durable HTTP API, the blob webhook,
the status page) and the RPC endpoint the SDK's client calls (the real host's port 17071).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

import azure.durable_functions.models.utils.http_utils as sdk_http
from aiohttp import web
from azure.functions._durable_functions import df_dumps

from devhost.durable.clock import Clock, RealClock
from devhost.durable.engine import Engine
from devhost.durable.store import Store
from devhost.durable.wire import Event, jtoken_text
from devhost.durable_http.api import DurableApi
from devhost.durable_http.client_binding import DurableEndpoints
from devhost.durable_http.status import status_payload
from devhost.functions.app_loader import LoadedApp, load_app
from devhost.functions.blob_triggers import BlobTriggers
from devhost.functions.config import (
    HTTP_RESPONSE_LIMIT_SECONDS,
    HostConfig,
    load_host_config,
    request_body_limit,
)
from devhost.functions.http_functions import MAX_BODY_KEY, HttpFunctions, body_limit_middleware
from devhost.functions.invoke import Invoker
from devhost.functions.keys import HostKeys
from devhost.functions.timer_triggers import TimerTriggers
from devhost.monitoring.pages import MonitoringPages
from devhost.monitoring.tracing import HostTracing

log = logging.getLogger("devhost")

STATE_FILE = "devhost.sqlite3"

# The real host and the Python worker are two processes; devhost is one, so its event loop shares
# the GIL with orchestrator replays and sync activities in worker threads. At the default 5 ms
# switch interval every database call or socket read of the loop can wait 5 ms behind a replay;
# 0.5 ms keeps dispatching fluid (about 2x the activity throughput, see docs/devhost.md).
SWITCH_INTERVAL_SECONDS = 0.0005


class DevHost:
    def __init__(
        self,
        app_dir: Path,
        *,
        settings: Mapping[str, str] | None = None,
        state_dir: Path,
        port: int = 0,
        rpc_port: int = 0,
        clock: Clock | None = None,
        enforce_keys: bool = False,
        blob_poll_interval: float | None = 2.0,
        http_response_timeout: float = HTTP_RESPONSE_LIMIT_SECONDS,
    ) -> None:
        if not 0 < http_response_timeout <= HTTP_RESPONSE_LIMIT_SECONDS:
            # Tests may shorten Azure's 230 s to see it happen; never lengthen it.
            raise ValueError(f"http_response_timeout must be in (0, {HTTP_RESPONSE_LIMIT_SECONDS:g}] seconds")
        self.app_dir = Path(app_dir).resolve()
        self.state_dir = Path(state_dir)
        self.clock: Clock = clock or RealClock()
        self._settings = dict(settings or {})
        self._port = port
        self._rpc_port = rpc_port
        self._enforce_keys = enforce_keys
        self._blob_poll_interval = blob_poll_interval
        self._http_response_timeout = http_response_timeout
        self._http_functions: HttpFunctions | None = None
        self._saved_environ: dict[str, str | None] = {}
        self._added_sys_path = False
        self._runners: list[web.AppRunner] = []
        self._pools: list[ThreadPoolExecutor] = []
        self._poller: asyncio.Task[None] | None = None
        self._store: Store | None = None
        self._engine: Engine | None = None
        self._blobs: BlobTriggers | None = None
        self._timers: TimerTriggers | None = None
        self._tracing = HostTracing()
        self._app: LoadedApp | None = None
        self._config: HostConfig | None = None
        self._endpoints: DurableEndpoints | None = None
        self._keys: HostKeys | None = None
        self._saved_switch_interval: float | None = None

    async def __aenter__(self) -> DevHost:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self._saved_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(SWITCH_INTERVAL_SECONDS, self._saved_switch_interval))
        self._apply_settings()
        _reset_sdk_session()
        self._added_sys_path = str(self.app_dir) not in sys.path
        self._config = config = load_host_config(self.app_dir, os.environ)
        self._app = app = load_app(self.app_dir)
        self._store = store = Store(self.state_dir / STATE_FILE)
        self._keys = keys = HostKeys.load_or_create(store, app.functions)
        enforced = keys if self._enforce_keys else None
        activity_pool = self._pool(config.max_concurrent_activities, "devhost-activity")
        invoker = Invoker(
            app_dir=self.app_dir,
            activity_pool=activity_pool,
            function_pool=self._pool(8, "devhost-function"),
            client_binding=lambda binding: self.endpoints.binding_json(binding),
            function_timeout=config.function_timeout,
            tracing=self._tracing,
        )
        self._engine = engine = Engine(
            store=store,
            app=app,
            invoker=invoker,
            clock=self.clock,
            config=config,
            orchestrator_pool=self._pool(config.max_concurrent_orchestrators, "devhost-orchestrator"),
        )
        self._tracing.attach(
            parent_of=lambda i: getattr(engine.instance(i), "parent_instance_id", None),
            wait_for=lambda i: engine.wait_for(i, timeout=7 * 24 * 3600),
        )
        self._blobs = blobs = BlobTriggers(app, invoker, store, enforced)
        self._timers = timers = TimerTriggers(app, invoker, self.clock)
        durable_api = DurableApi(engine, lambda: self.endpoints, enforced, self._tracing)
        max_body = request_body_limit(os.environ)
        self._http_functions = http_functions = HttpFunctions(
            app,
            invoker,
            config.route_prefix,
            enforced,
            max_body_bytes=max_body,
            response_timeout=self._http_response_timeout,
        )
        monitoring = MonitoringPages(engine, app, self.clock, config.hub_name, self._page_allowed)

        # aiohttp refuses bodies of client_max_size bytes or more: one above the host's limit.
        public = web.Application(client_max_size=max_body + 1, middlewares=[body_limit_middleware])
        public[MAX_BODY_KEY] = max_body
        public.add_routes(
            [
                *monitoring.routes(),
                web.post("/admin/functions/{name}", self._run_function),
                web.post("/runtime/webhooks/blobs", blobs.webhook),
                *durable_api.routes("/runtime/webhooks/durabletask", public=True),
                web.route("*", "/{tail:.*}", http_functions.handle),
            ]
        )
        rpc = web.Application()
        rpc.add_routes(durable_api.routes("/durabletask", public=False))
        base_url = await self._serve(public, self._port)
        rpc_url = await self._serve(rpc, self._rpc_port)
        self._endpoints = DurableEndpoints(
            base_url, f"{rpc_url}/durabletask/", config.hub_name, keys.durable_system
        )
        await engine.start()
        blobs.resume_queued()
        timers.start()
        if self._blob_poll_interval is not None and blobs.polled_functions:
            self._poller = asyncio.create_task(
                blobs.poll_forever(self._blob_poll_interval), name="devhost-blob-poller"
            )

    async def stop(self) -> None:
        """Stop serving and dispatching; state stays in the state directory for a restart."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._timers is not None:
            await self._timers.close()
            self._timers = None
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self._http_functions is not None:
            await self._http_functions.close()
            self._http_functions = None
        await self._tracing.close()
        if self._engine is not None:
            await self._engine.stop()
            self._engine = None
        if self._blobs is not None:
            await self._blobs.close()
            self._blobs = None
        await _close_sdk_session()
        for pool in self._pools:
            pool.shutdown(wait=False, cancel_futures=True)
        self._pools.clear()
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._added_sys_path and str(self.app_dir) in sys.path:
            sys.path.remove(str(self.app_dir))
        self._restore_settings()
        if self._saved_switch_interval is not None:
            sys.setswitchinterval(self._saved_switch_interval)
            self._saved_switch_interval = None

    def _pool(self, workers: int, name: str) -> ThreadPoolExecutor:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._pools.append(pool)
        return pool

    async def _serve(self, application: web.Application, port: int) -> str:
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", port).start()
        host, bound_port = runner.addresses[0][:2]
        return f"http://{host}:{bound_port}"

    def _apply_settings(self) -> None:
        for name, value in self._settings.items():
            self._saved_environ.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_settings(self) -> None:
        for name, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environ.clear()

    # -- what tests and the CLI use -------------------------------------------------------------

    @property
    def endpoints(self) -> DurableEndpoints:
        if self._endpoints is None:
            raise RuntimeError("DevHost is not started")
        return self._endpoints

    @property
    def base_url(self) -> str:
        """The public site, e.g. http://127.0.0.1:7071 (`/api/...` under it)."""
        return self.endpoints.base_url

    @property
    def rpc_base_url(self) -> str:
        return self.endpoints.rpc_base_url

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("DevHost is not started")
        return self._engine

    @property
    def app_module(self) -> ModuleType:
        """The app's loaded `function_app` module (a fresh module object per host)."""
        assert self._app is not None, "DevHost is not started"
        return self._app.module

    @property
    def function_names(self) -> list[str]:
        assert self._app is not None, "DevHost is not started"
        return sorted(self._app.functions)

    @property
    def keys(self) -> dict[str, str]:
        """Host keys (checked only with enforce_keys): "master", "host:default", "function:<name>"..."""
        assert self._keys is not None, "DevHost is not started"
        return self._keys.public()

    def start_new(self, name: str, client_input: Any = None, instance_id: str | None = None) -> str:
        """Start an orchestration as the SDK's `start_new` would (same input encoding)."""
        raw_input = None if client_input is None else jtoken_text(df_dumps(client_input))
        return self.engine.start_new(name, instance_id, raw_input)

    def status(
        self, instance_id: str, *, show_history: bool = False, show_history_output: bool = False
    ) -> dict[str, Any] | None:
        """The status JSON the HTTP API returns, or None for an unknown instance."""
        instance = self.engine.instance(instance_id)
        if instance is None:
            return None
        history = self.engine.history(instance_id) if show_history else None
        return status_payload(instance, history=history, show_history_output=show_history_output)

    def history(self, instance_id: str) -> list[Event]:
        """The current execution's history events, exactly as the orchestrator receives them."""
        return self.engine.history(instance_id)

    async def wait_for(self, instance_id: str, timeout: float = 30.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait until the instance has finished; returns its status JSON."""
        instance = await self.engine.wait_for(instance_id, timeout)
        return status_payload(instance)

    def holding_orchestrations(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Inside this block no episode starts: completions queue up and arrive together."""
        return self.engine.holding_orchestrations()

    async def poll_blobs(self) -> int:
        """Scan the blob triggers' containers now; returns how many blobs fired."""
        assert self._blobs is not None, "DevHost is not started"
        return await self._blobs.poll_once()

    @property
    def timers(self) -> TimerTriggers:
        """The timer triggers: ``runs`` per function, ``wait_for_runs(name, count)``, ``run_now(name)``."""
        assert self._timers is not None, "DevHost is not started"
        return self._timers

    # -- pages and the admin API ----------------------------------------------------------------

    def _page_allowed(self, request: web.Request) -> bool:
        return not self._enforce_keys or (
            self._keys is not None and self._keys.accepts(request.query.get("code"))
        )

    async def _run_function(self, request: web.Request) -> web.StreamResponse:
        """``POST /admin/functions/{name}``: run a non-HTTP function now (master key), as the host does.

        devhost runs timer functions this way; other triggers answer 404 here.
        """
        provided = request.headers.get("x-functions-key") or request.query.get("code")
        if self._enforce_keys and (self._keys is None or not self._keys.accepts(provided)):
            return web.Response(status=401)
        name = request.match_info["name"]
        timers = self.timers
        if name not in timers.functions:
            return web.Response(status=404, text=f"No timer function '{name}'")
        timers.run_soon(name)  # the host answers 202 at once and runs the function after
        return web.Response(status=202)


def _reset_sdk_session() -> None:
    """The SDK keeps one aiohttp session per process, bound to the loop that made it (§5.3)."""
    sdk_http._client_session = None
    sdk_http._session_lock = asyncio.Lock()


async def _close_sdk_session() -> None:
    session = sdk_http._client_session
    if session is not None and not session.closed:
        await session.close()
    sdk_http._client_session = None
