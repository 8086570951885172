"""The job's single-step Content Understanding calls, each safe to retry: plain typed functions.

Each takes its request type and returns its result type (``core/contracts/activities.py``); the
shells in ``activities/analysis.py`` reach them through the activity boundary.

Waiting belongs to the orchestrator's durable timers, so every function here makes one call and
returns. Signed URLs are resolved from grant blobs here, at the last moment, and never returned.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from content_understanding import (
    AnalyzeInput,
    AnalyzerConflictError,
    get_content_understanding_client,
    operation_error_info,
)
from core.api_versions import get_profile
from core.contracts.activities import (
    AnalyzerState,
    BeginAnalysisRequest,
    BeginAnalysisResult,
    BeginCreateAnalyzerRequest,
    BeginCreateAnalyzerResult,
    GetAnalyzerStateRequest,
    GetOperationRequest,
    OperationState,
)
from core.contracts.wire import from_wire, to_wire
from core.errors import ErrorInfo, PermanentError, TransientError
from core.jobs import DEFINITION_HASH_TAG
from core.layout import operation_record_blob, operation_result_key
from core.redact import redact_json
from storage.client import blob_client, ensure_containers
from storage.errors import translated
from storage.grants import resolve_grant
from storage.results import save_result

logger = logging.getLogger(__name__)
# Content Understanding operations one analysis may cost at most when its record keeps being lost.
MAX_ANALYSIS_ATTEMPTS = 3


async def get_analyzer_state(request: GetAnalyzerStateRequest) -> AnalyzerState:
    analyzer = await get_content_understanding_client().get_analyzer(
        request.analyzer_id, api_version=request.api_version
    )
    if analyzer is None:
        return AnalyzerState(exists=False, status=None, definition_hash=None)
    return AnalyzerState(
        exists=True,
        status=analyzer.get("status"),
        definition_hash=(analyzer.get("tags") or {}).get(DEFINITION_HASH_TAG),
    )


async def begin_create_analyzer(request: BeginCreateAnalyzerRequest) -> BeginCreateAnalyzerResult:
    """Start creating (or replacing) the analyzer; ``conflict`` if someone else is."""
    client = get_content_understanding_client()
    definition = dict(request.definition)
    definition["tags"] = {**(definition.get("tags") or {}), DEFINITION_HASH_TAG: request.definition_hash}
    can_replace = get_profile(request.api_version).allow_replace
    if request.replace and not can_replace:
        # Without allowReplace an existing id answers 409, so delete it first.
        await client.delete_analyzer(request.analyzer_id, api_version=request.api_version)
    try:
        location = await client.begin_create_analyzer(
            request.analyzer_id,
            definition,
            api_version=request.api_version,
            allow_replace=request.replace and can_replace,
        )
    except AnalyzerConflictError:
        return BeginCreateAnalyzerResult(conflict=True)
    return BeginCreateAnalyzerResult(operation_location=location)


async def begin_analysis(request: BeginAnalysisRequest) -> BeginAnalysisResult:
    """Start the analysis once: a retried call finds the recorded operation and returns it.

    Content Understanding has no idempotency key and no way to list operations, so an operation
    whose ``Operation-Location`` was never recorded cannot be found again. The record blob closes
    every gap but one: the host dying after CU accepted the request and before the record is
    written (or CU's answer being lost on the way). The next attempt must then submit again. So
    the record counts attempts, written *before* each request: a repeated attempt is reported
    (``attempts`` > 1: an earlier one may have started an operation of its own) and bounded (after
    ``MAX_ANALYSIS_ATTEMPTS`` the input fails rather than cost yet another analysis).
    """
    job_id, key = request.job_id, request.key
    recorded = await _read_operation_record(job_id, key)
    if recorded is not None and "operationLocation" in recorded:
        return from_wire(BeginAnalysisResult, recorded, where=operation_record_blob(job_id, key).name)
    attempts = int(recorded["attempts"]) if recorded is not None else 0
    if attempts >= MAX_ANALYSIS_ATTEMPTS:
        names = ", ".join(repr(item.name) for item in request.inputs)
        raise PermanentError(
            f"The analysis of {names} was attempted {attempts} times without its operation ever being "
            "recorded (each time the host stopped between sending it to Content Understanding and "
            "recording the answer); it is not submitted again",
            code="AnalysisNotRecorded",
        )
    inputs = [
        AnalyzeInput(url=await resolve_grant(item.grant, renew=True), name=item.name)
        for item in request.inputs
    ]
    # Versions without per-request modelDeployments use the resource's defaults (or none at all).
    with_deployments = get_profile(request.api_version).model_deployments
    deployments = request.model_deployments if with_deployments else None
    attempts += 1
    await _write_operation_record(job_id, key, {"attempts": attempts})
    if attempts > 1:
        logger.warning(
            "Job %s: submitting analysis %s again (attempt %d): an earlier attempt may have started "
            "an operation that was never recorded",
            job_id,
            key,
            attempts,
        )
    operation = await get_content_understanding_client().begin_analyze(
        request.analyzer_id,
        inputs,
        api_version=request.api_version,
        model_deployments=deployments or None,
    )
    record = BeginAnalysisResult(
        operation_location=operation.operation_location,
        operation_id=operation.operation_id,
        attempts=attempts,
    )
    try:
        await _write_operation_record(job_id, key, to_wire(record))
    except TransientError as error:
        # Raising would make the host retry, and the retry would submit a second analysis. The
        # host records this activity's result in history; the blob only matters if it dies now.
        logger.warning("Job %s: analysis %s started, but its record was not written: %s", job_id, key, error)
    return record


async def get_operation(request: GetOperationRequest) -> OperationState:
    """One poll. A finished analysis's full response is saved as a blob; only its name returns.

    A failed operation's error keeps CU's inner code and message (``innerError``), which is where
    Azure puts the detail; its response is saved too (redacted), so the result document can show
    CU's error as returned.
    """
    status = await get_content_understanding_client().get_operation(request.operation_location)
    error: ErrorInfo | None = None
    if status.error:
        error = operation_error_info(status.error)
    result_blob = None
    pages = None
    if request.kind == "analysis" and status.status == "Succeeded":
        result_blob = await save_result(request.job_id, operation_result_key(request.key), status.raw)
        pages = pages_of(status.raw)
    elif request.kind == "analysis" and status.status in ("Failed", "Canceled"):
        saved = redact_json({key: status.raw[key] for key in ("id", "status", "error") if key in status.raw})
        await save_result(request.job_id, operation_result_key(request.key), saved)
    return OperationState(
        status=status.status,
        retry_after_seconds=status.retry_after_seconds,
        error=error,
        result_blob=result_blob,
        pages=pages,
    )


def pages_of(response: dict[str, Any]) -> int:
    """Pages an analysis counted: GA's ``usage.documentPages*``, else its contents' page spans, else 1."""
    usage = response.get("usage") or (response.get("result") or {}).get("usage") or {}
    counted = sum(int(v) for k, v in usage.items() if k.startswith("documentPages") and isinstance(v, int))
    if counted:
        return counted
    spans = 0
    for content in (response.get("result") or {}).get("contents") or []:
        start, end = content.get("startPageNumber"), content.get("endPageNumber")
        if isinstance(start, int) and isinstance(end, int) and end >= start:
            spans += end - start + 1
    return max(spans, 1)


async def _read_operation_record(job_id: str, key: str) -> dict[str, Any] | None:
    record_blob = operation_record_blob(job_id, key)
    name = record_blob.name
    with translated(f"Reading the operation record {name}"):
        try:
            downloaded = await blob_client(record_blob).download_blob()
        except ResourceNotFoundError:
            return None
        data = await downloaded.readall()
    record: dict[str, Any] = json.loads(data)
    return record


async def _write_operation_record(job_id: str, key: str, record: dict[str, Any]) -> None:
    await ensure_containers()
    record_blob = operation_record_blob(job_id, key)
    with translated(f"Writing the operation record {record_blob.name}"):
        await blob_client(record_blob).upload_blob(json.dumps(record).encode(), overwrite=True)
