"""Benchmark: N inputs ingested one after another versus all at once (as the fan-out runs them).

Runs a private Azurite and a loopback file server that answers after a remote server's latency
(100 ms), ingests N PDFs fetched by URL and N staged uploads, sequentially and concurrently, and
prints the times and their ratio. The target is that
concurrency makes N inputs cost far less than N times one; the ratio, measured within one run on the
same machine, is what to compare, not the absolute seconds.

    .venv/bin/python -m bench.storage_ingest [N] [size in KB] [latency in ms]
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable

from core.jobs import InputSource
from core.settings import get_settings
from inputs.ingest import ingest_input, stage_upload
from storage.client import close_blob_service_client, ensure_containers
from tests.support import documents
from tests.support.azurite import running_azurite
from tests.support.loopback import file_server


async def timed(work: Awaitable[object]) -> float:
    started = time.perf_counter()
    await work
    return time.perf_counter() - started


async def ingest_sequentially(job_id: str, sources: list[InputSource]) -> None:
    for index, source in enumerate(sources):
        await ingest_input(job_id, index, source)


async def ingest_concurrently(job_id: str, sources: list[InputSource]) -> None:
    await asyncio.gather(*(ingest_input(job_id, index, source) for index, source in enumerate(sources)))


async def run(count: int, size_kb: int, latency_ms: int) -> None:
    await ensure_containers()
    async with file_server() as files:
        files.latency = latency_ms / 1000
        data = documents.pdf(padding=size_kb * 1000)
        for index in range(count):
            files.files[f"{index}.pdf"] = data

        async def sources(kind: str, job_id: str) -> list[InputSource]:
            if kind == "url":
                return [{"url": files.url(f"files/{index}.pdf")} for index in range(count)]
            staged = [await stage_upload(job_id, f"{i}.pdf", data, max_bytes=10**8) for i in range(count)]
            return [upload.source() for upload in staged]

        for kind in ("url", "staged"):
            sequential_job, concurrent_job = f"bench-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
            one_by_one = await sources(kind, sequential_job)
            at_once = await sources(kind, concurrent_job)
            sequential = await timed(ingest_sequentially(sequential_job, one_by_one))
            concurrent = await timed(ingest_concurrently(concurrent_job, at_once))
            print(
                f"{kind:>6}: {count} x {size_kb} KB, {latency_ms} ms latency  sequential {sequential:.2f} s  "
                f"concurrent {concurrent:.2f} s  ratio {sequential / concurrent:.1f}x"
            )
    await close_blob_service_client()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    size_kb = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    latency_ms = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    with running_azurite() as azurite:
        os.environ.update({"DocumentStorage": azurite.connection_string, "ALLOW_LOCAL_URLS": "true"})
        os.environ.setdefault("CONTENT_UNDERSTANDING_ENDPOINT", "http://127.0.0.1:7080")
        get_settings.cache_clear()
        asyncio.run(run(count, size_kb, latency_ms))


if __name__ == "__main__":
    main()
