"""The storage activities' plain functions against Azurite: envelopes, error policy, no secrets out."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pypdf
import pytest
from azure.storage.blob.aio import BlobClient, BlobServiceClient

from activities.storage import (
    run_cleanup_job,
    run_create_sas,
    run_ingest_input,
    run_package_inputs,
    run_save_results,
)
from core.errors import TransientError
from inputs.ingest import stage_upload
from samples.pdf import make_pdf
from storage.grants import resolve_grant
from storage.result_document import read_entries, read_header, read_results
from storage.results import save_result
from tests.support import documents
from tests.support.blobs import blob_names, read_blob
from tests.support.loopback import FileServer

pytestmark = pytest.mark.integration


async def test_ingest_input_returns_the_input_or_a_permanent_error(
    storage: BlobServiceClient, job_id: str, files: FileServer
) -> None:
    files.files["a.pdf"] = documents.pdf()

    ok = await run_ingest_input({"jobId": job_id, "index": 0, "source": {"url": files.url("files/a.pdf")}})
    bad = await run_ingest_input(
        {"jobId": job_id, "index": 1, "source": {"url": files.url("files/nope.pdf")}}
    )

    assert ok["ok"] is True
    assert ok["input"]["blob"] == f"{job_id}/0-a.pdf"
    assert bad == {
        "ok": False,
        "index": 1,
        "error": {
            "code": "UrlNotFound",
            "message": f"URL {files.url('files/nope.pdf')} answered HTTP 404",
            "transient": False,
        },
    }
    json.dumps([ok, bad])  # both travel through history as JSON


async def test_transient_failures_raise_so_the_host_retries(
    storage: BlobServiceClient, job_id: str, files: FileServer
) -> None:
    with pytest.raises(TransientError):
        await run_ingest_input({"jobId": job_id, "index": 0, "source": {"url": files.url("status/503")}})


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"jobId": "job-1", "index": "0", "source": {"url": "https://example.invalid/a.pdf"}},
        {"jobId": "job-1", "index": True, "source": {"url": "https://example.invalid/a.pdf"}},
        {"jobId": "job-1", "index": 0, "source": "https://example.invalid/a.pdf"},
    ],
)
async def test_malformed_activity_input_is_a_permanent_error(payload: Any) -> None:
    envelope = await run_ingest_input(payload)
    assert envelope["ok"] is False
    assert envelope["error"]["code"] in ("InvalidActivityInput", "InvalidSource")


async def test_create_sas_returns_a_grant_name_and_expiry_only(
    storage: BlobServiceClient, job_id: str
) -> None:
    staged = await stage_upload(job_id, "a.pdf", documents.pdf(), max_bytes=10**6)
    ingested = await run_ingest_input({"jobId": job_id, "index": 0, "source": dict(staged.source())})

    envelope = await run_create_sas({"jobId": job_id, "kind": "input", "blob": ingested["input"]["blob"]})

    assert envelope["ok"] is True
    assert set(envelope) == {"ok", "grant"}
    assert set(envelope["grant"]) == {"grant", "expiresAt"}
    refused = await run_create_sas({"jobId": job_id, "blob": "another-job/0-a.pdf"})
    assert refused["error"]["code"] == "GrantNotAllowed"


async def test_save_results_and_cleanup(storage: BlobServiceClient, job_id: str) -> None:
    staged = await stage_upload(job_id, "left.pdf", documents.pdf(), max_bytes=10**6)
    await save_result(job_id, "operation-0", {"id": "op-0", "status": "Succeeded", "result": {"x": "ü"}})
    saved = await run_save_results(
        {
            "jobId": job_id,
            "analyzerId": "a1",
            "mode": "per-document",
            "operations": [
                {"key": "0", "inputs": ["a.pdf"], "operationId": "op-0", "status": "Succeeded"},
                {"key": "1", "inputs": ["b.pdf"], "operationId": None, "status": "TimedOut"},
            ],
        }
    )

    assert saved == {"ok": True, "resultBlob": f"{job_id}/result-index.json"}
    header = await read_header(job_id)
    assert (header.analyzer_id, header.mode, header.total) == ("a1", "per-document", 2)
    read = [(entry, result) async for entry, result in read_results(header, 0, 2)]
    assert read == [
        (
            {"index": 0, "key": "0", "inputs": ["a.pdf"], "operationId": "op-0", "status": "succeeded",
             "error": None},
            {"x": "ü"},
        ),
        (
            {"index": 1, "key": "1", "inputs": ["b.pdf"], "operationId": None, "status": "timed_out",
             "error": None},
            None,
        ),
    ]  # fmt: skip
    assert await run_cleanup_job({"jobId": job_id}) == {"ok": True, "deleted": 1}
    assert await blob_names(storage, "staging", staged.staged) == []


async def test_save_results_gathers_the_batches_records_in_input_order(
    storage: BlobServiceClient, job_id: str
) -> None:
    """A batched job: the index is written from the records a part at a time (150 entries, two
    parts), one entry per input in input order, CU's own error for an operation CU failed."""
    cu_error = {
        "code": "InvalidRequest",
        "message": "m",
        "innererror": {"code": "ContentSourceNotAccessible"},
    }
    await save_result(job_id, "operation-101", {"id": "op-101", "status": "Failed", "error": cu_error})
    lost = {"code": "NotFound", "message": "gone", "transient": False}

    def line(index: int) -> dict[str, Any]:
        if index == 101:
            return {"key": "101", "inputs": ["101.pdf"], "operationId": "op-101", "status": "Failed"}
        if index == 102:
            return {
                "key": "102",
                "inputs": ["102.pdf"],
                "operationId": None,
                "status": "Failed",
                "error": lost,
            }
        if index >= 140:
            return {"key": str(index), "inputs": [f"{index}.pdf"], "operationId": None, "status": "Skipped"}
        return {
            "key": str(index),
            "inputs": [f"{index}.pdf"],
            "operationId": f"op-{index}",
            "status": "Succeeded",
        }

    records = []
    for batch, indexes in enumerate((range(100), range(100, 150))):
        fates = [{"index": i, "name": f"{i}.pdf", "status": "succeeded"} for i in indexes]
        records.append(
            await save_result(
                job_id,
                f"batch-{batch}",
                {"batch": batch, "inputs": fates, "operations": [line(i) for i in indexes]},
            )
        )
    request = {
        "jobId": job_id,
        "analyzerId": "a1",
        "mode": "per-document",
        "operations": [],
        "batchRecords": records,
    }

    saved = await run_save_results(request)

    assert saved == {
        "ok": True,
        "resultBlob": f"{job_id}/result-index.json",
        "summaryBlob": f"{job_id}/summary.json",
    }
    header = await read_header(job_id)
    assert header.total == 150
    entries = [entry async for entry in read_entries(header, 0, 150)]
    assert [entry["key"] for entry in entries] == [str(i) for i in range(150)]
    assert [entry["index"] for entry in entries] == list(range(150))
    assert entries[101]["error"] == cu_error  # CU's own, with its inner error
    assert entries[102]["error"] == {"code": "NotFound", "message": "gone"}
    assert {entry["status"] for entry in entries[140:]} == {"skipped"}
    summary = json.loads(await read_blob(storage, "results", f"{job_id}/summary.json"))
    assert [fate["index"] for fate in summary["inputs"]] == list(range(150))
    assert len(summary["operations"]) == 140  # the skipped ones were never attempted
    assert summary["operations"][102] == {"key": "102", "status": "Failed"}  # no id: it never started


async def test_save_results_of_a_canceled_job_writes_its_summary_only(
    storage: BlobServiceClient, job_id: str
) -> None:
    fates = [{"index": 0, "name": "a.pdf", "status": "skipped"}]
    operations = [{"key": "0", "inputs": ["a.pdf"], "operationId": "op-0", "status": "Canceled"}]
    record = await save_result(job_id, "batch-0", {"batch": 0, "inputs": fates, "operations": operations})

    saved = await run_save_results(
        {
            "jobId": job_id,
            "analyzerId": "a1",
            "mode": "per-document",
            "operations": [],
            "batchRecords": [record],
            "index": False,
        }
    )

    assert saved == {"ok": True, "resultBlob": None, "summaryBlob": f"{job_id}/summary.json"}
    assert await blob_names(storage, "results", f"{job_id}/result-index") == []
    summary = json.loads(await read_blob(storage, "results", f"{job_id}/summary.json"))
    assert summary["operations"] == [{"key": "0", "operationId": "op-0", "status": "Canceled"}]


async def test_save_results_takes_the_record_of_a_batch_run_inline(
    storage: BlobServiceClient, job_id: str
) -> None:
    """A job of one batch hands its record over in the request: the same index and summary."""
    fates = [
        {"index": 0, "name": "a.pdf", "status": "succeeded"},
        {"index": 1, "name": "b.pdf", "status": "skipped"},
    ]
    operations = [
        {"key": "0", "inputs": ["a.pdf"], "operationId": "op-0", "status": "Succeeded"},
        {"key": "1", "inputs": ["b.pdf"], "operationId": None, "status": "Skipped"},
    ]

    saved = await run_save_results(
        {
            "jobId": job_id,
            "analyzerId": "a1",
            "mode": "per-document",
            "operations": operations,
            "inputs": fates,
        }
    )

    assert saved == {
        "ok": True,
        "resultBlob": f"{job_id}/result-index.json",
        "summaryBlob": f"{job_id}/summary.json",
    }
    header = await read_header(job_id)
    entries = [entry async for entry in read_entries(header, 0, 2)]
    assert [(entry["key"], entry["status"]) for entry in entries] == [("0", "succeeded"), ("1", "skipped")]
    summary = json.loads(await read_blob(storage, "results", f"{job_id}/summary.json"))
    assert summary == {
        "inputs": fates,
        "operations": [{"key": "0", "operationId": "op-0", "status": "Succeeded"}],
    }


def signature_forms(url: str) -> list[str]:
    signature = parse_qs(urlsplit(url).query)["sig"][0]
    return [signature, quote(signature, safe=""), quote(signature)]


async def test_no_sas_signature_leaves_the_grant_blobs(
    storage: BlobServiceClient, job_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything: the app's loggers, azure.*, aiohttp.*
    for name in ("azure", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    returned: list[Any] = []
    errors: list[str] = []

    staged = await stage_upload(job_id, "a.pdf", documents.pdf(), max_bytes=10**6)
    ingested = await run_ingest_input({"jobId": job_id, "index": 0, "source": dict(staged.source())})
    grant = await run_create_sas({"jobId": job_id, "blob": ingested["input"]["blob"]})
    again = await run_create_sas({"jobId": job_id, "blob": ingested["input"]["blob"]})
    returned += [ingested, grant, again]
    url = await resolve_grant(grant["grant"]["grant"])  # the one place the URL may appear
    grant_blob = (await read_blob(storage, "grants", grant["grant"]["grant"])).decode()
    async with BlobClient.from_blob_url(url) as blob:  # reading with it logs requests at DEBUG
        await (await blob.download_blob()).readall()
        try:
            await blob.upload_blob(b"x", overwrite=True)
        except Exception as error:  # refused: a read-only grant
            errors.append(str(error))
    returned.append(await run_create_sas({"jobId": job_id, "blob": f"{job_id}/0-missing.pdf"}))
    await run_cleanup_job({"jobId": job_id})
    try:
        await resolve_grant(grant["grant"]["grant"])
    except Exception as error:
        errors.append(str(error))

    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    assert len(caplog.records) > 10  # the capture did see the SDK's request logging
    assert len(errors) == 2
    for secret in signature_forms(url):
        assert secret not in json.dumps(returned)
        assert secret not in logged
        assert all(secret not in message for message in errors)
    assert any(form in grant_blob for form in signature_forms(url))  # it exists, and only there


PREVIEW = "2026-06-01-preview"


async def _packaged_parts(job_id: str, parts: list[tuple[str, bytes, str]]) -> list[dict[str, Any]]:
    """Stage and ingest ``(name, data, role)`` parts as an agentic job does; their package parts."""
    packaged = []
    for index, (name, data, role) in enumerate(parts):
        staged = await stage_upload(job_id, name, data, max_bytes=10**7)
        source = dict(staged.source())
        ingested = await run_ingest_input(
            {"jobId": job_id, "index": index, "source": source, "packaged": True, "apiVersion": PREVIEW}
        )
        assert ingested["ok"] is True, ingested
        stored = ingested["input"]
        packaged.append(
            {
                "name": stored["name"],
                "role": role,
                "blob": stored["blob"],
                "contentType": stored["contentType"],
            }
        )
    return packaged


async def test_package_inputs_writes_one_pdf_with_a_contents_page_and_every_part_in_order(
    storage: BlobServiceClient, job_id: str
) -> None:
    parts = await _packaged_parts(
        job_id,
        [
            ("invoice.pdf", make_pdf([["Invoice Number: INV-1"], ["Total Amount: 10"]]), "input"),
            ("notes.md", b"# Notes\n\nPayment Terms: Net 30\n", "input"),
            ("contract.txt", b"Contract Number: MSA-77\n", "reference"),
        ],
    )

    envelope = await run_package_inputs({"jobId": job_id, "apiVersion": PREVIEW, "parts": parts})

    assert envelope["ok"] is True, envelope
    package = envelope["package"]
    assert (package["name"], package["blob"], package["pages"]) == ("package.pdf", f"{job_id}/package.pdf", 5)
    assert package["parts"] == [
        {"name": "invoice.pdf", "role": "input", "firstPage": 2, "pages": 2},
        {"name": "notes.md", "role": "input", "firstPage": 4, "pages": 1},
        {"name": "contract.txt", "role": "reference", "firstPage": 5, "pages": 1},
    ]
    data = await read_blob(storage, "inputs", package["blob"])
    assert len(data) == package["size"]
    assert hashlib.sha256(data).hexdigest() == package["sha256"]
    texts = [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]
    assert "1. invoice.pdf (document to analyse), pages 2-3" in texts[0]
    assert "3. contract.txt (reference document), page 5" in texts[0]
    assert ("Invoice Number: INV-1" in texts[1], "Total Amount: 10" in texts[2]) == (True, True)
    assert texts[3].splitlines()[:2] == ["notes.md", "Notes"]
    assert "Contract Number: MSA-77" in texts[4]
    props = await storage.get_blob_client("inputs", package["blob"]).get_blob_properties()
    assert props.content_settings.content_type == "application/pdf"


async def test_a_package_over_the_page_limit_is_a_permanent_failure(
    storage: BlobServiceClient, job_id: str
) -> None:
    parts = await _packaged_parts(job_id, [("long.pdf", make_pdf([["page"]] * 300), "input")])

    envelope = await run_package_inputs({"jobId": job_id, "apiVersion": PREVIEW, "parts": parts})

    assert envelope["ok"] is False
    assert envelope["error"]["code"] == "PackageTooLarge"
    assert "301 pages" in envelope["error"]["message"]
    assert "at most 300 pages" in envelope["error"]["message"]
    assert await blob_names(storage, "inputs", f"{job_id}/package.pdf") == []
