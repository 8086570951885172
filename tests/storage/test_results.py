"""Results blobs, the result document and job clean-up against Azurite."""

from __future__ import annotations

import json

import pytest
from azure.storage.blob.aio import BlobServiceClient

from core.errors import ErrorInfo, InputError
from inputs.ingest import ingest_input, stage_upload
from storage.grants import create_input_grant
from storage.result_document import OperationOutcome, read_header, read_results, write_result_document
from storage.results import ResultNotFound, cleanup_job, open_result_stream, read_result, save_result
from tests.support import documents
from tests.support.blobs import blob_names

pytestmark = pytest.mark.integration


async def test_a_result_is_saved_and_streamed_back(storage: BlobServiceClient, job_id: str) -> None:
    result = {"status": "Succeeded", "result": {"contents": [{"markdown": "x" * 300_000}]}}

    name = await save_result(job_id, "0-invoice", result)
    stream = await open_result_stream(job_id, "0-invoice")
    chunks = [chunk async for chunk in stream.chunks]

    assert name == stream.blob == f"{job_id}/0-invoice.json"
    assert stream.content_type == "application/json"
    assert json.loads(b"".join(chunks)) == result
    assert stream.size == sum(len(chunk) for chunk in chunks)
    assert await read_result(job_id, "0-invoice") == result


async def test_missing_results_and_bad_keys_are_refused(storage: BlobServiceClient, job_id: str) -> None:
    with pytest.raises(ResultNotFound):
        await open_result_stream(job_id, "nothing")
    with pytest.raises(InputError):
        await save_result(job_id, "../escape", {})


async def test_cleanup_removes_only_this_jobs_staging_and_grants(
    storage: BlobServiceClient, job_id: str
) -> None:
    other_job = f"{job_id}-other"
    leftover = await stage_upload(job_id, "left.pdf", documents.pdf(), max_bytes=10**6)
    ingested = await ingest_input(
        job_id, 0, (await stage_upload(job_id, "a.pdf", documents.pdf(), max_bytes=10**6)).source()
    )
    await create_input_grant(job_id, ingested.blob)
    others = await stage_upload(other_job, "b.pdf", documents.pdf(), max_bytes=10**6)
    await save_result(job_id, "summary", {"done": True})

    assert await cleanup_job(job_id) == 2

    assert await blob_names(storage, "staging", f"{job_id}/") == []
    assert await blob_names(storage, "grants", f"{job_id}/") == []
    assert await blob_names(storage, "staging", f"{other_job}/") == [others.staged]
    assert await blob_names(storage, "inputs", f"{job_id}/") == [ingested.blob]
    assert await read_result(job_id, "summary") == {"done": True}
    assert leftover.staged not in await blob_names(storage, "staging", "")


INNER = {"code": "ContentSourceNotAccessible", "message": "The content at the URL could not be read."}


async def test_the_result_document_shows_cu_s_error_as_returned_and_the_app_s_own(
    storage: BlobServiceClient, job_id: str
) -> None:
    """A failed operation's entry carries CU's error with its innererror (as get_operation saved it,
    redacted); one CU never answered carries the app's account; a success carries the result."""
    await save_result(
        job_id, "operation-0", {"id": "op-0", "status": "Succeeded", "result": {"contents": []}}
    )
    cu_error = {"code": "InvalidRequest", "message": "Invalid Request.", "innererror": INNER}
    await save_result(job_id, "operation-1", {"id": "op-1", "status": "Failed", "error": cu_error})
    deadline: ErrorInfo = {"code": "DeadlineExceeded", "message": "still Running", "transient": False}
    operations: list[OperationOutcome] = [
        {"key": "0", "inputs": ["a.pdf"], "operationId": "op-0", "status": "Succeeded"},
        {"key": "1", "inputs": ["b.pdf"], "operationId": "op-1", "status": "Failed"},
        {"key": "2", "inputs": ["c.pdf"], "operationId": "op-2", "status": "TimedOut", "error": deadline},
    ]

    name = await write_result_document(job_id, "invoices", "per-document", operations)

    assert name == f"{job_id}/result-index.json"
    header = await read_header(job_id)
    read = [(entry, result) async for entry, result in read_results(header, 0, 3)]
    assert [(entry["status"], entry["error"], result) for entry, result in read] == [
        ("succeeded", None, {"contents": []}),
        ("failed", cu_error, None),
        ("timed_out", {"code": "DeadlineExceeded", "message": "still Running"}, None),
    ]
