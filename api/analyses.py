"""The analyses routes: start a job, read its status, cancel it (its result: ``api/results.py``).

Plain functions over a ``DurableOrchestrationClient`` (the real one in Azure, devhost's locally);
``triggers/http_api.py`` binds them to routes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import azure.functions as func

from api import submission as job_submission
from api.cancellation import cancel_job
from api.job_request import parse_job_request
from api.models import Accepted, Canceled, Progress, StatusDocument
from api.problems import dependency_unavailable, input_error_response, json_response, problem_response
from core.errors import InputError, TransientError
from core.jobs import batch_instance_id, job_status, monitor_instance_id
from core.layout import SUMMARY_KEY
from core.naming import is_job_instance_id
from core.redact import redact_text, shorten
from core.settings import get_settings
from core.telemetry_fields import job_started_record
from storage import results

logger = logging.getLogger(__name__)

TERMINAL = ("Completed", "Failed", "Terminated", "Canceled")


# The job statuses that have a result: every other one answers 409 (the decision shared by wave 2).
async def submit_analysis(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    settings = get_settings()
    try:
        request = parse_job_request(req.get_body(), req.headers.get("Content-Type", ""), settings)
    except InputError as error:
        return input_error_response(error)
    job_id = job_submission.new_job_id(request.idempotency_key)
    digest = None
    if request.idempotency_key is not None:
        digest = job_submission.request_digest(request)
        existing = await client.get_status(job_id, show_input=True)
        if existing:
            return _replayed(job_id, request.idempotency_key, digest, existing)
    try:
        analyzer = await job_submission.resolve_analyzer(request, settings)
        await job_submission.check_sources_available(request)
        staged = await job_submission.stage_uploads(
            job_id, request.uploads, settings.limits.upload_concurrency
        )
    except InputError as error:
        return input_error_response(error)
    except TransientError as error:
        return dependency_unavailable(error)
    spec = job_submission.build_job_spec(
        job_id, request, analyzer, staged, settings, origin="http", digest=digest
    )
    try:
        await client.start_new(job_submission.orchestrator_for(spec), job_id, spec)
    except Exception:
        await job_submission.release_sources(staged)
        if request.idempotency_key is not None and digest is not None:
            existing = await client.get_status(job_id, show_input=True)
            if existing:  # a concurrent request with the same key won
                return _replayed(job_id, request.idempotency_key, digest, existing)
        logger.exception("Could not start job %s", job_id)
        return problem_response(503, "The job could not be started; try again", title="Start failed")
    logger.info(
        "Started job %s: %d input(s), mode %s", job_id, len(spec["inputs"]), spec["mode"],
        extra=job_started_record(job_id, trigger="http", mode=spec["mode"], inputs=len(spec["inputs"])),
    )  # fmt: skip
    return _accepted(job_id, replayed=False)


def _replayed(job_id: str, key: str, digest: str, existing: Any) -> func.HttpResponse:
    """The first job again for a retry of its request; 409 for a different request with its key."""
    recorded = job_submission.recorded_digest(existing)
    if recorded is not None and recorded != digest:
        return problem_response(
            409,
            f"Idempotency key {key!r} was already used for a different request (job {job_id}); "
            "send the same request to get that job again, or use a new key",
            title="Idempotency key reused",
            code="IdempotencyKeyReused",
            idempotencyKey=key,
        )
    return _accepted(job_id, replayed=True)


async def analysis_status(job_id: str, client: Any) -> func.HttpResponse:
    status = await _job(job_id, client)
    if not status:
        return _unknown(job_id)
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    polling: dict[str, Any] = {}
    running = job_status(_runtime(status), None) == "running"
    if running and custom.get("polling"):
        polling = await _polling_progress(job_id, custom["polling"], client)
    elif running and isinstance(custom.get("batches"), int):
        polling = await _batch_progress(job_id, custom, client)
    summary_lines: dict[str, Any] | None = None
    output = status.output if isinstance(status.output, dict) else None
    if output is not None and output.get("summaryBlob") and "inputs" not in output:
        try:
            summary_lines = await results.read_result(job_id, SUMMARY_KEY)
        except TransientError as error:
            return dependency_unavailable(error)
    return json_response(status_document(job_id, status, polling, summary_lines))


async def _batch_progress(job_id: str, custom: dict[str, Any], client: Any) -> dict[str, Any]:
    """A batched job's progress, added up from its batches' own statuses while they run.

    One status read per batch (a thousand-document job has 20 of 50): the job's history never
    holds per-document progress, so that it stays bounded whatever the job's size.
    """
    prepare = custom.get("batchPhase") == "prepare"
    ids = [batch_instance_id(job_id, n, prepare=prepare) for n in range(int(custom["batches"]))]
    children = await asyncio.gather(*(client.get_status(instance_id) for instance_id in ids))
    customs = [child.custom_status for child in children if child and isinstance(child.custom_status, dict)]
    progress: dict[str, Any] = {
        key: sum(int(c.get(key, 0)) for c in customs) for key in ("ingested", "failed", "analyzing", "done")
    }
    progress["polls"] = sum(int(c.get("polls", 0)) for c in customs)
    next_polls = [c["nextPollAt"] for c in customs if c.get("nextPollAt")]
    if next_polls:
        progress["nextPollAt"] = min(next_polls)
    poll_errors = [c["pollError"] for c in customs if c.get("pollError")]
    if poll_errors:
        progress["pollError"] = redact_text(str(poll_errors[0]))
    return progress


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


def status_document(
    job_id: str,
    status: Any,
    polling: dict[str, Any] | None = None,
    summary_lines: dict[str, Any] | None = None,
) -> StatusDocument:
    """The public view of an orchestration's status; ``polling``: progress of its monitors or
    batches (it wins over the job's own counts); ``summary_lines``: a batched job's summary blob
    (``inputs`` and ``operations``), merged into the summary."""
    runtime = _runtime(status)
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
    # A job that runs its one batch itself keeps the batch's polls in its own custom status.
    fields = ("total", "ingested", "failed", "analyzing", "done", "polls", "nextPollAt", "pollError")
    progress = {k: custom[k] for k in fields if k in custom}
    if public_status != "running":
        progress = {k: v for k, v in progress.items() if k not in ("nextPollAt", "pollError")}
    progress.update(polling or {})
    summary = output
    if output is not None and summary_lines is not None:
        summary = {
            **output,
            "inputs": summary_lines.get("inputs", []),
            "operations": summary_lines.get("operations", []),
        }
    return StatusDocument(
        id=job_id,
        status=public_status,
        stage=custom.get("stage") or ("canceled" if public_status == "canceled" else public_status),
        progress=Progress(**progress),
        error=error,
        summary=summary,
        createdAt=_iso(status.created_time),
        updatedAt=_iso(status.last_updated_time),
    )


async def cancel(job_id: str, client: Any) -> func.HttpResponse:
    status = await _job(job_id, client)
    if not status:
        return _unknown(job_id)
    runtime = _runtime(status)
    if runtime in TERMINAL:
        return problem_response(409, f"The analysis already ended ({job_status(runtime, status.output)})")
    try:
        # Cooperative: the job stops starting work, drains, cleans up, ends "canceled".
        await cancel_job(job_id, client)
    except TransientError as error:
        return dependency_unavailable(error)
    return json_response(
        Canceled(id=job_id, status="canceled"), status=202, headers={"Location": _status_path(job_id)}
    )


async def _job(job_id: str, client: Any) -> Any:
    """The status of job ``job_id``, or None: unknown, or not a job at all.

    Only job instances are served: a job's monitors and the analyzer checks are orchestrations too,
    but internal ones (reading one as a job misreports it; canceling one would fail its job). An id
    of any other shape is unknown before the durable client is asked, so no user text ever reaches
    its URLs (where ``#``, ``?`` or ``..`` would change the request)."""
    if not is_job_instance_id(job_id):
        return None
    return await client.get_status(job_id)


def _unknown(job_id: str) -> func.HttpResponse:
    return problem_response(404, f"No analysis with id {shorten(repr(job_id), 120)}")


def _accepted(job_id: str, *, replayed: bool) -> func.HttpResponse:
    headers = {"Location": _status_path(job_id), "Retry-After": "2"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    body = Accepted(id=job_id, statusUrl=_status_path(job_id), resultUrl=f"{_status_path(job_id)}/result")
    return json_response(body, status=202, headers=headers)


def _status_path(job_id: str) -> str:
    return f"/api/analyses/{job_id}"


def _runtime(status: Any) -> str | None:
    return status.runtime_status.name if status.runtime_status is not None else None


def _iso(moment: Any) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None
