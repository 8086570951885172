"""Ingest against real Azurite and a real loopback HTTP server: every source, concurrency, idempotency."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator

import pytest
from azure.storage.blob.aio import BlobServiceClient

from core.content_types import DOCX, PDF, PNG
from core.contracts.activities import StoredInput
from core.contracts.wire import from_wire, to_wire
from core.jobs import InputSource
from core.settings import get_settings
from inputs.ingest import ingest_input, stage_upload
from storage.streams import BLOCK_SIZE
from tests.support import documents
from tests.support.blobs import blob_names, read_blob
from tests.support.loopback import FileServer

pytestmark = pytest.mark.integration


async def put_intake(service: BlobServiceClient, name: str, data: bytes) -> str:
    container = get_settings().storage.intake_container
    await service.get_blob_client(container, name).upload_blob(data, overwrite=True)
    return f"{container}/{name}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_staged_upload_is_copied_into_inputs_and_leaves_staging(
    storage: BlobServiceClient, job_id: str
) -> None:
    data = documents.pdf("invoice")
    staged = await stage_upload(job_id, "Invoice 2024.pdf", data, max_bytes=1_000_000)

    ingested = await ingest_input(job_id, 0, staged.source())

    assert ingested == StoredInput(
        index=0,
        name="Invoice 2024.pdf",
        blob=f"{job_id}/0-Invoice 2024.pdf",
        size=len(data),
        content_type=PDF,
        etag=ingested.etag,
        sha256=sha256(data),
    )
    assert await read_blob(storage, "inputs", ingested.blob) == data
    assert await blob_names(storage, "staging", f"{job_id}/") == []
    assert from_wire(StoredInput, to_wire(ingested)) == ingested


async def test_a_blob_in_the_intake_container_is_ingested_with_its_facts(
    storage: BlobServiceClient, job_id: str
) -> None:
    data = documents.docx("contract")
    reference = await put_intake(storage, f"{job_id}/drop/contract.docx", data)

    ingested = await ingest_input(job_id, 3, {"blob": reference})

    assert (ingested.name, ingested.blob, ingested.content_type) == (
        "contract.docx",
        f"{job_id}/3-contract.docx",
        DOCX,
    )
    assert (ingested.size, ingested.sha256) == (len(data), sha256(data))
    properties = await storage.get_blob_client("inputs", ingested.blob).get_blob_properties()
    assert properties.etag == ingested.etag
    assert properties.content_settings.content_type == DOCX
    assert properties.metadata["sha256"] == sha256(data)


async def test_a_url_is_downloaded_into_inputs(
    storage: BlobServiceClient, job_id: str, files: FileServer
) -> None:
    data = documents.png()
    files.files["scans/page%201.png"] = data

    ingested = await ingest_input(job_id, 1, {"url": files.url("files/scans/page%25201.png")})

    assert (ingested.name, ingested.content_type, ingested.sha256) == ("page_201.png", PNG, sha256(data))
    assert await read_blob(storage, "inputs", ingested.blob) == data


async def test_redirects_are_followed(storage: BlobServiceClient, job_id: str, files: FileServer) -> None:
    files.files["a.pdf"] = documents.pdf()

    ingested = await ingest_input(job_id, 0, {"url": files.url("redirect/3/a.pdf"), "name": "a.pdf"})

    assert ingested.size == len(files.files["a.pdf"])
    assert files.requests == ["/redirect/3/a.pdf", "/redirect/2/a.pdf", "/redirect/1/a.pdf", "/files/a.pdf"]


@pytest.mark.parametrize(
    ("size", "blocks"), [(500_000, 0), (BLOCK_SIZE // 2, 1), (2 * BLOCK_SIZE + 12345, 3)]
)
async def test_large_files_are_streamed_through_in_blocks(
    storage: BlobServiceClient, job_id: str, files: FileServer, size: int, blocks: int
) -> None:
    data = documents.pdf(padding=size)
    files.files["big.pdf"] = data

    ingested = await ingest_input(job_id, 0, {"url": files.url("files/big.pdf")})

    committed, _ = await storage.get_blob_client("inputs", ingested.blob).get_block_list()
    assert len(committed) == blocks  # 0: written with one Put Blob
    assert (ingested.size, ingested.sha256) == (len(data), sha256(data))
    assert await read_blob(storage, "inputs", ingested.blob) == data


@pytest.mark.parametrize("kind", ["staged", "blob", "url"])
async def test_ingesting_twice_gives_the_same_blob_untouched(
    storage: BlobServiceClient, job_id: str, files: FileServer, kind: str
) -> None:
    data = documents.pdf(kind)
    source: InputSource
    if kind == "staged":
        source = (await stage_upload(job_id, "a.pdf", data, max_bytes=10**6)).source()
    elif kind == "blob":
        source = {"blob": await put_intake(storage, f"{job_id}/a.pdf", data)}
    else:
        files.files["a.pdf"] = data
        source = {"url": files.url("files/a.pdf")}

    first = await ingest_input(job_id, 0, source)
    second = await ingest_input(job_id, 0, source)

    assert second == first  # same name, size, hash and ETag: the blob was not written again
    assert await blob_names(storage, "inputs", f"{job_id}/") == [first.blob]
    if kind == "url":
        assert files.requests == ["/files/a.pdf"]


async def test_fifty_inputs_ingest_concurrently(
    storage: BlobServiceClient, job_id: str, files: FileServer
) -> None:
    sources: list[InputSource] = []
    expected: list[bytes] = []
    for index in range(50):
        data = documents.pdf(f"document {index}", padding=index * 1000)
        expected.append(data)
        if index % 3 == 0:
            sources.append((await stage_upload(job_id, f"doc{index}.pdf", data, max_bytes=10**6)).source())
        elif index % 3 == 1:
            sources.append({"blob": await put_intake(storage, f"{job_id}/doc{index}.pdf", data)})
        else:
            files.files[f"doc{index}.pdf"] = data
            sources.append({"url": files.url(f"files/doc{index}.pdf")})

    started = time.perf_counter()
    ingested = await asyncio.gather(*(ingest_input(job_id, i, source) for i, source in enumerate(sources)))
    elapsed = time.perf_counter() - started

    assert [item.sha256 for item in ingested] == [sha256(data) for data in expected]
    assert sorted(await blob_names(storage, "inputs", f"{job_id}/")) == sorted(item.blob for item in ingested)
    assert await blob_names(storage, "staging", f"{job_id}/") == []
    print(f"50 concurrent ingests: {elapsed:.2f} s")


async def test_a_packaged_input_meets_the_package_s_types(storage: BlobServiceClient, job_id: str) -> None:
    """An agentic job's documents go into its PDF package: PDF, text and Markdown, not Office."""
    docx = await put_intake(storage, f"{job_id}/notes.docx", documents.docx())
    notes = await put_intake(storage, f"{job_id}/notes.md", b"# Notes\n\nNet 45.\n")

    assert (await ingest_input(job_id, 0, {"blob": docx})).content_type == DOCX
    with pytest.raises(Exception, match="packages its documents into one PDF") as caught:
        await ingest_input(job_id, 1, {"blob": docx}, packaged_for="2026-06-01-preview")
    assert getattr(caught.value, "code", None) == "UnsupportedContentType"
    # Markdown is one of them (CU would not take it in agentic mode: the package makes it pages).
    packaged = await ingest_input(job_id, 2, {"blob": notes}, packaged_for="2026-06-01-preview")
    assert packaged.content_type == "text/markdown"


async def test_streamed_uploads_are_staged_with_their_facts(storage: BlobServiceClient, job_id: str) -> None:
    data = documents.pdf(padding=BLOCK_SIZE)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 100_000):
            yield data[start : start + 100_000]

    staged = await stage_upload(job_id, "stream.pdf", chunks(), max_bytes=10**8, api_version="2025-11-01")

    assert (staged.size, staged.sha256, staged.content_type) == (len(data), sha256(data), PDF)
    assert staged.staged.startswith(f"{job_id}/")
    assert await read_blob(storage, "staging", staged.staged) == data


async def test_two_executions_of_the_same_ingest_at_once_both_succeed(
    storage: BlobServiceClient, job_id: str
) -> None:
    # Durable activities run at least once; a duplicate may race the original.
    data = documents.pdf("twice")

    async def later(delay: float, index: int, source: InputSource) -> StoredInput:
        await asyncio.sleep(delay)
        return await ingest_input(job_id, index, source)

    for attempt in range(12):  # the duplicate starts 0-11 ms later, overlapping each step of the first
        source = (await stage_upload(job_id, f"r{attempt}.pdf", data, max_bytes=10**6)).source()

        first, second = await asyncio.gather(
            ingest_input(job_id, attempt, source), later(attempt / 1000, attempt, source)
        )

        assert first.blob == second.blob
        assert first.sha256 == second.sha256 == sha256(data)
        assert await read_blob(storage, "inputs", first.blob) == data
    assert await blob_names(storage, "staging", f"{job_id}/") == []
