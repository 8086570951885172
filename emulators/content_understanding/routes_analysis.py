"""Analysis routes: ``:analyze`` and ``:analyzeBinary`` (long-running), ``:analyzeInline`` and
``:analyzeBinaryInline`` (2026-06-01-preview, answered at once), ``analyzerResults`` and their files."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulators.content_understanding.analysis import AnalyzerView, analyze, build_result, load
from emulators.content_understanding.documents import PAGE_LIMIT_CODE, check_size, extract
from emulators.content_understanding.errors import OperationFailure, invalid, not_found
from emulators.content_understanding.protocol import (
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
from emulators.content_understanding.versions import PREBUILTS, PREVIEW

# Inline analysis answers for this many pages at most (the 2026-06-01-preview example's warning:
# "The input exceeded the inline page limit; only pages 1-5 were analyzed").
INLINE_MAX_PAGES = 5


async def _inputs(request: web.Request, *, binary: bool) -> tuple[InputSpec, dict[str, str]]:
    if binary:
        if not request.can_read_body:
            raise invalid("The request body must hold the document to analyze.", target="body")
        content_type = request.headers.get("Content-Type")
        return InputSpec(None, await request.read(), None, content_type), {}
    inputs, deployments = validate_analyze(await json_body(request), rules_of(request))
    return inputs[0], deployments


def _check_queries(request: web.Request) -> None:
    _check_query_enum(request, "stringEncoding", ("codePoint", "utf16", "utf8"))
    _check_query_enum(request, "processingLocation", ("geography", "dataZone", "global"))
    _check_query_enum(request, "allowInputTruncation", ("true", "false"))


def _view(state: EmulatorState, analyzer: Analyzer, api_version: str) -> AnalyzerView:
    models = _models(state, analyzer, api_version)
    return AnalyzerView(
        analyzer.analyzer_id, dict(analyzer.definition), analyzer.agentic, models.get("completion")
    )


async def start_analysis(request: web.Request, analyzer_id: str, *, binary: bool) -> web.Response:
    state, rules = state_of(request), rules_of(request)
    analyzer = existing_analyzer(request, analyzer_id)
    if analyzer.status != "ready":
        raise invalid(f"Analyzer '{analyzer_id}' is not ready (status {analyzer.status}).")
    if analyzer.agentic and rules.name != PREVIEW:
        raise invalid(
            f"Analyzer '{analyzer_id}' uses the agentic workflow, which needs API version {PREVIEW}."
        )
    _check_queries(request)
    spec, deployments = await _inputs(request, binary=binary)
    _check_model_deployments(state, analyzer, rules.name, deployments)
    faults = state.faults
    state.stats.analyses_started[analyzer_id] += 1
    view = _view(state, analyzer, rules.name)
    operation = state.start_operation(
        "analyze",
        analyzer_id,
        lambda: analyze(
            state.http(), view, spec, api_version=rules.name, allow_remote=state.config.allow_remote_urls
        ),
        fail=analyzer_id in faults.fail_analyzer_ids or spec.label in faults.fail_input_names,
        hang=analyzer_id in faults.hang_analyzer_ids or spec.label in faults.hang_input_names,
    )
    location = f"{origin(request)}{BASE}/analyzerResults/{operation.operation_id}?api-version={rules.name}"
    return web.json_response(
        {"id": operation.operation_id, "status": "NotStarted"},
        status=202,
        headers={"Operation-Location": location, "Retry-After": seconds_header(faults.retry_after)},
    )


async def analyze_inline(request: web.Request, analyzer_id: str, *, binary: bool) -> web.Response:
    """200 with ``{"status": "Succeeded", "result", "usage"}``; no operation, nothing kept. A
    failure that would fail an operation is a 400 with the same error instead."""
    state, rules = state_of(request), rules_of(request)
    analyzer = existing_analyzer(request, analyzer_id)
    prebuilt = PREBUILTS.get(analyzer_id)
    if not analyzer.prebuilt or prebuilt is None or not prebuilt.inline:
        allowed = ", ".join(sorted(name for name, p in PREBUILTS.items() if p.inline))
        raise invalid(f"Inline analysis supports only {allowed}; analyzer '{analyzer_id}' is not one.")
    _check_queries(request)
    spec, deployments = await _inputs(request, binary=binary)
    _check_model_deployments(state, analyzer, rules.name, deployments)
    truncate = request.query.get("allowInputTruncation", "false") == "true"
    state.stats.analyses_started[analyzer_id] += 1
    try:
        mime_type, data = await load(state.http(), spec, state.config.allow_remote_urls)
        check_size(mime_type, data, spec.label)
        document = extract(mime_type, data, spec.label)
        warnings: list[dict[str, Any]] = []
        if len(document.pages) > INLINE_MAX_PAGES:
            if not truncate:
                raise OperationFailure(
                    PAGE_LIMIT_CODE,
                    f"Input '{spec.label}' has {len(document.pages)} pages; inline analysis takes at most "
                    f"{INLINE_MAX_PAGES} (or set allowInputTruncation=true).",
                )
            document.pages = document.pages[:INLINE_MAX_PAGES]
            message = (
                f"The input exceeded the inline page limit; only pages 1-{INLINE_MAX_PAGES} were analyzed."
            )
            warnings.append({"code": PAGE_LIMIT_CODE, "message": message, "target": "inputs/0"})
    except OperationFailure as failure:
        raise failure.as_http_error() from None
    result, usage = build_result(
        _view(state, analyzer, rules.name),
        document,
        api_version=rules.name,
        inline=True,
        warnings=tuple(warnings),
    )
    return web.json_response({"status": "Succeeded", "result": result, "usage": usage})


def _check_query_enum(request: web.Request, name: str, allowed: tuple[str, ...]) -> None:
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise invalid(f"The query parameter '{name}' must be one of {', '.join(allowed)}.", target=name)


def _models(state: EmulatorState, analyzer: Analyzer, api_version: str) -> dict[str, str]:
    """The models an analyzer names: its own ``models``, else its base analyzer's."""
    models = analyzer.definition.get("models")
    if models is None and analyzer.definition.get("baseAnalyzerId"):
        base = state.find_analyzer(str(analyzer.definition["baseAnalyzerId"]), api_version)
        models = base.definition.get("models", {}) if base else {}
    return dict(models or {})


def _check_model_deployments(
    state: EmulatorState, analyzer: Analyzer, api_version: str, per_request: dict[str, str]
) -> None:
    """An analyzer needs a deployment for every model it names (request first, then /defaults)."""
    available = {**state.defaults["modelDeployments"], **per_request}
    for role, model in sorted(_models(state, analyzer, api_version).items()):
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
    if not operation.is_terminal:
        raise invalid(
            f"Operation '{operation.operation_id}' has not finished; its result cannot be deleted yet."
        )
    del state_of(request).operations[operation.operation_id]
    return web.Response(status=204)


async def result_file(request: web.Request) -> web.Response:
    operation = find_operation(request, "analyze")
    raise not_found(f"Operation '{operation.operation_id}' has no file '{request.match_info['path']}'.")
