"""Benchmark: the app's peak memory for one large upload through ``POST /api/analyses``.

In Azure the Functions host reads the whole request body (at most 104,857,600 bytes by default)
and hands it to the Python worker as one ``bytes`` object; the app then parses the multipart body
and streams each file into the staging container. This measures what the *app* adds on top of the
body it was given: the peak of Python allocations (``tracemalloc``) while the real HTTP handler
(``api.analyses.submit_analysis``) runs, with the real durable client, against Azurite, for
documents of several sizes. A second column measures the whole request through devhost (host and
app in one process: devhost's own copy of the body included), for comparison.

    .venv/bin/python -m bench.upload_memory [sizes in MB, comma-separated]   # default 10,50,95

The numbers are allocations, not RSS: compare them with the body size (the "x body" columns).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
import httpx

from api.analyses import submit_analysis
from content_understanding import close_content_understanding_client
from core.settings import get_settings
from devhost import DevHost
from emulators.content_understanding import running_emulator
from storage.client import close_blob_service_client
from tests.conftest import example_settings
from tests.support import documents
from tests.support.azurite import REPO_ROOT, running_azurite

MB = 1_000_000


def multipart(size: int) -> tuple[bytes, str]:
    """A multipart body holding one PDF of about ``size`` bytes, and its Content-Type."""
    pdf = documents.pdf("Invoice", padding=max(0, size - 700))
    request = httpx.Request("POST", "http://127.0.0.1/api/analyses", files=[("files", ("big.pdf", pdf))])
    return request.read(), request.headers["Content-Type"]


async def app_peak(host: DevHost, body: bytes, content_type: str) -> tuple[float, float]:
    """(peak bytes allocated by the handler, seconds) for one submission."""
    client = df.DurableOrchestrationClient(host.endpoints.binding_json({}))
    request = func.HttpRequest(
        method="POST", url=f"{host.base_url}/api/analyses", headers={"Content-Type": content_type}, body=body
    )
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    response = await submit_analysis(request, client)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 202, response.get_body()
    return float(peak), elapsed


async def request_peak(host: DevHost, body: bytes, content_type: str) -> float:
    """Peak bytes allocated in this process by one POST through devhost (host and app together)."""
    async with httpx.AsyncClient(base_url=host.base_url, timeout=300) as http:
        gc.collect()
        tracemalloc.start()
        response = await http.post("/api/analyses", content=body, headers={"Content-Type": content_type})
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert response.status_code == 202, response.text
    return float(peak)


async def run(sizes: list[int]) -> None:
    async with running_emulator(key="bench-key") as emulator:
        with tempfile.TemporaryDirectory() as state, running_azurite() as azurite:
            settings = {
                **example_settings(),
                "DocumentStorage": azurite.connection_string,
                "AzureWebJobsStorage": azurite.connection_string,
                "CONTENT_UNDERSTANDING_ENDPOINT": emulator.endpoint,
                "CONTENT_UNDERSTANDING_KEY": emulator.key,
                "TASKHUB_NAME": "benchupload",
            }
            get_settings.cache_clear()
            async with DevHost(
                REPO_ROOT, settings=settings, state_dir=Path(state), blob_poll_interval=None
            ) as host:
                print(f"{'document':>10} {'body MB':>8} {'app peak MB':>12} {'x body':>7} {'app s':>6} "
                      f"{'request peak MB':>16} {'x body':>7}")  # fmt: skip
                for size in sizes:
                    body, content_type = multipart(size * MB)
                    peak, seconds = await app_peak(host, body, content_type)
                    whole = await request_peak(host, body, content_type)
                    print(
                        f"{size:>8} MB {len(body) / MB:>8.1f} {peak / MB:>12.1f} {peak / len(body):>7.2f} "
                        f"{seconds:>6.2f} {whole / MB:>16.1f} {whole / len(body):>7.2f}"
                    )
                    del body
            await close_content_understanding_client()
            await close_blob_service_client()
            get_settings.cache_clear()


def main() -> None:
    sizes = [int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else [10, 50, 95]
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    asyncio.run(run(sizes))


if __name__ == "__main__":
    main()
