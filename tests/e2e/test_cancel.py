"""Cancel in Azure's semantics: a canceled job starts nothing new, stops its monitors, cleans up.

devhost runs queued activities of a finished or canceled orchestration, as Azure does, so these
tests pass only because the app's cancel is cooperative (core/cancellation.py), not because the
host drops work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import AppStack, sample
from tests.e2e.test_jobs import AGENTIC_FILES

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

DOCUMENTS = [
    ("files", name, sample(source))
    for name, source in (
        ("a.txt", "invoice-contoso.txt"),
        ("b.md", "invoice-litware.md"),
        ("c.txt", "invoice-contoso.txt"),
        ("d.md", "invoice-litware.md"),
    )
]
ONE_ACTIVITY_AT_A_TIME = {
    "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions": "1"
}


def started(stack: AppStack) -> int:
    return sum(stack.emulator.stats()["analysesStarted"].values())


async def children(stack: AppStack, job_id: str) -> list[dict[str, Any]]:
    response = await stack.http.get(
        f"{stack.host.base_url}/runtime/webhooks/durabletask/instances",
        params={"instanceIdPrefix": f"{job_id}:"},
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_cancel_with_work_queued_and_operations_running(start_stack: Callable[..., Any]) -> None:
    # One document per batch, so one per prepare_inputs call (ingest, grant, begin): the calls
    # queue up behind the single activity slot.
    async with start_stack(**ONE_ACTIVITY_AT_A_TIME, JOB_BATCH_SIZE="1") as stack:
        # Every analysis runs forever at CU, and each API call takes a while.
        stack.emulator.set_faults(hang_input_names={name for _, name, _ in DOCUMENTS}, latency_ms=400)
        job_id = await stack.submit(DOCUMENTS)
        async with asyncio.timeout(30):
            while started(stack) < 1:  # noqa: ASYNC110 - waiting for the emulator
                await asyncio.sleep(0.02)
        assert started(stack) < len(DOCUMENTS), "the cancel must come while analyses are still queued"

        canceled = await stack.http.delete(f"/api/analyses/{job_id}")
        at_cancel = started(stack)
        status = await stack.wait(job_id, within=60)
        await asyncio.sleep(1.0)  # anything still queued would have run by now

        assert canceled.status_code == 202, canceled.text
        assert status["status"] == "canceled", status
        assert status["error"]["code"] == "JobCanceled"
        # At most the one analysis whose activity was already past its check when the cancel came.
        assert started(stack) <= at_cancel + 1
        assert started(stack) < len(DOCUMENTS)
        summary = status["summary"]
        assert {fate["status"] for fate in summary["inputs"]} == {"skipped"}
        assert {fate["error"]["code"] for fate in summary["inputs"]} == {"JobCanceled"}
        assert summary["resultBlob"] is None
        operations = [op for op in summary["operations"] if "operationId" in op]
        assert operations
        assert {op["status"] for op in operations} == {"Canceled"}
        # No grant and no staged upload remains; no monitor is still running.
        assert not [
            n for n in await stack.blob_names(stack.settings["GRANTS_CONTAINER"]) if n.startswith(job_id)
        ]
        assert not [
            n for n in await stack.blob_names(stack.settings["STAGING_CONTAINER"]) if n.startswith(job_id)
        ]
        # Its one batch ran inside the job (no sub-orchestration); nothing of the job still runs.
        assert all(m["runtimeStatus"] == "Completed" for m in await children(stack, job_id))
        result = await stack.http.get(f"/api/analyses/{job_id}/result")
        assert result.status_code == 409


async def polled(stack: AppStack, job_id: str) -> int:
    """Polls so far, as the batches' custom statuses count them."""
    return sum((batch["customStatus"] or {}).get("polls", 0) for batch in await children(stack, job_id))


def polls(stack: AppStack) -> int:
    return sum(operation["count"] for operation in stack.emulator.stats()["polls"].values())


async def test_cancel_while_batches_poll_stops_them(start_stack: Callable[..., Any]) -> None:
    """Two batches of two (sub-orchestrations ``{jobId}:batch-N``): each hears the cancel itself."""
    async with start_stack(
        **ONE_ACTIVITY_AT_A_TIME,
        POLL_INITIAL_INTERVAL_SECONDS="5",
        POLL_MAX_INTERVAL_SECONDS="5",
        JOB_BATCH_SIZE="2",
    ) as stack:
        stack.emulator.set_faults(hang_input_names={name for _, name, _ in DOCUMENTS}, retry_after=0)
        job_id = await stack.submit(DOCUMENTS)
        async with asyncio.timeout(30):  # every operation has been polled once; the batches sleep on timers
            while await polled(stack, job_id) < len(DOCUMENTS):  # noqa: ASYNC110 - polling devhost
                await asyncio.sleep(0.05)

        canceled = await stack.http.delete(f"/api/analyses/{job_id}")
        status = await stack.wait(job_id, within=4)  # well before the batches' 5 s timers
        polls_at_end = polls(stack)
        await asyncio.sleep(1.0)

        assert canceled.status_code == 202, canceled.text
        assert status["status"] == "canceled", status
        assert started(stack) == len(DOCUMENTS)  # all four were running at CU when the cancel came
        batches = await children(stack, job_id)
        assert sorted(b["instanceId"] for b in batches) == [f"{job_id}:batch-0", f"{job_id}:batch-1"]
        assert {b["runtimeStatus"] for b in batches} == {"Completed"}
        assert {b["output"]["counts"]["done"] for b in batches} == {0}
        assert polls(stack) == polls_at_end  # no batch polls any more
        assert {op["status"] for op in status["summary"]["operations"]} == {"Canceled"}
        assert len(status["summary"]["operations"]) == len(DOCUMENTS)
        assert not [
            n for n in await stack.blob_names(stack.settings["GRANTS_CONTAINER"]) if n.startswith(job_id)
        ]


async def test_cancel_during_ingest_starts_no_analysis(start_stack: Callable[..., Any]) -> None:
    async with start_stack(**ONE_ACTIVITY_AT_A_TIME) as stack:
        job_id = await stack.submit(DOCUMENTS)
        canceled = await stack.http.delete(f"/api/analyses/{job_id}")  # ingests are still queued
        status = await stack.wait(job_id, within=60)
        await asyncio.sleep(0.5)

        assert canceled.status_code == 202
        assert status["status"] == "canceled", status
        assert started(stack) == 0
        assert not [
            n for n in await stack.blob_names(stack.settings["GRANTS_CONTAINER"]) if n.startswith(job_id)
        ]
        assert not [
            n for n in await stack.blob_names(stack.settings["STAGING_CONTAINER"]) if n.startswith(job_id)
        ]


async def test_cancel_of_an_agentic_job_while_cu_analyses_its_package(
    start_stack: Callable[..., Any],
) -> None:
    """The agentic job takes the same cancel: its one monitor stops, no result, no grant left."""
    async with start_stack(POLL_INITIAL_INTERVAL_SECONDS="5", POLL_MAX_INTERVAL_SECONDS="5") as stack:
        await stack.register("invoice-contract-check")
        stack.emulator.set_faults(hang_input_names={"package.pdf"}, retry_after=0)
        job_id = await stack.submit(
            AGENTIC_FILES, {"analyzerId": "invoice-contract-check", "mode": "agentic"}
        )
        async with asyncio.timeout(30):  # the package is being analysed and its monitor has polled
            while not [m for m in await children(stack, job_id) if m["customStatus"]]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

        canceled = await stack.http.delete(f"/api/analyses/{job_id}")
        status = await stack.wait(job_id, within=4)  # well before the monitor's 5 s timer

        assert canceled.status_code == 202, canceled.text
        assert status["status"] == "canceled", status
        assert started(stack) == 1
        (monitor,) = await children(stack, job_id)
        assert monitor["output"]["status"] == "Canceled"
        assert status["summary"]["resultBlob"] is None
        result = await stack.http.get(f"/api/analyses/{job_id}/result")
        assert (result.status_code, result.json()["jobStatus"]) == (409, "canceled")
        assert not [
            n for n in await stack.blob_names(stack.settings["GRANTS_CONTAINER"]) if n.startswith(job_id)
        ]
