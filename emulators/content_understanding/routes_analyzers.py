"""Analyzer routes: list, get, create (a long-running operation), update, delete; GA defaults."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from emulators.content_understanding.analysis import utc_now
from emulators.content_understanding.errors import ServiceError, invalid, not_found
from emulators.content_understanding.protocol import (
    API_VERSION,
    BASE,
    MERGE_PATCH,
    existing_analyzer,
    find_operation,
    json_body,
    merge_patch,
    origin,
    poll_response,
    rules_of,
    state_of,
)
from emulators.content_understanding.routes_analysis import analyze_inline, start_analysis
from emulators.content_understanding.state import Analyzer, EmulatorState, Operation
from emulators.content_understanding.validation import validate_analyzer, validate_patch
from emulators.content_understanding.versions import PREBUILTS

ANALYZER_ID = re.compile(r"[a-zA-Z0-9._-]{1,64}")


async def list_analyzers(request: web.Request) -> web.Response:
    state, version = state_of(request), request[API_VERSION]
    ids = sorted(PREBUILTS) + sorted(state.analyzers)
    analyzers = [state.find_analyzer(analyzer_id, version) for analyzer_id in ids]
    skip = _int_query(request, "skip", 0)
    page_size = state.config.page_size
    page = [a.to_json() for a in analyzers[skip : skip + page_size] if a is not None]
    body: dict[str, Any] = {"value": page}
    if skip + page_size < len(analyzers):
        body["nextLink"] = f"{origin(request)}{BASE}/analyzers?api-version={version}&skip={skip + page_size}"
    return web.json_response(body)


def _int_query(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise invalid(f"The query parameter '{name}' must be a whole number.", target=name)
    return int(raw)


async def analyzer_resource(request: web.Request) -> web.StreamResponse:
    """``/analyzers/{id}`` and ``/analyzers/{id}:action`` share one path segment."""
    name = request.match_info["name"]
    analyzer_id, _, action = name.partition(":")
    if action:
        inline = action in ("analyzeInline", "analyzeBinaryInline") and rules_of(request).has_inline
        if request.method != "POST" or not (inline or action in ("analyze", "analyzeBinary")):
            raise not_found(f"Resource '{name}' was not found.")
        binary = action.startswith("analyzeBinary")
        if inline:
            return await analyze_inline(request, analyzer_id, binary=binary)
        return await start_analysis(request, analyzer_id, binary=binary)
    handlers = {"GET": get_analyzer, "PUT": put_analyzer, "PATCH": patch_analyzer, "DELETE": delete_analyzer}
    if request.method not in handlers:
        raise ServiceError(405, "MethodNotAllowed", f"{request.method} is not allowed here.")
    return await handlers[request.method](request, analyzer_id)


async def get_analyzer(request: web.Request, analyzer_id: str) -> web.Response:
    return web.json_response(existing_analyzer(request, analyzer_id).to_json())


async def put_analyzer(request: web.Request, analyzer_id: str) -> web.Response:
    state, rules = state_of(request), rules_of(request)
    if not ANALYZER_ID.fullmatch(analyzer_id):
        raise invalid(
            f"Analyzer id '{analyzer_id}' must match ^[a-zA-Z0-9._-]{{1,64}}$.", target="analyzerId"
        )
    if analyzer_id.startswith("prebuilt-"):
        raise invalid(
            f"Analyzer ids starting with 'prebuilt-' are reserved: '{analyzer_id}'.", target="analyzerId"
        )
    replace = _allow_replace(request)
    body = await json_body(request)
    existing = state.analyzers.get(analyzer_id)
    if existing is not None and (not replace or existing.status == "creating"):
        reason = "is being created" if existing.status == "creating" else "already exists"
        raise ServiceError(409, "Conflict", f"Analyzer '{analyzer_id}' {reason}.", target="analyzerId")
    definition = validate_analyzer(body, rules)
    analyzer = Analyzer(analyzer_id, definition, rules.name)
    state.analyzers[analyzer_id] = analyzer
    state.save()
    state.stats.analyzers_created[analyzer_id] += 1
    operation = state.start_operation(
        "create", analyzer_id, _create,
        fail=analyzer_id in state.faults.fail_create_analyzer_ids,
        on_done=lambda op: _created(state, analyzer, op),
    )  # fmt: skip
    location = (
        f"{origin(request)}{BASE}/analyzers/{analyzer_id}/operations/{operation.operation_id}"
        f"?api-version={rules.name}"
    )
    return web.json_response(
        analyzer.to_json(),
        status=200 if existing else 201,
        headers={"Operation-Location": location},
    )


def _allow_replace(request: web.Request) -> bool:
    raw = request.query.get("allowReplace", "false").lower()
    if raw not in ("true", "false"):
        raise invalid("The query parameter 'allowReplace' must be true or false.", target="allowReplace")
    return raw == "true"


async def _create() -> tuple[dict[str, Any], None]:
    """The work of a creation: nothing beyond the checks of the PUT (labeled data is not read)."""
    return {}, None


def _created(state: EmulatorState, analyzer: Analyzer, operation: Operation) -> None:
    if state.analyzers.get(analyzer.analyzer_id) is not analyzer:
        return  # deleted (or reset) while being created
    analyzer.status = "ready" if operation.error is None else "failed"
    analyzer.last_modified_at = utc_now()
    operation.result = analyzer.to_json() if operation.error is None else None
    state.save()


async def patch_analyzer(request: web.Request, analyzer_id: str) -> web.Response:
    analyzer = existing_analyzer(request, analyzer_id)
    if analyzer.prebuilt:
        raise invalid(f"Prebuilt analyzer '{analyzer_id}' cannot be changed.")
    patch = validate_patch(await json_body(request, content_type=MERGE_PATCH), rules_of(request))
    analyzer.definition = merge_patch(analyzer.definition, patch)
    analyzer.last_modified_at = utc_now()
    state_of(request).save()
    return web.json_response(analyzer.to_json())


async def delete_analyzer(request: web.Request, analyzer_id: str) -> web.Response:
    analyzer = existing_analyzer(request, analyzer_id)
    if analyzer.prebuilt:
        raise invalid(f"Prebuilt analyzer '{analyzer_id}' cannot be deleted.")
    del state_of(request).analyzers[analyzer_id]
    state_of(request).save()
    return web.Response(status=204)


async def get_create_operation(request: web.Request) -> web.Response:
    operation = find_operation(request, "create")
    if operation.analyzer_id != request.match_info["analyzer_id"]:
        raise not_found(f"Operation '{operation.operation_id}' was not found.")
    return poll_response(request, operation)


async def defaults(request: web.Request) -> web.Response:
    state = state_of(request)
    if request.method == "PATCH":
        patch = await json_body(request, content_type=MERGE_PATCH)
        if not isinstance(patch, dict) or set(patch) - {"modelDeployments"}:
            raise invalid("Only 'modelDeployments' can be set.", target="modelDeployments")
        deployments = patch.get("modelDeployments") or {}
        if not isinstance(deployments, dict) or not all(
            v is None or isinstance(v, str) for v in deployments.values()
        ):
            raise invalid(
                "'modelDeployments' must map model names to deployment names.", target="modelDeployments"
            )
        state.defaults = merge_patch(state.defaults, {"modelDeployments": deployments})
        state.defaults.setdefault("modelDeployments", {})
        state.save()
    return web.json_response(state.defaults)
