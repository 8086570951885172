"""The job's single-step Content Understanding calls, each safe to retry.

Waiting belongs to the orchestrator's durable timers, so every function here makes one call and
returns. Signed URLs are resolved from grant blobs here, at the last moment, and never returned.
"""

from __future__ import annotations

import json
import logging
from typing import Any, TypedDict

from azure.core.exceptions import ResourceNotFoundError

from content_understanding import (
    AnalyzeInput,
    AnalyzerConflictError,
    get_content_understanding_client,
)
from core.errors import PermanentError, TransientError
from core.layout import operation_record_blob, operation_result_key
from core.redact import redact_text
from core.settings import GA_API_VERSION
from storage.client import blob_client, ensure_containers
from storage.errors import translated
from storage.grants import resolve_grant
from storage.knowledge_base import save_reference_result
from storage.results import save_result

logger = logging.getLogger(__name__)

# The analyzer tag that records which definition (and knowledge base) it was created from.
DEFINITION_HASH_TAG = "pipelineDefinitionHash"
# Content Understanding operations one analysis may cost at most when its record keeps being lost.
MAX_ANALYSIS_ATTEMPTS = 3


class CreateAnalyzerRequest(TypedDict):
    analyzerId: str
    apiVersion: str
    definition: dict[str, Any]
    definitionHash: str
    replace: bool
    knowledgeSource: dict[str, Any] | None  # {"grant", "prefix", "fileListPath"}


class BeginAnalysisRequest(TypedDict):
    jobId: str
    key: str
    analyzerId: str
    apiVersion: str
    inputs: list[dict[str, str]]  # [{"grant", "name"}]
    modelDeployments: dict[str, str]


class GetOperationRequest(TypedDict):
    jobId: str
    key: str
    kind: str  # "analysis" | "analyzer" | "reference"
    operationLocation: str
    knowledgeBase: dict[str, str] | None  # kind "reference": {"prefix", "fileName"}


async def get_analyzer_state(analyzer_id: str, api_version: str) -> dict[str, Any]:
    analyzer = await get_content_understanding_client().get_analyzer(analyzer_id, api_version=api_version)
    if analyzer is None:
        return {"exists": False, "status": None, "definitionHash": None}
    return {
        "exists": True,
        "status": analyzer.get("status"),
        "definitionHash": (analyzer.get("tags") or {}).get(DEFINITION_HASH_TAG),
    }


async def begin_create_analyzer(request: CreateAnalyzerRequest) -> dict[str, Any]:
    """Start creating (or replacing) the analyzer; ``{"conflict": True}`` if someone else is."""
    client = get_content_understanding_client()
    definition = dict(request["definition"])
    definition["tags"] = {**(definition.get("tags") or {}), DEFINITION_HASH_TAG: request["definitionHash"]}
    if request["knowledgeSource"] is not None:
        source = request["knowledgeSource"]
        definition["knowledgeSources"] = [
            {
                "kind": "reference",
                "containerUrl": await resolve_grant(source["grant"], renew=True),
                "prefix": source["prefix"],
                "fileListPath": source["fileListPath"],
            }
        ]
    ga = request["apiVersion"] == GA_API_VERSION
    if request["replace"] and not ga:
        # The preview API has no allowReplace: an existing id answers 409, so delete it first.
        await client.delete_analyzer(request["analyzerId"], api_version=request["apiVersion"])
    try:
        location = await client.begin_create_analyzer(
            request["analyzerId"],
            definition,
            api_version=request["apiVersion"],
            allow_replace=request["replace"] and ga,
        )
    except AnalyzerConflictError:
        return {"conflict": True}
    return {"operationLocation": location}


async def begin_analysis(request: BeginAnalysisRequest) -> dict[str, Any]:
    """Start the analysis once: a retried call finds the recorded operation and returns it.

    Content Understanding has no idempotency key and no way to list operations, so an operation
    whose ``Operation-Location`` was never recorded cannot be found again. The record blob closes
    every gap but one: the host dying after CU accepted the request and before the record is
    written (or CU's answer being lost on the way). The next attempt must then submit again. So
    the record counts attempts, written *before* each request: a repeated attempt is reported
    (``attempts`` > 1: an earlier one may have started an operation of its own) and bounded (after
    ``MAX_ANALYSIS_ATTEMPTS`` the input fails rather than cost yet another analysis).
    """
    job_id, key = request["jobId"], request["key"]
    recorded = await _read_operation_record(job_id, key)
    if recorded is not None and "operationLocation" in recorded:
        return recorded
    attempts = int(recorded["attempts"]) if recorded is not None else 0
    if attempts >= MAX_ANALYSIS_ATTEMPTS:
        names = ", ".join(repr(item["name"]) for item in request["inputs"])
        raise PermanentError(
            f"The analysis of {names} was attempted {attempts} times without its operation ever being "
            "recorded (each time the host stopped between sending it to Content Understanding and "
            "recording the answer); it is not submitted again",
            code="AnalysisNotRecorded",
        )
    inputs = [
        AnalyzeInput(url=await resolve_grant(item["grant"], renew=True), name=item["name"])
        for item in request["inputs"]
    ]
    deployments = request["modelDeployments"] if request["apiVersion"] == GA_API_VERSION else None
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
        request["analyzerId"],
        inputs,
        api_version=request["apiVersion"],
        model_deployments=deployments or None,
    )
    record = {
        "operationLocation": operation.operation_location,
        "operationId": operation.operation_id,
        "attempts": attempts,
    }
    try:
        await _write_operation_record(job_id, key, record)
    except TransientError as error:
        # Raising would make the host retry, and the retry would submit a second analysis. The
        # host records this activity's result in history; the blob only matters if it dies now.
        logger.warning("Job %s: analysis %s started, but its record was not written: %s", job_id, key, error)
    return record


async def get_operation(request: GetOperationRequest) -> dict[str, Any]:
    """One poll. A finished analysis's full response is saved as a blob; only its name returns."""
    status = await get_content_understanding_client().get_operation(request["operationLocation"])
    answer: dict[str, Any] = {"status": status.status, "retryAfterSeconds": status.retry_after_seconds}
    if status.error:
        answer["error"] = {
            "code": str(status.error.get("code", "OperationFailed")),
            "message": redact_text(str(status.error.get("message", "The operation failed"))),
            "transient": False,
        }
    if status.status == "Succeeded" and request["kind"] == "analysis":
        answer["resultBlob"] = await save_result(
            request["jobId"], operation_result_key(request["key"]), status.raw
        )
    if status.status == "Succeeded" and request["kind"] == "reference":
        # The whole operation JSON is the knowledge base's <file>.result.json (reference §10).
        target = request["knowledgeBase"] or {}
        answer["resultBlob"] = await save_reference_result(target["prefix"], target["fileName"], status.raw)
    return answer


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
