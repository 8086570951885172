"""The analyzers routes: register a definition (and ensure it in Content Understanding), read it back."""

from __future__ import annotations

from typing import Any

import azure.functions as func

from api.job_request import ANALYZER_ID
from api.models import AnalyzerRegistration, AnalyzerState
from api.problems import dependency_unavailable, input_error_response, json_response, problem_response
from content_understanding import get_content_understanding_client
from core import function_names as names
from core.errors import InputError, TransientError
from core.jobs import polling_policy
from core.settings import get_settings
from storage import analyzer_definitions as analyzer_registry


async def register_analyzer(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    settings = get_settings()
    analyzer_id = req.route_params["analyzerId"]
    try:
        definition = req.get_json()
    except ValueError:
        return problem_response(400, "The body must be an analyzer definition in JSON", code="InvalidJson")
    try:
        if not ANALYZER_ID.fullmatch(analyzer_id):
            raise InputError(
                f"Analyzer id {analyzer_id!r} must match [A-Za-z0-9._-]{{1,64}}", code="InvalidAnalyzerId"
            )
        spec = analyzer_registry.validate_definition(analyzer_id, definition, settings)
    except InputError as error:
        return input_error_response(error)
    try:
        await analyzer_registry.save_definition(spec)
    except TransientError as error:
        return dependency_unavailable(error)
    body = AnalyzerRegistration(
        analyzerId=analyzer_id, apiVersion=spec["apiVersion"], statusUrl=_analyzer_path(analyzer_id)
    )
    if definition.get("mode") != "pro":
        # Standard analyzers are created now; a pro-mode one is created by its first combined job,
        # whose reference documents make up its knowledge base.
        instance_id = analyzer_registry.ensure_instance_id(spec)
        existing = await client.get_status(instance_id)
        if not existing or existing.runtime_status.name in ("Failed", "Terminated"):
            await client.start_new(
                names.ENSURE_ANALYZER,
                instance_id,
                {
                    "jobId": instance_id,
                    "analyzer": spec,
                    "references": [],
                    "polling": polling_policy(settings),
                },
            )
        body.ensureInstanceId = instance_id
    return json_response(body, status=202, headers={"Location": _analyzer_path(analyzer_id)})


async def analyzer_state(analyzer_id: str) -> func.HttpResponse:
    settings = get_settings()
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
