"""The app's HTTP API. Each decorated function is a thin shell over the plain functions below it.

Routes (all errors are ``application/problem+json``):
  POST   /api/analyses                 start a job (multipart files or JSON references)  -> 202
  GET    /api/analyses/{id}            status, stage, progress, error, summary
  GET    /api/analyses/{id}/result     the full result document (409 until the job completed)
  DELETE /api/analyses/{id}            cancel a running job                              -> 202
  PUT    /api/analyzers/{id}           register a definition and ensure the analyzer     -> 202
  GET    /api/analyzers/{id}           the registered definition and the service's state
  GET    /api/openapi.json             the OpenAPI 3.1 description of all this
  GET    /api/health                   version and configured dependencies (anonymous)
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from orchestrators import names
from orchestrators.analysis_job import monitor_instance_id
from services import analyzer_registry, job_submission, results
from services.content_understanding import get_content_understanding_client
from services.errors import InputError, TransientError
from services.health import health_report
from services.job_requests import ANALYZER_ID, parse_job_request
from services.jobs import job_status, polling_policy
from services.openapi import openapi_document
from services.redact import redact_text
from services.result_document import RESULT_KEY
from services.settings import get_settings
from triggers.http_problems import input_error_response, json_response, problem_response

bp = df.Blueprint()
logger = logging.getLogger(__name__)

TERMINAL = ("Completed", "Failed", "Terminated", "Canceled")
DEPENDENCY_RETRY_AFTER_SECONDS = 10


@bp.function_name("health")
@bp.route(route="health", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness and configuration: 200 with the version and configured dependencies, else 503."""
    healthy, report = health_report(os.environ)
    if not healthy:
        return problem_response(
            503,
            report["error"]["message"],
            title="Misconfigured",
            version=report["version"],
            error=report["error"],
        )
    return json_response(report)


@bp.function_name("openapi")
@bp.route(route="openapi.json", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(openapi_document())


@bp.function_name("start_analysis")
@bp.route(route="analyses", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
async def start_analysis(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await submit_analysis(req, client)


@bp.function_name("get_analysis")
@bp.route(route="analyses/{id}", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
async def get_analysis(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await analysis_status(req.route_params["id"], client)


@bp.function_name("get_analysis_result")
@bp.route(route="analyses/{id}/result", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
async def get_analysis_result(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    return await analysis_result(req.route_params["id"], client)


@bp.function_name("cancel_analysis")
@bp.route(route="analyses/{id}", methods=[func.HttpMethod.DELETE])
@bp.durable_client_input(client_name="client")
async def cancel_analysis(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await cancel(req.route_params["id"], client)


@bp.function_name("put_analyzer")
@bp.route(route="analyzers/{analyzerId}", methods=[func.HttpMethod.PUT])
@bp.durable_client_input(client_name="client")
async def put_analyzer(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await register_analyzer(req, client)


@bp.function_name("get_analyzer")
@bp.route(route="analyzers/{analyzerId}", methods=[func.HttpMethod.GET])
async def get_analyzer(req: func.HttpRequest) -> func.HttpResponse:
    return await analyzer_state(req.route_params["analyzerId"])


# ---------------------------------------------------------------------------------------------
# Plain functions (tests call these directly, with a real or local DurableOrchestrationClient).


async def submit_analysis(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    settings = get_settings()
    try:
        request = parse_job_request(
            req.get_body(),
            req.headers.get("Content-Type", ""),
            settings,
            pro_api_version=settings.content_understanding.pro_mode_api_version,
        )
    except InputError as error:
        return input_error_response(error)
    job_id = job_submission.new_job_id(request.idempotency_key)
    if request.idempotency_key is not None:
        existing = await client.get_status(job_id)
        if existing:
            return _accepted(job_id, replayed=True)
    try:
        analyzer = await job_submission.resolve_analyzer(request, settings)
        await job_submission.check_blob_sources([*request.inputs, *request.references])
        staged = await job_submission.stage_uploads(
            job_id, request.uploads, settings.limits.upload_concurrency
        )
    except InputError as error:
        return input_error_response(error)
    except TransientError as error:
        return _dependency_unavailable(error)
    spec = job_submission.build_job_spec(job_id, request, analyzer, staged, settings, origin="http")
    try:
        await client.start_new(names.ANALYSIS_JOB, job_id, spec)
    except Exception:
        await job_submission.discard_staged_sources(staged)
        if request.idempotency_key is not None and await client.get_status(job_id):
            return _accepted(job_id, replayed=True)  # a concurrent retry of the same request won
        logger.exception("Could not start job %s", job_id)
        return problem_response(503, "The job could not be started; try again", title="Start failed")
    logger.info("Started job %s: %d input(s), mode %s", job_id, len(spec["inputs"]), spec["mode"])
    return _accepted(job_id, replayed=False)


async def analysis_status(job_id: str, client: Any) -> func.HttpResponse:
    status = await client.get_status(job_id)
    if not status:
        return problem_response(404, f"No analysis with id {job_id!r}")
    document = status_document(job_id, status)
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    if document["status"] == "running" and custom.get("polling"):
        document["progress"].update(await _polling_progress(job_id, custom["polling"], client))
    return json_response(document)


async def _polling_progress(job_id: str, keys: list[str], client: Any) -> dict[str, Any]:
    """While operations are monitored: how many polls so far and when the next one is due."""
    children = await asyncio.gather(*(client.get_status(monitor_instance_id(job_id, key)) for key in keys))
    customs = [child.custom_status for child in children if child and isinstance(child.custom_status, dict)]
    next_polls = [custom["nextPollAt"] for custom in customs if custom.get("nextPollAt")]
    progress: dict[str, Any] = {"polls": sum(int(custom.get("polls", 0)) for custom in customs)}
    if next_polls:
        progress["nextPollAt"] = min(next_polls)
    # A poll that failed (CU or storage unavailable): the job waits for it to come back.
    poll_errors = [custom["pollError"] for custom in customs if custom.get("pollError")]
    if poll_errors:
        progress["pollError"] = redact_text(str(poll_errors[0]))
    return progress


def status_document(job_id: str, status: Any) -> dict[str, Any]:
    """The public view of an orchestration's status (the shape the OpenAPI document describes)."""
    runtime = status.runtime_status.name if status.runtime_status is not None else None
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    output = status.output if isinstance(status.output, dict) else None
    public_status = job_status(runtime, output)
    error = None
    if output is not None and output.get("error"):
        error = output["error"]
    elif runtime == "Failed":
        error = {"code": "JobFailed", "message": redact_text(str(status.output or "The job failed"))}
    elif runtime == "Terminated":
        error = {"code": "Canceled", "message": str(status.output or "Canceled")}
    progress = {k: custom[k] for k in ("total", "ingested", "failed", "analyzing", "done") if k in custom}
    return {
        "id": job_id,
        "status": public_status,
        "stage": custom.get("stage") or ("canceled" if public_status == "canceled" else public_status),
        "progress": progress,
        "error": error,
        "summary": output,
        "createdAt": _iso(status.created_time),
        "updatedAt": _iso(status.last_updated_time),
    }


async def analysis_result(job_id: str, client: Any) -> func.HttpResponse:
    status = await client.get_status(job_id)
    if not status:
        return problem_response(404, f"No analysis with id {job_id!r}")
    runtime = status.runtime_status.name if status.runtime_status is not None else None
    output = status.output if isinstance(status.output, dict) else None
    if runtime != "Completed" or output is None or not output.get("resultBlob"):
        public = job_status(runtime, output)
        return problem_response(
            409, f"The analysis is {public}: its result is not available", jobStatus=public
        )
    body = bytearray()
    try:
        stream = await results.open_result_stream(job_id, RESULT_KEY)
        # The Python worker needs the whole body; reading it in chunks keeps the peak to one copy.
        async for chunk in stream.chunks:
            body += chunk
    except TransientError as error:
        return _dependency_unavailable(error)
    return func.HttpResponse(bytes(body), status_code=200, mimetype="application/json", charset="utf-8")


async def cancel(job_id: str, client: Any) -> func.HttpResponse:
    status = await client.get_status(job_id)
    if not status:
        return problem_response(404, f"No analysis with id {job_id!r}")
    runtime = status.runtime_status.name if status.runtime_status is not None else None
    if runtime in TERMINAL:
        return problem_response(409, f"The analysis already ended ({job_status(runtime, status.output)})")
    await client.terminate(job_id, "Canceled by the user")
    try:
        await results.cleanup_job(job_id)
    except TransientError as error:
        # The job is canceled all the same; its grants are short-lived SAS and expire on their own.
        logger.warning("Job %s canceled; its clean-up failed and is left to expiry: %s", job_id, error)
    return json_response(
        {"id": job_id, "status": "canceled"}, status=202, headers={"Location": _status_path(job_id)}
    )


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
        return _dependency_unavailable(error)
    body: dict[str, Any] = {
        "analyzerId": analyzer_id,
        "apiVersion": spec["apiVersion"],
        "statusUrl": _analyzer_path(analyzer_id),
    }
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
        body["ensureInstanceId"] = instance_id
    return json_response(body, status=202, headers={"Location": _analyzer_path(analyzer_id)})


async def analyzer_state(analyzer_id: str) -> func.HttpResponse:
    settings = get_settings()
    try:
        spec = await analyzer_registry.load_definition(analyzer_id)
        api_version = spec["apiVersion"] if spec else settings.content_understanding.api_version
        client = get_content_understanding_client()
        service = await client.get_analyzer(analyzer_id, api_version=api_version)
    except TransientError as error:
        return _dependency_unavailable(error)
    if spec is None and service is None:
        return problem_response(404, f"No analyzer with id {analyzer_id!r}")
    return json_response(
        {
            "analyzerId": analyzer_id,
            "registered": spec is not None,
            "apiVersion": api_version,
            "definition": spec["definition"] if spec else None,
            "service": analyzer_registry.redacted_service_view(service),
        }
    )


def _dependency_unavailable(error: TransientError) -> func.HttpResponse:
    """503 when storage or CU is unavailable for now (their clients' own retries failed)."""
    response = problem_response(503, redact_text(str(error)), title="Dependency unavailable", code=error.code)
    response.headers["Retry-After"] = str(DEPENDENCY_RETRY_AFTER_SECONDS)
    return response


def _accepted(job_id: str, *, replayed: bool) -> func.HttpResponse:
    headers = {"Location": _status_path(job_id), "Retry-After": "2"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    body = {"id": job_id, "statusUrl": _status_path(job_id), "resultUrl": f"{_status_path(job_id)}/result"}
    return json_response(body, status=202, headers=headers)


def _status_path(job_id: str) -> str:
    return f"/api/analyses/{job_id}"


def _analyzer_path(analyzer_id: str) -> str:
    return f"/api/analyzers/{analyzer_id}"


def _iso(moment: Any) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None
