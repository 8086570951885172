"""Outages during a job: storage or CU down for a while is ridden out; storage down for longer than
the analysis deadline ends the job with a clear error, never a hang. An outage is a fault proxy
closing its port and every open connection."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import sample
from tests.reliability.conftest import KillStack
from tests.reliability.test_kill_9 import INVOICES, OPERATION_RECORD
from tests.support.fault_proxy import FaultProxy

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

THREE = [("files", name, sample(name)) for name in INVOICES]


async def down_at(
    proxy: FaultProxy, method: str, path: str, *, body: bytes | None = None, count: int = 1
) -> None:
    """Take ``proxy`` down once ``count`` requests matching ``method``/``path``/``body`` arrived.

    The requests that triggered the outage are cut off with every other open connection.
    """
    hold = proxy.hold(method, path, body)
    async with asyncio.timeout(30):
        while len(hold.paths) < count:  # noqa: ASYNC110 - the requests come from another process
            await asyncio.sleep(0.02)
    await proxy.go_down()  # first: nothing may slip through between the release and the outage
    hold.release(forward=False)


async def outage_at(
    proxy: FaultProxy,
    method: str,
    path: str,
    seconds: float,
    *,
    body: bytes | None = None,
    count: int = 1,
) -> None:
    """Like ``down_at``; the proxy comes back ``seconds`` later."""
    await down_at(proxy, method, path, body=body, count=count)
    await asyncio.sleep(seconds)
    await proxy.come_up()


async def failed_polls(stack: KillStack) -> int:
    """How many polls of an operation failed, over every job's and batch's history (a job of one
    batch runs it in its own orchestration)."""
    listed = await stack.http.get("/runtime/webhooks/durabletask/instances")
    failed = 0
    for instance in listed.json():
        if instance["name"] not in ("analysis_job", "analysis_batch"):
            continue
        instance_id = instance["instanceId"]
        query = "showHistory=true&showHistoryOutput=true"
        path = f"/runtime/webhooks/durabletask/instances/{instance_id}?{query}"
        history = (await stack.http.get(path)).json()["historyEvents"]
        for event in history:
            if event["EventType"] == "TaskCompleted" and event.get("FunctionName") == "poll_operations":
                failed += json.dumps(event.get("Result")).count("pollError")
    return failed


async def test_storage_and_cu_outages_during_a_job_are_ridden_out(stack: KillStack) -> None:
    job_id = await stack.submit(THREE, {"analyzerId": "prebuilt-document"})

    # CU is down for longer than the CU client's own retries (about 6 s) from the job's first poll:
    # the polls fail, later ones succeed.
    cu_outage = asyncio.create_task(outage_at(stack.cu_proxy, "GET", r"/analyzerResults/", 7))
    # CU accepted every analysis (and read its input), and storage is down for longer than the
    # storage client's own retries (about 8 s): writing the records fails, yet the activities must
    # not fail (a retry would analyse the documents again).
    await outage_at(
        stack.proxy, "PUT", r"/operation-\d+\.started\.json$", 10, body=OPERATION_RECORD, count=len(INVOICES)
    )
    poll_errors: set[str] = set()
    while not cu_outage.done():  # what the status API says meanwhile
        progress = (await stack.status(job_id))["progress"]
        if "pollError" in progress:
            poll_errors.add(progress["pollError"])
        await asyncio.sleep(0.05)
    await cu_outage
    up_again = time.monotonic()
    status = await stack.wait(job_id)
    up_again_to_end = time.monotonic() - up_again

    assert status["status"] == "succeeded", status
    assert stack.analyses_started() == {"prebuilt-document": 3}
    assert not any("analysisAttempts" in fate for fate in status["summary"]["inputs"])
    assert "but its record was not written" in stack.log_text()
    assert await failed_polls(stack) > 0
    assert poll_errors, "the status API never showed the failing polls"
    assert all("analyzerResults" in error and "ConnectError" in error for error in poll_errors), poll_errors
    by_input = {entry["inputs"][0]: entry for entry in (await stack.result(job_id))["results"]}
    assert "FAB-2044" in by_input["invoice-fabrikam.pdf"]["result"]["contents"][0]["markdown"]
    assert await stack.blob_names(stack.settings["GRANTS_CONTAINER"], prefix=f"{job_id}/") == []
    print(f"\noutages: the job finished {up_again_to_end:.2f} s after the last one")


async def test_an_outage_longer_than_the_deadline_fails_the_inputs_clearly(
    start_kill_stack: Callable[..., Any],
) -> None:
    async with start_kill_stack(ANALYSIS_DEADLINE_SECONDS="2") as stack:
        job_id = await stack.submit(THREE, {"analyzerId": "prebuilt-document"})

        # Down as the first finished analysis is saved: CU finishes them all, no result can be saved.
        await down_at(stack.proxy, "PUT", r"/operation-\d+\.json$")
        started = time.monotonic()

        # Meanwhile the API answers: status from the task hub, a prompt 503 for what needs storage.
        status = await stack.status(job_id)
        assert status["status"] == "running"
        definition = {"baseAnalyzerId": "prebuilt-document", "fieldSchema": {"fields": {}}}
        responses = await asyncio.gather(
            stack.http.post("/api/analyses", files=[("files", ("a.txt", b"Invoice"))]),
            stack.http.put("/api/analyzers/during-outage", json=definition),
            stack.http.get("/api/analyzers/invoice-fields"),
        )
        for response in responses:
            assert response.status_code == 503, response.text
            assert response.headers["Content-Type"].startswith("application/problem+json")
            assert response.headers["Retry-After"] == "10"
            assert response.json()["code"] == "StorageUnavailable"
            assert "storage did not answer" in response.json()["detail"]
        assert time.monotonic() - started < 30  # the storage client's own retries, not a hang

        async def inputs_given_up() -> bool:
            progress = (await stack.status(job_id))["progress"]
            return bool(progress.get("failed") == len(INVOICES))

        await stack.until(inputs_given_up, within=40)
        await stack.proxy.come_up()
        status = await stack.wait(job_id)

    assert status["status"] == "failed", status
    for fate in status["summary"]["inputs"]:
        assert fate["status"] == "failed"
        assert fate["error"]["code"] == "DeadlineExceeded"
        assert "could not be polled until the deadline of 2 s" in fate["error"]["message"]
        assert "storage did not answer" in fate["error"]["message"]
    assert stack.analyses_started() == {"prebuilt-document": 3}
