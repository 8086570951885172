"""The emulator's web application: CU's REST API under ``/contentunderstanding`` (live versions),
plus ``/_emulator/{stats,faults,reset}`` for tests. Every request needs the key."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from emulators.content_understanding import quotas, routes_analysis, routes_analyzers
from emulators.content_understanding.config import faults_to_json, update_faults
from emulators.content_understanding.errors import invalid
from emulators.content_understanding.middleware import service_middleware
from emulators.content_understanding.protocol import BASE, STATE, json_body, state_of
from emulators.content_understanding.state import EmulatorState

MAX_BODY_BYTES = 300 * 1024 * 1024  # a 200 MB document, base64-encoded in JSON


# Test hooks --------------------------------------------------------------------------------


async def emulator_stats(request: web.Request) -> web.Response:
    return web.json_response(state_of(request).stats_json())


async def emulator_faults(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise invalid("The body must be a JSON object of fault settings.")
    try:
        state.faults = update_faults(state.faults, body, json_names=True)
    except ValueError as error:
        raise invalid(str(error)) from None
    return web.json_response(faults_to_json(state.faults))


async def emulator_reset(request: web.Request) -> web.Response:
    state_of(request).reset()
    return web.Response(status=204)


# The application ---------------------------------------------------------------------------


def build_app(state: EmulatorState) -> web.Application:
    app = web.Application(middlewares=[service_middleware], client_max_size=MAX_BODY_BYTES)
    app[STATE] = state

    async def http_session(app: web.Application) -> Any:
        # The client that fetches inputs, as the service does.
        state.session = aiohttp.ClientSession()
        yield
        await state.aclose()
        await state.session.close()
        state.session = None

    app.cleanup_ctx.append(http_session)
    analyzers, analyses = routes_analyzers, routes_analysis
    add = app.router.add_route
    add("GET", f"{BASE}/analyzers", analyzers.list_analyzers)
    add("*", f"{BASE}/analyzers/{{name}}", analyzers.analyzer_resource)  # also {id}:analyze
    add(
        "GET", f"{BASE}/analyzers/{{analyzer_id}}/operations/{{operation_id}}", analyzers.get_create_operation
    )
    add("GET", f"{BASE}/analyzerResults/{{operation_id}}", analyses.analyzer_result)
    add("DELETE", f"{BASE}/analyzerResults/{{operation_id}}", analyses.analyzer_result)
    add("GET", f"{BASE}/analyzerResults/{{operation_id}}/files/{{path:.+}}", analyses.result_file)
    add("GET", f"{BASE}/defaults", analyzers.defaults)
    add("PATCH", f"{BASE}/defaults", analyzers.defaults)
    app.router.add_get("/_emulator/stats", emulator_stats)
    app.router.add_post("/_emulator/faults", emulator_faults)
    app.router.add_post("/_emulator/reset", emulator_reset)
    quotas.install(app)  # per-minute quotas, off until a test sets them (quotas.py)
    return app
