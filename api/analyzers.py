"""The analyzers routes: register a definition (and ensure it in Content Understanding), read it back.

A definition is checked here, against the request body rules of its API version, before
``storage.analyzer_definitions`` keeps it.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from api.job_request import MAX_JSON_BYTES
from api.json_input import parse_json
from api.models import AnalyzerRegistration, AnalyzerState
from api.problems import dependency_unavailable, input_error_response, json_response, problem_response
from content_understanding import build_analyzer_body, get_content_understanding_client
from core import function_names as names
from core.api_versions import RetiredApiVersionError, get_profile
from core.contracts.orchestrations import EnsureAnalyzerRequest
from core.contracts.wire import to_wire
from core.errors import InputError, PermanentError, TransientError
from core.jobs import DEFINITION_HASH_TAG, AnalyzerSpec, definition_hash, polling_policy
from core.naming import check_analyzer_id
from core.settings import Settings, get_settings
from storage import analyzer_definitions as analyzer_registry

MAX_DEFINITION_BYTES = 64 * 1024


async def register_analyzer(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    settings = get_settings()
    analyzer_id = req.route_params["analyzerId"]
    try:
        check_analyzer_id(analyzer_id)
        definition = parse_json(req.get_body(), "The analyzer definition", max_bytes=MAX_JSON_BYTES)
        spec = validate_definition(analyzer_id, definition, settings)
    except InputError as error:
        return input_error_response(error)
    try:
        await analyzer_registry.save_definition(spec)
    except TransientError as error:
        return dependency_unavailable(error)
    instance_id = analyzer_registry.ensure_instance_id(spec)
    try:
        if await _needs_ensuring(spec, instance_id, client):
            request = EnsureAnalyzerRequest(
                job_id=instance_id, analyzer=spec, polling=polling_policy(settings)
            )
            await client.start_new(names.ENSURE_ANALYZER, instance_id, to_wire(request))
    except TransientError as error:
        return dependency_unavailable(error)
    body = AnalyzerRegistration(
        analyzerId=analyzer_id,
        apiVersion=spec["apiVersion"],
        statusUrl=_analyzer_path(analyzer_id),
        ensureInstanceId=instance_id,
    )
    return json_response(body, status=202, headers={"Location": _analyzer_path(analyzer_id)})


async def _needs_ensuring(spec: AnalyzerSpec, instance_id: str, client: Any) -> bool:
    """Whether to (re)start the ensure orchestration of this exact definition.

    One instance per analyzer and definition: while it runs, nothing more is needed. Once it ended,
    the analyzer may have gone since (deleted, or the service lost it: the local emulator forgets
    everything on restart), so CU is asked; if it lacks the analyzer, or holds another definition,
    or a failed one, the same instance id starts again (the Durable runtime replaces a completed,
    failed or terminated instance of that id: ``overridableExistingInstanceStates`` defaults to
    NonRunningStates, reference notes on Durable Functions).
    """
    existing = await client.get_status(instance_id)
    if not existing or existing.runtime_status is None:
        return True
    if existing.runtime_status.name not in ("Completed", "Failed", "Terminated", "Canceled"):
        return False  # pending or running: it will get there
    try:
        service = await get_content_understanding_client().get_analyzer(
            spec["analyzerId"], api_version=spec["apiVersion"]
        )
    except PermanentError:
        return True  # CU refused to say (a permission, say): the ensure orchestration reports why
    if service is None or service.get("status") != "ready":
        return True
    tags = service.get("tags") or {}
    return bool(tags.get(DEFINITION_HASH_TAG) != definition_hash(spec["definition"]))


def validate_definition(analyzer_id: str, definition: Any, settings: Settings) -> AnalyzerSpec:
    """Check a definition as the service would, for the API version its shape implies.

    A definition that chooses agentic mode (``config.workflow: "agentic"``) is an analyzer of the
    agentic API version (``CONTENT_UNDERSTANDING_AGENTIC_API_VERSION``, 2026-06-01-preview);
    anything else is a standard analyzer of the configured version (2025-11-01). Pro mode's
    ``"mode": "pro"`` is refused with a message saying its version is retired.
    """
    if analyzer_registry.is_prebuilt(analyzer_id):
        raise InputError(
            f"{analyzer_id!r} is a prebuilt analyzer id; choose another id", code="ReservedAnalyzerId"
        )
    if not isinstance(definition, dict):
        raise InputError("The analyzer definition must be a JSON object", code="InvalidDefinition")
    if len(json.dumps(definition)) > MAX_DEFINITION_BYTES:
        raise InputError(
            f"The analyzer definition is over {MAX_DEFINITION_BYTES} bytes", code="InvalidDefinition"
        )
    if "knowledgeSources" in definition:
        raise InputError(
            "Give no knowledgeSources: their container URL would carry a SAS, which the app does not "
            "keep in a definition; send reference documents with an agentic job instead (references)",
            code="InvalidDefinition",
        )
    cu = settings.content_understanding
    agentic = get_profile(cu.agentic_api_version).mode_of(definition) is not None
    api_version = cu.agentic_api_version if agentic else cu.api_version
    try:
        build_analyzer_body(definition, api_version)
    except RetiredApiVersionError as error:
        raise InputError(str(error), code=error.code) from None
    except PermanentError as error:
        raise InputError(
            f"The analyzer definition is not valid for {api_version}: {error}", code="InvalidDefinition"
        ) from None
    return {"analyzerId": analyzer_id, "apiVersion": api_version, "definition": definition}


async def analyzer_state(analyzer_id: str) -> func.HttpResponse:
    settings = get_settings()
    try:
        check_analyzer_id(analyzer_id)
    except InputError as error:
        return input_error_response(error)
    try:
        spec = await analyzer_registry.load_definition(analyzer_id)
        api_version = spec["apiVersion"] if spec else settings.content_understanding.api_version
        client = get_content_understanding_client()
        service = await client.get_analyzer(analyzer_id, api_version=api_version)
    except TransientError as error:
        return dependency_unavailable(error)
    if spec is None and service is None:
        return problem_response(404, f"No analyzer with id {analyzer_id!r}")
    return json_response(
        AnalyzerState(
            analyzerId=analyzer_id,
            registered=spec is not None,
            apiVersion=api_version,
            definition=spec["definition"] if spec else None,
            service=analyzer_registry.redacted_service_view(service),
        )
    )


def _analyzer_path(analyzer_id: str) -> str:
    return f"/api/analyzers/{analyzer_id}"
