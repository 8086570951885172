"""Benchmark: the memory a result request costs, for a job of 10 stored results and one of 1,000.

    .venv/bin/python -m bench.results_bench [--counts 10,1000] [--result-kb 50] [--output FILE]

The claim to check (docs/performance.md): serving a job's result, one entry of it, or a page of
its fields table costs memory bounded by the page, not by the job. The run starts its own Azurite,
stores N CU responses of about ``--result-kb`` each (shaped like a real ``AnalyzeResult``:
markdown, pages, fields) with the job's result index, then calls the real handlers of
``api/results.py`` one request at a time and measures each one's peak of Python allocations
(``tracemalloc``) above what was allocated before it, and its time in a second, untraced run.
The Durable client is the one piece stood in for (``CompletedJob``: it only answers "this job
succeeded"), so that devhost's own memory is not counted. For comparison it also measures
``whole-document``: every result read into one document and serialised, which is what the job's
last step and ``GET /result`` did before.

What to read is, per request, the ratio of its peak at the largest N to its peak at the smallest.
The first fields page also reads every result once (to find the table's columns); it keeps one
result at a time, so it too should stay flat. Prints a table and writes JSON rows
(``count``, ``request``, ``peak_kib``, ``seconds``, ``body_bytes``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import sys
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.core.exceptions import ResourceNotFoundError

from api.results import fields_table, result_entry, result_page
from core import layout
from core.settings import get_settings
from storage.client import blob_client, close_blob_service_client, ensure_containers
from storage.result_document import OperationOutcome, write_result_document
from storage.results import read_result, save_result
from tests.conftest import example_settings
from tests.support.azurite import REPO_ROOT, running_azurite

RESULTS_DIR = REPO_ROOT / "bench" / "results"
WRITE_CONCURRENCY = 16
PAGE_SIZE = 10  # every page measured holds this many entries, whatever N: what differs is the job


@dataclass(frozen=True)
class Row:
    count: int
    request: str
    peak_kib: float
    seconds: float
    body_bytes: int


class _Runtime:
    name = "Completed"


@dataclass
class _Status:
    output: dict[str, Any]
    runtime_status: _Runtime = _Runtime()  # noqa: RUF009 (a constant, never mutated)


class CompletedJob:
    """Stands in for the Durable client: every job it is asked about completed and succeeded."""

    async def get_status(self, job_id: str) -> _Status:
        return _Status({"status": "succeeded", "resultBlob": layout.result_index_blob(job_id).name})


def cu_response(index: int, size_kb: int) -> dict[str, Any]:
    """An operation response like CU's for an invoice: markdown, pages with words, ten fields."""
    words = [{"content": f"word{w}", "span": {"offset": w * 8, "length": 7}} for w in range(size_kb * 10)]
    fields: dict[str, Any] = {
        f"Field{f}": {"type": "string", "valueString": f"value {index}-{f}", "confidence": 0.9}
        for f in range(8)
    }
    fields["Total"] = {"type": "number", "valueNumber": 100.0 + index}
    fields["Lines"] = {
        "type": "array",
        "valueArray": [
            {"type": "object", "valueObject": {"Sku": {"type": "string", "valueString": f"S{i}"}}}
            for i in range(3)
        ],
    }
    return {
        "id": f"op-{index}",
        "status": "Succeeded",
        "result": {
            "analyzerId": "invoice-fields",
            "apiVersion": "2025-11-01",
            "contents": [
                {
                    "kind": "document",
                    "markdown": "lorem ipsum " * (size_kb * 20),
                    "pages": [{"pageNumber": 1, "words": words}],
                    "fields": fields,
                }
            ],
        },
    }


async def store_job(job_id: str, count: int, size_kb: int) -> None:
    limit = asyncio.Semaphore(WRITE_CONCURRENCY)

    async def store(index: int) -> None:
        async with limit:
            await save_result(job_id, layout.operation_result_key(str(index)), cu_response(index, size_kb))

    await asyncio.gather(*(store(index) for index in range(count)))
    operations: list[OperationOutcome] = [
        {"key": str(i), "inputs": [f"{i}.pdf"], "operationId": f"op-{i}", "status": "Succeeded"}
        for i in range(count)
    ]
    await write_result_document(job_id, "invoice-fields", "per-document", operations)


async def whole_document(job_id: str, count: int) -> func.HttpResponse:
    """The design replaced: every result read into one document, then serialised in one piece."""
    results = []
    for index in range(count):
        response = await read_result(job_id, layout.operation_result_key(str(index)))
        results.append({"inputs": [f"{index}.pdf"], "status": "succeeded", "result": response["result"]})
    body = json.dumps({"id": job_id, "results": results}).encode()
    return func.HttpResponse(body, mimetype="application/json")


async def measure(request: Callable[[], Awaitable[func.HttpResponse]]) -> tuple[float, float, int]:
    """Peak KiB allocated above the start, seconds, body bytes of one request.

    Tracing allocations slows Python down several times, so the seconds come from a second,
    untraced run of the same request (with the same state: see ``forget_columns``).
    """
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        response = await request()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    body = response.get_body()
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {body[:300]!r}")
    return (peak - before) / 1024, 0.0, len(body)


async def timed(request: Callable[[], Awaitable[func.HttpResponse]]) -> float:
    started = time.perf_counter()
    await request()
    return time.perf_counter() - started


async def forget_columns(job_id: str) -> None:
    """Delete the saved table columns, so that the next fields request finds them again."""
    with contextlib.suppress(ResourceNotFoundError):
        await blob_client(layout.field_columns_blob(job_id)).delete_blob()


async def run_count(count: int, size_kb: int) -> list[Row]:
    job_id = f"job-{uuid.uuid4().hex}"  # the shape of a real job id (the API serves no other)
    await store_job(job_id, count, size_kb)
    client = CompletedJob()
    page = {"pageSize": str(PAGE_SIZE)}
    last = {**page, "start": str(count - PAGE_SIZE)}
    requests: list[tuple[str, Callable[[], Awaitable[func.HttpResponse]]]] = [
        ("result, first page", lambda: result_page(job_id, page, client)),
        ("result, last page", lambda: result_page(job_id, last, client)),
        ("one entry", lambda: result_entry(job_id, str(count // 2), client)),
        # The first fields request also reads every result once, to find the table's columns.
        ("fields csv, first page", lambda: fields_table(job_id, page, client)),
        ("fields csv, last page", lambda: fields_table(job_id, last, client)),
        ("fields jsonl, last page", lambda: fields_table(job_id, {**last, "format": "jsonl"}, client)),
        ("whole-document (before)", lambda: whole_document(job_id, count)),
    ]
    rows = []
    for name, request in requests:
        first_fields_page = name == "fields csv, first page"
        if first_fields_page:
            await forget_columns(job_id)
        peak_kib, _, body_bytes = await measure(request)
        if first_fields_page:
            await forget_columns(job_id)
        seconds = await timed(request)
        rows.append(Row(count, name, round(peak_kib, 1), round(seconds, 3), body_bytes))
    return rows


async def run(counts: list[int], size_kb: int) -> list[Row]:
    await ensure_containers()
    try:
        rows: list[Row] = []
        for count in counts:
            rows += await run_count(count, size_kb)
        return rows
    finally:
        await close_blob_service_client()


def print_table(rows: list[Row], counts: list[int]) -> None:
    print(f"{'request':<26}" + "".join(f"{f'N={n} KiB':>14}" for n in counts) + f"{'ratio':>8}  seconds")
    for request in dict.fromkeys(row.request for row in rows):
        by_count = {row.count: row for row in rows if row.request == request}
        peaks = [by_count[n].peak_kib for n in counts]
        ratio = peaks[-1] / peaks[0] if peaks[0] else float("nan")
        times = " / ".join(f"{by_count[n].seconds:.2f}" for n in counts)
        print(f"{request:<26}" + "".join(f"{p:>14,.0f}" for p in peaks) + f"{ratio:>8.2f}  {times}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="10,1000", help="stored results per job, comma-separated")
    parser.add_argument("--result-kb", type=int, default=50, help="approximate size of one CU response")
    parser.add_argument("--output", type=Path, help="JSON file (default: bench/results/results-<time>.json)")
    args = parser.parse_args()
    counts = sorted(int(part) for part in args.counts.split(","))
    if counts[0] < PAGE_SIZE:
        parser.error(f"every count must be at least {PAGE_SIZE}, a page")
    with running_azurite() as azurite:
        os.environ.update({**example_settings(), "DocumentStorage": azurite.connection_string})
        get_settings.cache_clear()
        rows = asyncio.run(run(counts, args.result_kb))
    print_table(rows, counts)
    output = args.output or RESULTS_DIR / f"results-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "results_bench",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "resultKb": args.result_kb,
        "rows": [asdict(row) for row in rows],
    }
    output.write_text(json.dumps(document, indent=2), encoding="utf-8")
    print(f"JSON: {output}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
