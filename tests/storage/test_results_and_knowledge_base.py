"""Results blobs, job clean-up and pro-mode knowledge bases against Azurite."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.storage.blob.aio import BlobServiceClient

from activities.storage import run_add_reference_file, run_write_knowledge_base
from core.errors import InputError
from inputs.ingest import ingest_input, stage_upload
from inputs.references import add_reference_file
from storage.grants import create_input_grant
from storage.knowledge_base import (
    KnowledgeBase,
    KnowledgeBaseError,
    save_reference_result,
    validate_knowledge_base,
    write_sources_manifest,
)
from storage.results import ResultNotFound, cleanup_job, open_result_stream, read_result, save_result
from tests.support import documents
from tests.support.blobs import blob_names, read_blob

pytestmark = pytest.mark.integration


def analysis(markdown: str, status: str = "Succeeded") -> dict[str, Any]:
    """An operation JSON as prebuilt-documentAnalyzer returns it (abridged)."""
    return {
        "id": "op-1",
        "status": status,
        "result": {
            "analyzerId": "prebuilt-documentAnalyzer",
            "apiVersion": "2025-05-01-preview",
            "contents": [{"kind": "document", "markdown": markdown, "pages": []}],
        },
    }


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


async def test_a_knowledge_base_is_laid_out_as_content_understanding_reads_it(
    storage: BlobServiceClient, job_id: str
) -> None:
    prefix = f"{job_id}/kb/"
    policy = await add_reference_file(
        job_id,
        prefix,
        0,
        (await stage_upload(job_id, "policy.pdf", documents.pdf("policy"), max_bytes=10**6)).source(),
    )
    scan = await add_reference_file(
        job_id, prefix, 1, (await stage_upload(job_id, "scan.png", documents.png(), max_bytes=10**6)).source()
    )
    for reference in (policy, scan):
        await save_reference_result(prefix, reference.name, analysis(reference.name))

    written = await write_sources_manifest(prefix)
    checked = await validate_knowledge_base(prefix)

    assert written == checked == KnowledgeBase("references", prefix, ("policy.pdf", "scan.png"))
    assert checked.to_dict()["fileListPath"] == "sources.jsonl"
    assert KnowledgeBase.from_dict(checked.to_dict()) == checked
    assert sorted(await blob_names(storage, "references", prefix)) == [
        f"{prefix}policy.pdf",
        f"{prefix}policy.pdf.result.json",
        f"{prefix}scan.png",
        f"{prefix}scan.png.result.json",
        f"{prefix}sources.jsonl",
    ]
    assert (await read_blob(storage, "references", f"{prefix}sources.jsonl")).decode().splitlines() == [
        '{"file": "policy.pdf", "resultFile": "policy.pdf.result.json"}',
        '{"file": "scan.png", "resultFile": "scan.png.result.json"}',
    ]
    stored = json.loads(await read_blob(storage, "references", f"{prefix}policy.pdf.result.json"))
    assert stored == analysis("policy.pdf")


async def test_the_knowledge_base_activities_report_what_is_missing(
    storage: BlobServiceClient, job_id: str
) -> None:
    prefix = f"{job_id}/kb/"
    staged = await stage_upload(job_id, "policy.pdf", documents.pdf(), max_bytes=10**6)
    added = await run_add_reference_file(
        {"jobId": job_id, "prefix": prefix, "index": 0, "source": dict(staged.source())}
    )
    assert added["ok"] is True

    not_analyzed = await run_write_knowledge_base({"prefix": prefix})
    await save_reference_result(prefix, "policy.pdf", analysis("policy"))
    ready = await run_write_knowledge_base({"prefix": prefix})

    assert not_analyzed["ok"] is False
    assert not_analyzed["error"]["code"] == "InvalidKnowledgeBase"
    assert "documents not analyzed yet: policy.pdf" in not_analyzed["error"]["message"]
    assert ready == {
        "ok": True,
        "knowledgeBase": {
            "container": "references",
            "prefix": prefix,
            "fileListPath": "sources.jsonl",
            "files": ["policy.pdf"],
        },
    }


async def test_broken_knowledge_bases_are_refused(storage: BlobServiceClient, job_id: str) -> None:
    prefix = f"{job_id}/kb/"
    references = storage.get_container_client("references")
    await references.upload_blob(f"{prefix}gone.pdf.result.json", json.dumps(analysis("x")))
    with pytest.raises(
        KnowledgeBaseError, match=r"result files without their document: gone\.pdf\.result\.json"
    ):
        await write_sources_manifest(prefix)
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        await validate_knowledge_base(prefix)

    await references.upload_blob(
        f"{prefix}sources.jsonl", b'{"file": "gone.pdf", "resultFile": "gone.pdf.result.json"}\n'
    )
    with pytest.raises(KnowledgeBaseError, match="listed but does not exist"):
        await validate_knowledge_base(prefix)
    await references.upload_blob(f"{prefix}sources.jsonl", b'{"file": "../x.pdf"}\n', overwrite=True)
    with pytest.raises(KnowledgeBaseError, match="line 1"):
        await validate_knowledge_base(prefix)

    await references.upload_blob(f"{prefix}a.pdf", documents.pdf())
    with pytest.raises(KnowledgeBaseError, match="not a succeeded operation"):
        await save_reference_result(prefix, "a.pdf", analysis("a", status="Failed"))


async def test_reference_files_must_be_pro_mode_documents_with_free_names(
    storage: BlobServiceClient, job_id: str
) -> None:
    prefix = f"{job_id}/kb/"
    docx = await stage_upload(job_id, "notes.docx", documents.docx(), max_bytes=10**6)
    with pytest.raises(InputError, match="pro mode does not accept"):
        await add_reference_file(job_id, prefix, 0, docx.source())
    reserved = await stage_upload(job_id, "sources.jsonl", documents.pdf(), max_bytes=10**6)
    with pytest.raises(InputError, match="reserved"):
        await add_reference_file(job_id, prefix, 1, reserved.source())
    assert await blob_names(storage, "references", prefix) == []
