"""The result index against Azurite: written in parts, read back a range at a time, results paired."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from azure.storage.blob.aio import BlobServiceClient

from core import layout
from core.settings import get_settings
from storage import result_document
from storage.field_table import table_columns
from storage.result_document import (
    OperationOutcome,
    read_entries,
    read_entry_result,
    read_header,
    read_results,
    write_result_document,
)
from storage.results import ResultNotFound, read_blob_json, save_result
from tests.support.blobs import blob_names

pytestmark = pytest.mark.integration

COUNT = 11


def results_container() -> str:
    return get_settings().storage.container(layout.Role.RESULTS)


def outcome(index: int) -> OperationOutcome:
    """Every third operation fails; the others succeeded and have a stored response."""
    if index % 3 == 2:
        return {
            "key": str(index),
            "inputs": [f"{index}.pdf"],
            "operationId": None,
            "status": "Failed",
            "error": {"code": "BlobNotFound", "message": "gone", "transient": False},
        }
    return {
        "key": str(index),
        "inputs": [f"{index}.pdf"],
        "operationId": f"op-{index}",
        "status": "Succeeded",
    }


def response(index: int) -> dict[str, Any]:
    fields: dict[str, Any] = {"Number": {"type": "string", "valueString": f"N-{index}"}}
    if index == 4:
        fields["Extra"] = {"type": "object", "valueObject": {"A": {"type": "integer", "valueInteger": 1}}}
    return {"id": f"op-{index}", "status": "Succeeded", "result": {"contents": [{"fields": fields}]}}


@pytest.fixture
async def stored_job(storage: BlobServiceClient, job_id: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A job of ``COUNT`` entries, its index in parts of 4."""
    monkeypatch.setattr(result_document, "RESULT_INDEX_PART_SIZE", 4)
    for index in range(COUNT):
        if index % 3 != 2:
            await save_result(job_id, layout.operation_result_key(str(index)), response(index))
    name = await write_result_document(job_id, "invoices", "per-document", [outcome(i) for i in range(COUNT)])
    assert name == layout.result_index_blob(job_id).name
    return job_id


async def test_the_index_is_written_in_parts_under_a_header(
    storage: BlobServiceClient, stored_job: str
) -> None:
    names = await blob_names(storage, results_container(), f"{stored_job}/result-index")

    assert sorted(names) == sorted(
        [f"{stored_job}/result-index.json"] + [f"{stored_job}/result-index-{part}.json" for part in range(3)]
    )
    header = await read_header(stored_job)
    assert (header.job_id, header.analyzer_id, header.mode, header.total, header.part_size) == (
        stored_job,
        "invoices",
        "per-document",
        COUNT,
        4,
    )
    assert len(await read_blob_json(layout.result_index_part_blob(stored_job, 2))) == 3


@pytest.mark.parametrize(("start", "stop"), [(0, 11), (0, 4), (3, 9), (4, 8), (10, 11), (7, 50), (11, 20)])
async def test_any_range_reads_back_in_order(stored_job: str, start: int, stop: int) -> None:
    header = await read_header(stored_job)

    entries = [entry async for entry in read_entries(header, start, stop)]

    assert [entry["index"] for entry in entries] == list(range(start, min(stop, COUNT)))
    for entry in entries:
        expected = outcome(entry["index"])
        assert entry["inputs"] == expected["inputs"]
        assert entry["status"] == ("failed" if entry["index"] % 3 == 2 else "succeeded")
        error = expected.get("error")
        assert entry["error"] == ({k: v for k, v in error.items() if k != "transient"} if error else None)


async def test_results_come_paired_with_their_entries(stored_job: str) -> None:
    header = await read_header(stored_job)

    paired = [(entry["index"], result) async for entry, result in read_results(header, 1, 9)]

    assert [index for index, _ in paired] == list(range(1, 9))
    for index, result in paired:
        assert result == (None if index % 3 == 2 else response(index)["result"])


async def test_stopping_early_cancels_the_reads_ahead(stored_job: str) -> None:
    header = await read_header(stored_job)
    tasks_before = len(asyncio.all_tasks())

    async with contextlib.aclosing(read_results(header, 0, COUNT)) as results:
        async for entry, _ in results:
            if entry["index"] == 1:
                break

    assert len(asyncio.all_tasks()) == tasks_before


async def test_the_table_columns_are_found_once_and_kept(storage: BlobServiceClient, stored_job: str) -> None:
    header = await read_header(stored_job)

    columns = await table_columns(header)

    assert columns[6:] == ["fields.Number", "fields.Extra.A"]
    saved = await read_blob_json(layout.field_columns_blob(stored_job))
    assert saved["columns"] == columns
    # Later requests read the saved list, not the results: it holds even without them.
    await storage.get_container_client(results_container()).delete_blob(f"{stored_job}/operation-4.json")
    assert await table_columns(header) == columns


async def test_a_missing_index_or_result_is_result_not_found(
    storage: BlobServiceClient, stored_job: str
) -> None:
    header = await read_header(stored_job)
    (entry,) = [entry async for entry in read_entries(header, 0, 1)]
    await storage.get_container_client(results_container()).delete_blob(f"{stored_job}/operation-0.json")
    with pytest.raises(ResultNotFound):
        await read_entry_result(stored_job, entry)
    await storage.get_container_client(results_container()).delete_blob(f"{stored_job}/result-index-1.json")
    with pytest.raises(ResultNotFound):
        _ = [entry async for entry in read_entries(header, 3, 6)]
    with pytest.raises(ResultNotFound):
        await read_header("job-never-was")
