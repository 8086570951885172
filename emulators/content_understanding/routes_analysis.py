"""Analysis routes: ``:analyze`` (and GA ``:analyzeBinary``), ``analyzerResults`` and their files."""

from __future__ import annotations

from aiohttp import web

from emulators.content_understanding.analysis import analyze
from emulators.content_understanding.errors import ServiceError, invalid, not_found
from emulators.content_understanding.protocol import (
    API_VERSION,
    BASE,
    existing_analyzer,
    find_operation,
    json_body,
    origin,
    poll_response,
    rules_of,
    seconds_header,
    state_of,
)
from emulators.content_understanding.state import Analyzer, EmulatorState
from emulators.content_understanding.validation import InputSpec, validate_analyze
from emulators.content_understanding.versions import GA, PREVIEW


async def start_analysis(request: web.Request, analyzer_id: str, *, binary: bool) -> web.Response:
    state, rules = state_of(request), rules_of(request)
    analyzer = existing_analyzer(request, analyzer_id)
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
        inputs, deployments = validate_analyze(await json_body(request), rules)
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
            knowledge=analyzer.knowledge if pro_mode else "",
        ),
        fail=analyzer_id in faults.fail_analyzer_ids or bool(labels & faults.fail_input_names),
        hang=analyzer_id in faults.hang_analyzer_ids or bool(labels & faults.hang_input_names),
    )
    location = f"{origin(request)}{BASE}/analyzerResults/{operation.operation_id}?api-version={rules.name}"
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


async def analyzer_result(request: web.Request) -> web.StreamResponse:
    operation = find_operation(request, "analyze")
    if request.method == "GET":
        return poll_response(request, operation)
    if request[API_VERSION] != GA:
        raise ServiceError(405, "MethodNotAllowed", "Deleting results needs API version 2025-11-01.")
    if not operation.is_terminal:
        raise invalid(
            f"Operation '{operation.operation_id}' has not finished; its result cannot be deleted yet."
        )
    del state_of(request).operations[operation.operation_id]
    return web.Response(status=204)


async def result_file(request: web.Request) -> web.Response:
    operation = find_operation(request, "analyze")
    raise not_found(f"Operation '{operation.operation_id}' has no file '{request.match_info['path']}'.")
