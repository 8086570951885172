"""The emulator's HTTP surface: CU's REST API under ``/contentunderstanding`` (both versions),
plus ``/_emulator/{stats,faults,reset}`` for tests. Every request needs the key."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from emulators.content_understanding.analysis import analyze, utc_now
from emulators.content_understanding.config import faults_to_json, update_faults
from emulators.content_understanding.errors import INTERNAL_ERROR, ServiceError, invalid, not_found
from emulators.content_understanding.knowledge import check_reference_sources
from emulators.content_understanding.state import Analyzer, EmulatorState, Operation
from emulators.content_understanding.validation import (
    InputSpec,
    validate_analyze,
    validate_analyzer,
    validate_patch,
)
from emulators.content_understanding.versions import GA, PREVIEW, RULES, VersionRules, prebuilt_analyzer

logger = logging.getLogger(__name__)
STATE = web.AppKey("state", EmulatorState)
API_VERSION = web.RequestKey("api_version", str)
BASE = "/contentunderstanding"
ANALYZER_ID = re.compile(r"[a-zA-Z0-9._-]{1,64}")
MERGE_PATCH = "application/merge-patch+json"
MAX_BODY_BYTES = 300 * 1024 * 1024  # a 200 MB document, base64-encoded in JSON
_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)
_FAULT_BODIES = {
    429: ("429", "Rate limit is exceeded. Try again in {retry} seconds."),
    500: ("InternalServerError", "An unexpected error occurred."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Try again in {retry} seconds."),
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def seconds_header(seconds: float) -> str:
    """``Retry-After``: whole seconds as Azure sends them; fractions kept for fast tests."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE]


def _rules(request: web.Request) -> VersionRules:
    return RULES[request[API_VERSION]]


@web.middleware
async def service_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Auth, API version, latency and fault injection, and the service's error shape for everything."""
    state = _state(request)
    state.stats.requests += 1
    service_call = request.path.startswith(BASE + "/") or request.path == BASE
    try:
        if service_call and state.faults.latency_ms:
            await asyncio.sleep(state.faults.latency_ms / 1000)
        _authenticate(request, state)
        if service_call:
            request[API_VERSION] = _api_version(request)
            _maybe_fault(state)
        response = await handler(request)
    except ServiceError as error:
        response = error.response()
    except web.HTTPException as error:  # no such route or method
        code = "NotFound" if error.status == 404 else "MethodNotAllowed" if error.status == 405 else "Error"
        response = ServiceError(error.status, code, error.reason).response()
    except Exception:  # a bug in the emulator: answer like the service would, and say so in the log
        logger.exception("Unexpected error handling %s %s", request.method, request.path)
        state.stats.emulator_errors += 1
        response = ServiceError(500, INTERNAL_ERROR["code"], INTERNAL_ERROR["message"]).response()
    response.headers["apim-request-id"] = str(uuid.uuid4())
    if client_request_id := request.headers.get("x-ms-client-request-id"):
        response.headers["x-ms-client-request-id"] = client_request_id
    return response


def _authenticate(request: web.Request, state: EmulatorState) -> None:
    key = request.headers.get("Ocp-Apim-Subscription-Key")
    if key is not None and hmac.compare_digest(key.encode(), state.config.key.encode()):
        return
    if key is None and request.headers.get("Authorization", "").startswith("Bearer "):
        raise ServiceError(
            401, "PermissionDenied", "The emulator accepts only Ocp-Apim-Subscription-Key, not tokens."
        )
    raise ServiceError(401, "401", _DENIED)


def _api_version(request: web.Request) -> str:
    version = request.query.get("api-version")
    if not version:
        raise ServiceError(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
    if version not in RULES:
        raise ServiceError(
            400, "UnsupportedApiVersion",
            f"The api-version '{version}' is not supported. Supported versions: {', '.join(sorted(RULES))}.",
        )  # fmt: skip
    return version


def _maybe_fault(state: EmulatorState) -> None:
    status = state.pick_fault()
    if status is None:
        return
    state.stats.faults_served[str(status)] += 1
    retry = seconds_header(state.faults.retry_after)
    code, message = _FAULT_BODIES.get(status, ("ServiceError", "The service failed to answer."))
    headers = {"Retry-After": retry} if status in (429, 503) else {}
    raise ServiceError(status, code, message.format(retry=retry), headers=headers)


async def _json_body(request: web.Request, *, content_type: str = "application/json") -> Any:
    if request.content_type != content_type:
        raise ServiceError(415, "UnsupportedMediaType", f"The request body must be {content_type}.")
    try:
        return await request.json(loads=json.loads)
    except ValueError:
        raise invalid("The request body is not valid JSON.") from None


def _origin(request: web.Request) -> str:
    return str(request.url.origin())


# Analyzers ---------------------------------------------------------------------------------


async def list_analyzers(request: web.Request) -> web.Response:
    state, version = _state(request), request[API_VERSION]
    ids = sorted(RULES[version].prebuilt_analyzers) + sorted(state.analyzers)
    analyzers = [state.find_analyzer(analyzer_id, version) for analyzer_id in ids]
    skip = _int_query(request, "skip", 0)
    page_size = state.config.page_size
    page = [a.to_json(version) for a in analyzers[skip : skip + page_size] if a is not None]
    body: dict[str, Any] = {"value": page}
    if skip + page_size < len(analyzers):
        body["nextLink"] = f"{_origin(request)}{BASE}/analyzers?api-version={version}&skip={skip + page_size}"
    return web.json_response(body)


def _int_query(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise invalid(f"The query parameter '{name}' must be a whole number.", target=name)
    return int(raw)


def _existing(request: web.Request, analyzer_id: str) -> Analyzer:
    analyzer = _state(request).find_analyzer(analyzer_id, request[API_VERSION])
    if analyzer is None:
        raise not_found(f"Analyzer '{analyzer_id}' was not found.")
    return analyzer


async def analyzer_resource(request: web.Request) -> web.StreamResponse:
    """``/analyzers/{id}`` and ``/analyzers/{id}:action`` share one path segment."""
    name = request.match_info["name"]
    analyzer_id, _, action = name.partition(":")
    if action:
        if request.method != "POST" or action not in ("analyze", "analyzeBinary"):
            raise not_found(f"Resource '{name}' was not found.")
        if action == "analyzeBinary" and request[API_VERSION] != GA:
            raise not_found("':analyzeBinary' is not part of this API version; POST raw bytes to ':analyze'.")
        return await start_analysis(request, analyzer_id, binary=action == "analyzeBinary")
    handlers = {"GET": get_analyzer, "PUT": put_analyzer, "PATCH": patch_analyzer, "DELETE": delete_analyzer}
    if request.method not in handlers:
        raise ServiceError(405, "MethodNotAllowed", f"{request.method} is not allowed here.")
    return await handlers[request.method](request, analyzer_id)


async def get_analyzer(request: web.Request, analyzer_id: str) -> web.Response:
    return web.json_response(_existing(request, analyzer_id).to_json(request[API_VERSION]))


async def put_analyzer(request: web.Request, analyzer_id: str) -> web.Response:
    state, rules = _state(request), _rules(request)
    if not ANALYZER_ID.fullmatch(analyzer_id):
        raise invalid(
            f"Analyzer id '{analyzer_id}' must match ^[a-zA-Z0-9._-]{{1,64}}$.", target="analyzerId"
        )
    if analyzer_id.startswith("prebuilt-") or prebuilt_analyzer(analyzer_id):
        raise invalid(
            f"Analyzer ids starting with 'prebuilt-' are reserved: '{analyzer_id}'.", target="analyzerId"
        )
    replace = _allow_replace(request) if rules.name == GA else False
    body = await _json_body(request)
    existing = state.analyzers.get(analyzer_id)
    if existing is not None and (not replace or existing.status == "creating"):
        reason = "is being created" if existing.status == "creating" else "already exists"
        raise ServiceError(409, "Conflict", f"Analyzer '{analyzer_id}' {reason}.", target="analyzerId")
    definition = validate_analyzer(body, rules, set(rules.prebuilt_analyzers))
    analyzer = Analyzer(analyzer_id, definition, rules.name)
    state.analyzers[analyzer_id] = analyzer
    state.stats.analyzers_created[analyzer_id] += 1
    operation = state.start_operation(
        "create", analyzer_id, lambda: _create(state, analyzer),
        fail=analyzer_id in state.faults.fail_create_analyzer_ids,
        on_done=lambda op: _created(state, analyzer, op, rules.name),
    )  # fmt: skip
    location = (
        f"{_origin(request)}{BASE}/analyzers/{analyzer_id}/operations/{operation.operation_id}"
        f"?api-version={rules.name}"
    )
    return web.json_response(
        analyzer.to_json(rules.name),
        status=200 if existing else 201,
        headers={"Operation-Location": location},
    )


def _allow_replace(request: web.Request) -> bool:
    raw = request.query.get("allowReplace", "false").lower()
    if raw not in ("true", "false"):
        raise invalid("The query parameter 'allowReplace' must be true or false.", target="allowReplace")
    return raw == "true"


async def _create(state: EmulatorState, analyzer: Analyzer) -> dict[str, Any]:
    """The work of a creation: a pro-mode analyzer's reference knowledge base must be readable."""
    sources = analyzer.definition.get("knowledgeSources") or []
    references = [source for source in sources if source.get("kind") == "reference"]
    if references:
        await check_reference_sources(state.http(), references, allow_remote=state.config.allow_remote_urls)
    return {}


def _created(state: EmulatorState, analyzer: Analyzer, operation: Operation, version: str) -> None:
    analyzer.status = "ready" if operation.error is None else "failed"
    analyzer.last_modified_at = utc_now()
    operation.result = analyzer.to_json(version) if operation.error is None else None


async def patch_analyzer(request: web.Request, analyzer_id: str) -> web.Response:
    analyzer = _existing(request, analyzer_id)
    if analyzer.prebuilt:
        raise invalid(f"Prebuilt analyzer '{analyzer_id}' cannot be changed.")
    patch = validate_patch(await _json_body(request, content_type=MERGE_PATCH), _rules(request))
    analyzer.definition = _merge_patch(analyzer.definition, patch)
    analyzer.last_modified_at = utc_now()
    return web.json_response(analyzer.to_json(request[API_VERSION]))


def _merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396: objects merge, ``null`` removes, anything else replaces."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


async def delete_analyzer(request: web.Request, analyzer_id: str) -> web.Response:
    analyzer = _existing(request, analyzer_id)
    if analyzer.prebuilt:
        raise invalid(f"Prebuilt analyzer '{analyzer_id}' cannot be deleted.")
    del _state(request).analyzers[analyzer_id]
    return web.Response(status=204)


async def get_create_operation(request: web.Request) -> web.Response:
    operation = _operation(request, "create")
    if operation.analyzer_id != request.match_info["analyzer_id"]:
        raise not_found(f"Operation '{operation.operation_id}' was not found.")
    return _poll_response(request, operation)


# Analysis ----------------------------------------------------------------------------------


async def start_analysis(request: web.Request, analyzer_id: str, *, binary: bool) -> web.Response:
    state, rules = _state(request), _rules(request)
    analyzer = _existing(request, analyzer_id)
    if analyzer.status != "ready":
        raise invalid(f"Analyzer '{analyzer_id}' is not ready (status {analyzer.status}).")
    pro_mode = analyzer.mode == "pro"
    if pro_mode and rules.name != PREVIEW:
        raise invalid(f"Analyzer '{analyzer_id}' uses pro mode, which exists only in API version {PREVIEW}.")
    _check_query_enum(request, "stringEncoding", ("codePoint", "utf16", "utf8"))
    _check_query_enum(request, "processingLocation", ("geography", "dataZone", "global"))
    if binary or (rules.name == PREVIEW and request.content_type != "application/json"):
        inputs = [InputSpec(None, await request.read(), None, request.content_type)]
        deployments: dict[str, str] = {}
    else:
        inputs, deployments = validate_analyze(await _json_body(request), rules)
    if len(inputs) > rules.max_inputs and not pro_mode:
        raise invalid(
            f"Analyzer '{analyzer_id}' accepts {rules.max_inputs} input per request; several inputs are "
            "only supported in analyzers with mode=pro.",
            target="inputs",
        )
    if rules.has_defaults:
        _check_model_deployments(state, analyzer, deployments)
    faults = state.faults
    labels = {spec.label for spec in inputs}
    state.stats.analyses_started[analyzer_id] += 1
    definition = dict(analyzer.definition)
    operation = state.start_operation(
        "analyze",
        analyzer_id,
        lambda: analyze(
            state.http(),
            analyzer_id=analyzer_id,
            definition=definition,
            inputs=inputs,
            api_version=rules.name,
            pro_mode=pro_mode,
            allow_remote=state.config.allow_remote_urls,
        ),
        fail=analyzer_id in faults.fail_analyzer_ids or bool(labels & faults.fail_input_names),
        hang=analyzer_id in faults.hang_analyzer_ids or bool(labels & faults.hang_input_names),
    )
    location = f"{_origin(request)}{BASE}/analyzerResults/{operation.operation_id}?api-version={rules.name}"
    return web.json_response(
        {"id": operation.operation_id, "status": "NotStarted"},
        status=202,
        headers={"Operation-Location": location, "Retry-After": seconds_header(faults.retry_after)},
    )


def _check_query_enum(request: web.Request, name: str, allowed: tuple[str, ...]) -> None:
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise invalid(f"The query parameter '{name}' must be one of {', '.join(allowed)}.", target=name)


def _check_model_deployments(state: EmulatorState, analyzer: Analyzer, per_request: dict[str, str]) -> None:
    """GA analyzers need a deployment for every model they use (request first, then /defaults)."""
    models = analyzer.definition.get("models")
    if models is None:
        base = state.find_analyzer(str(analyzer.definition.get("baseAnalyzerId", "")), GA)
        models = base.definition.get("models", {}) if base else {}
    available = {**state.defaults["modelDeployments"], **per_request}
    for role, model in sorted(models.items()):
        if model not in available:
            raise invalid(
                f"No deployment for model '{model}' ({role}) used by analyzer '{analyzer.analyzer_id}'. "
                "Pass modelDeployments in the request or set them with PATCH /contentunderstanding/defaults.",
                target="modelDeployments",
                inner_code="ModelDeploymentNotFound",
            )


def _operation(request: web.Request, kind: str) -> Operation:
    operation = _state(request).operations.get(request.match_info["operation_id"])
    if operation is None or operation.kind != kind:
        raise not_found(f"Operation '{request.match_info['operation_id']}' was not found.")
    return operation


def _poll_response(request: web.Request, operation: Operation) -> web.Response:
    state = _state(request)
    state.stats.poll_times.setdefault(operation.operation_id, []).append(time.time())
    headers = {} if operation.is_terminal else {"Retry-After": seconds_header(state.faults.retry_after)}
    return web.json_response(operation.to_json(), headers=headers)


async def analyzer_result(request: web.Request) -> web.StreamResponse:
    operation = _operation(request, "analyze")
    if request.method == "GET":
        return _poll_response(request, operation)
    if request[API_VERSION] != GA:
        raise ServiceError(405, "MethodNotAllowed", "Deleting results needs API version 2025-11-01.")
    if not operation.is_terminal:
        raise invalid(
            f"Operation '{operation.operation_id}' has not finished; its result cannot be deleted yet."
        )
    del _state(request).operations[operation.operation_id]
    return web.Response(status=204)


async def result_file(request: web.Request) -> web.Response:
    operation = _operation(request, "analyze")
    raise not_found(f"Operation '{operation.operation_id}' has no file '{request.match_info['path']}'.")


# Defaults (2025-11-01) ---------------------------------------------------------------------


async def defaults(request: web.Request) -> web.Response:
    state = _state(request)
    if not _rules(request).has_defaults:
        raise not_found("'/defaults' is not part of this API version.")
    if request.method == "PATCH":
        patch = await _json_body(request, content_type=MERGE_PATCH)
        if not isinstance(patch, dict) or set(patch) - {"modelDeployments"}:
            raise invalid("Only 'modelDeployments' can be set.", target="modelDeployments")
        deployments = patch.get("modelDeployments") or {}
        if not isinstance(deployments, dict) or not all(
            v is None or isinstance(v, str) for v in deployments.values()
        ):
            raise invalid(
                "'modelDeployments' must map model names to deployment names.", target="modelDeployments"
            )
        state.defaults = _merge_patch(state.defaults, {"modelDeployments": deployments})
        state.defaults.setdefault("modelDeployments", {})
    return web.json_response(state.defaults)


# Test hooks --------------------------------------------------------------------------------


async def emulator_stats(request: web.Request) -> web.Response:
    return web.json_response(_state(request).stats_json())


async def emulator_faults(request: web.Request) -> web.Response:
    state = _state(request)
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise invalid("The body must be a JSON object of fault settings.")
    try:
        state.faults = update_faults(state.faults, body, json_names=True)
    except ValueError as error:
        raise invalid(str(error)) from None
    return web.json_response(faults_to_json(state.faults))


async def emulator_reset(request: web.Request) -> web.Response:
    _state(request).reset()
    return web.Response(status=204)


# The application ---------------------------------------------------------------------------


def build_app(state: EmulatorState) -> web.Application:
    app = web.Application(middlewares=[service_middleware], client_max_size=MAX_BODY_BYTES)
    app[STATE] = state

    async def http_session(app: web.Application) -> Any:
        # The client that fetches inputs and knowledge sources, as the service does.
        state.session = aiohttp.ClientSession()
        yield
        await state.aclose()
        await state.session.close()
        state.session = None

    app.cleanup_ctx.append(http_session)
    app.router.add_get(f"{BASE}/analyzers", list_analyzers)
    app.router.add_route("*", f"{BASE}/analyzers/{{name}}", analyzer_resource)
    app.router.add_get(f"{BASE}/analyzers/{{analyzer_id}}/operations/{{operation_id}}", get_create_operation)
    app.router.add_route("GET", f"{BASE}/analyzerResults/{{operation_id}}", analyzer_result)
    app.router.add_route("DELETE", f"{BASE}/analyzerResults/{{operation_id}}", analyzer_result)
    app.router.add_get(f"{BASE}/analyzerResults/{{operation_id}}/files/{{path:.+}}", result_file)
    app.router.add_route("GET", f"{BASE}/defaults", defaults)
    app.router.add_route("PATCH", f"{BASE}/defaults", defaults)
    app.router.add_get("/_emulator/stats", emulator_stats)
    app.router.add_post("/_emulator/faults", emulator_faults)
    app.router.add_post("/_emulator/reset", emulator_reset)
    return app
