"""The job's result: an index of its entries, written when the job ends, read back a page at a time.

Each operation's full CU response was saved by the activity that saw it succeed
(``activities.cu_steps.get_operation``, under ``core.layout.operation_result_key``); no result ever
passes through orchestration history, and none is copied here. What the job's last step writes is
only the *result index* (``write_result_document``): one small entry per operation (its inputs,
operation id, public status and error), in parts of ``RESULT_INDEX_PART_SIZE`` entries, and then a
header saying how many entries there are. The header is written last, so a header means a whole
index. An entry that did not succeed carries CU's own error as CU returned it (with its
``innererror``) when the operation failed at CU, else the app's account (a deadline, a request CU
refused).

Readers never hold more than a page: ``read_entries`` reads only the parts that hold the entries
asked for, and ``read_results`` pairs each entry with its CU result, reading a few ahead
(``READ_AHEAD``) and parsing one result per entry, so memory is bounded by the page and the
largest result in it, not by the job.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from core import layout
from core.errors import ErrorInfo
from core.result_table import ResultEntry, public_status
from storage.results import ResultNotFound, read_blob_json, write_blob_json

RESULT_INDEX_FORMAT = 1
RESULT_INDEX_PART_SIZE = 100  # entries per part blob (about 20 KB); parts are read one at a time
READ_AHEAD = 4  # results read ahead of the one being consumed
WRITE_CONCURRENCY = 8


class OperationOutcome(TypedDict):
    """How one operation of the job ended, as the job's last step reports it."""

    key: str
    inputs: list[str]  # input names
    operationId: str | None
    status: str  # Succeeded | Failed | Canceled | TimedOut | Skipped
    error: NotRequired[ErrorInfo | None]  # the app's account of a failure (CU's own is read back)


@dataclass(frozen=True)
class ResultHeader:
    """A job's result index: what the job was, and how many entries it has."""

    job_id: str
    analyzer_id: str
    mode: str
    total: int
    part_size: int


async def write_result_document(
    job_id: str, analyzer_id: str, mode: str, operations: Sequence[OperationOutcome]
) -> str:
    """Store the result index of ``operations`` (in this order); return the header's blob name."""

    async def given() -> AsyncIterator[OperationOutcome]:
        for operation in operations:
            yield operation

    return await write_result_index(job_id, analyzer_id, mode, given())


async def write_result_index(
    job_id: str, analyzer_id: str, mode: str, operations: AsyncIterable[OperationOutcome]
) -> str:
    """Store the result index of ``operations`` as they come, a part at a time; return the header's
    blob name. Memory holds one part of entries, whatever the job's size (a batched job's
    operations are read from its batches' records one record at a time: ``save_results``)."""
    limit = asyncio.Semaphore(WRITE_CONCURRENCY)

    async def entry(index: int, operation: OperationOutcome) -> ResultEntry:
        async with limit:
            return await _entry(job_id, index, operation)

    async def write_part(number: int, part: list[OperationOutcome]) -> None:
        first = number * RESULT_INDEX_PART_SIZE
        entries = list(await asyncio.gather(*(entry(first + i, op) for i, op in enumerate(part))))
        await write_blob_json(layout.result_index_part_blob(job_id, number), entries)

    total = 0
    part: list[OperationOutcome] = []
    async for operation in operations:
        part.append(operation)
        total += 1
        if len(part) == RESULT_INDEX_PART_SIZE:
            await write_part(total // RESULT_INDEX_PART_SIZE - 1, part)
            part = []
    if part:
        await write_part(total // RESULT_INDEX_PART_SIZE, part)
    header = {
        "format": RESULT_INDEX_FORMAT,
        "id": job_id,
        "analyzerId": analyzer_id,
        "mode": mode,
        "total": total,
        "partSize": RESULT_INDEX_PART_SIZE,
    }
    return await write_blob_json(layout.result_index_blob(job_id), header)


async def read_header(job_id: str) -> ResultHeader:
    """The header of a job's result index; ``ResultNotFound`` if the job has none (or no more)."""
    header = await read_blob_json(layout.result_index_blob(job_id))
    if not isinstance(header, dict) or header.get("format") != RESULT_INDEX_FORMAT:
        raise ResultNotFound(f"Job {job_id} has no result index this version can read")
    return ResultHeader(
        job_id=job_id,
        analyzer_id=str(header["analyzerId"]),
        mode=str(header["mode"]),
        total=int(header["total"]),
        part_size=int(header["partSize"]),
    )


async def read_entries(header: ResultHeader, start: int, stop: int) -> AsyncGenerator[ResultEntry]:
    """Entries ``start`` to ``stop - 1`` (clipped to the index), in order, one part read at a time."""
    stop = min(stop, header.total)
    position = max(start, 0)
    while position < stop:
        number = position // header.part_size
        part = await read_blob_json(layout.result_index_part_blob(header.job_id, number))
        first = number * header.part_size
        if not isinstance(part, list) or first + len(part) < min(stop, first + header.part_size):
            raise ResultNotFound(f"Job {header.job_id}'s result index part {number} is incomplete")
        for entry in part[position - first : stop - first]:
            yield entry
        position = first + header.part_size


async def read_entry_result(job_id: str, entry: ResultEntry) -> dict[str, Any] | None:
    """The CU result (``AnalyzeResult``) of a succeeded entry, else None."""
    if entry["status"] != "succeeded":
        return None
    response = await read_blob_json(layout.result_blob(job_id, layout.operation_result_key(entry["key"])))
    result = response.get("result") if isinstance(response, dict) else None
    return result if isinstance(result, dict) else None


async def read_results(
    header: ResultHeader, start: int, stop: int
) -> AsyncGenerator[tuple[ResultEntry, dict[str, Any] | None]]:
    """Entries ``start`` to ``stop - 1`` with their CU results, in order, ``READ_AHEAD`` reads ahead.

    Use it under ``contextlib.aclosing`` when the loop may stop early, so that the reads under way
    are canceled at once rather than when the generator is collected.
    """
    pending: deque[tuple[ResultEntry, asyncio.Task[dict[str, Any] | None]]] = deque()
    entries = read_entries(header, start, stop)
    try:
        async for entry in entries:
            pending.append((entry, asyncio.create_task(read_entry_result(header.job_id, entry))))
            if len(pending) > READ_AHEAD:
                ready, task = pending.popleft()
                yield ready, await task
        while pending:
            ready, task = pending.popleft()
            yield ready, await task
    finally:
        for _, task in pending:
            task.cancel()
        await asyncio.gather(*(task for _, task in pending), return_exceptions=True)
        await entries.aclose()


async def _entry(job_id: str, index: int, operation: OperationOutcome) -> ResultEntry:
    error: dict[str, Any] | None = None
    if operation["status"] != "Succeeded":
        error = await _cu_error(job_id, operation)
        if error is None and operation.get("error"):
            error = dict(operation["error"] or {})
            error.pop("transient", None)
    return {
        "index": index,
        "key": operation["key"],
        "inputs": list(operation["inputs"]),
        "operationId": operation["operationId"],
        "status": public_status(operation["status"]),
        "error": error,
    }


async def _cu_error(job_id: str, operation: OperationOutcome) -> dict[str, Any] | None:
    """CU's error from the response ``get_operation`` saved, or None (a failure CU never reported)."""
    if operation["operationId"] is None:
        return None
    try:
        response = await read_blob_json(
            layout.result_blob(job_id, layout.operation_result_key(operation["key"]))
        )
    except ResultNotFound:
        return None
    error = response.get("error") if isinstance(response, dict) else None
    return dict(error) if isinstance(error, dict) else None
