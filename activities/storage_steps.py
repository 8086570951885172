"""The storage activities' plain typed functions: one typed request in, one typed result out.

The decorated shells in ``activities/storage.py`` reach them through the activity boundary
(``activities/boundary.py``); tests call them directly. The work itself is in ``inputs`` and
``storage``. No result carries a SAS: ``create_sas`` returns a grant's name and expiry only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from activities.boundary import InvalidActivityInput
from core.contracts.activities import (
    CleanupJobRequest,
    CleanupJobResult,
    CreateSasRequest,
    CreateSasResult,
    IngestInputRequest,
    IngestInputResult,
    IssuedGrant,
    OperationRecord,
    PackagedDocument,
    PackagedPart,
    PackageInputsRequest,
    PackageInputsResult,
    SaveResultsRequest,
    SaveResultsResult,
)
from core.contracts.wire import from_wire
from core.layout import SUMMARY_KEY, job_prefix
from inputs import package
from inputs.ingest import ingest_input as ingest_one, parse_source
from storage import grants, results
from storage.result_document import OperationOutcome, write_result_index


async def ingest_input(request: IngestInputRequest) -> IngestInputResult:
    if request.packaged and request.api_version is None:
        raise InvalidActivityInput("a packaged input needs 'apiVersion'")
    ingested = await ingest_one(
        request.job_id,
        request.index,
        parse_source(request.source),
        packaged_for=request.api_version if request.packaged else None,
    )
    return IngestInputResult(input=ingested)


async def create_sas(request: CreateSasRequest) -> CreateSasResult:
    grant = await grants.create_input_grant(request.job_id, request.blob)
    return CreateSasResult(grant=IssuedGrant(name=grant["grant"], expires_at=grant["expiresAt"]))


async def save_results(request: SaveResultsRequest) -> SaveResultsResult:
    """The job's result index (unless ``index`` is False); for a batched job also its summary blob.

    A batched job's operations come from its batches' records, read one record at a time (each
    holds at most a batch's fates and operation records, never a CU result): the index is written
    a part at a time as they come, in input order, and the summary gathers every input's fate and
    each operation that was attempted (the status API merges it into the job's summary).
    """
    fates: list[dict[str, Any]] = list(request.inputs)
    attempted: list[dict[str, Any]] = []

    async def operations() -> AsyncIterator[OperationOutcome]:
        for operation in request.operations:
            if request.inputs and operation.status != "Skipped":
                attempted.append(_summary_line(operation))
            yield _outcome(operation)
        for name in request.batch_records:  # in batch order, so inputs keep their order
            record = await results.read_result(request.job_id, _result_key(request.job_id, name))
            fates.extend(record.get("inputs") or [])
            for line in record.get("operations") or []:
                operation = from_wire(OperationRecord, line)
                if operation.status != "Skipped":
                    attempted.append(_summary_line(operation))
                yield _outcome(operation)

    blob = None
    if request.index:
        blob = await write_result_index(request.job_id, request.analyzer_id, request.mode, operations())
    else:
        async for _ in operations():
            pass
    summary = None
    if request.batch_records or request.inputs:
        document = {"inputs": fates, "operations": attempted}
        summary = await results.save_result(request.job_id, SUMMARY_KEY, document)
    return SaveResultsResult(result_blob=blob, summary_blob=summary)


def _outcome(operation: OperationRecord) -> OperationOutcome:
    return OperationOutcome(
        key=operation.key,
        inputs=operation.inputs,
        operationId=operation.operation_id,
        status=operation.status,
        error=operation.error,
    )


def _summary_line(operation: OperationRecord) -> dict[str, Any]:
    """An operation's line in the job's summary (as the agentic job's): key, id if it started, status."""
    line: dict[str, Any] = {"key": operation.key}
    if operation.operation_id is not None:
        line["operationId"] = operation.operation_id
    line["status"] = operation.status
    return line


async def package_inputs(request: PackageInputsRequest) -> PackageInputsResult:
    """An agentic job's documents as one PDF in storage: its blob, size, pages and where each part is."""
    parts = [
        package.StoredPart(name=part.name, role=part.role, blob=part.blob, content_type=part.content_type)
        for part in request.parts
    ]
    written = await package.package_inputs(request.job_id, request.api_version, parts)
    return PackageInputsResult(
        package=PackagedDocument(
            name=written.name,
            blob=written.blob,
            size=written.size,
            pages=written.package.pages,
            sha256=written.sha256,
            parts=[
                PackagedPart(
                    name=placed.name, role=placed.role, first_page=placed.first_page, pages=placed.pages
                )
                for placed in written.package.parts
            ],
        )
    )


async def cleanup_job(request: CleanupJobRequest) -> CleanupJobResult:
    return CleanupJobResult(deleted=await results.cleanup_job(request.job_id))


def _result_key(job_id: str, blob_name: str) -> str:
    """The result key of one of the job's result blobs (``{job}/{key}.json``)."""
    prefix = job_prefix(job_id)
    if not blob_name.startswith(prefix) or not blob_name.endswith(".json"):
        raise InvalidActivityInput(f"{blob_name!r} is not a result of job {job_id!r}")
    return blob_name.removeprefix(prefix).removesuffix(".json")
