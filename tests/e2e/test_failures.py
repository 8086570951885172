"""Jobs when things go wrong: lost inputs, both partial-failure policies, faults, deadlines, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from core.jobs import batch_instance_id
from devhost import VirtualClock
from orchestrators.analysis_batch import ROUNDS_PER_EXECUTION
from tests.e2e.conftest import AppStack, sample
from tests.support.loopback import file_server

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

THREE = [
    ("files", name, sample(name))
    for name in ("invoice-contoso.txt", "invoice-fabrikam.pdf", "invoice-litware.md")
]


def fates(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {fate["name"]: fate for fate in status["summary"]["inputs"]}


async def test_continue_policy_reports_each_input(stack: AppStack) -> None:
    stack.emulator.set_faults(fail_input_names={"invoice-fabrikam.pdf"})
    job_id = await stack.submit(THREE)  # per-document: partialFailure defaults to "continue"

    status = await stack.wait(job_id)

    assert status["status"] == "partially_succeeded", status
    by_name = fates(status)
    assert by_name["invoice-fabrikam.pdf"]["status"] == "failed"
    assert by_name["invoice-fabrikam.pdf"]["error"]["code"] == "InternalServerError"
    assert {by_name[n]["status"] for n in ("invoice-contoso.txt", "invoice-litware.md")} == {"succeeded"}
    assert status["progress"]["done"] == 2
    assert status["progress"]["failed"] == 1
    result = (await stack.http.get(f"/api/analyses/{job_id}/result")).json()
    statuses = {entry["inputs"][0]: entry["status"] for entry in result["results"]}
    assert statuses == {
        "invoice-contoso.txt": "succeeded",
        "invoice-fabrikam.pdf": "failed",
        "invoice-litware.md": "succeeded",
    }


async def test_fail_policy_stops_before_analysis_when_an_input_is_lost(stack: AppStack) -> None:
    async with file_server() as files:
        response = await stack.http.post(
            "/api/analyses",
            json={
                "inputs": [
                    {"url": files.url("files/missing.pdf")},
                    {"url": files.url("files/also-missing.txt")},
                ],
                "partialFailure": "fail",
            },
        )
        # One input that exists would be analysed under "continue"; under "fail" nothing is.
        assert response.status_code == 202, response.text
        status = await stack.wait(response.json()["id"])

    assert status["status"] == "failed"
    assert status["error"]["code"] == "InputFailed"
    assert {fate["status"] for fate in status["summary"]["inputs"]} == {"failed"}
    assert "404" in status["summary"]["inputs"][0]["error"]["message"]
    assert stack.emulator.stats()["analysesStarted"] == {}


async def test_fail_policy_skips_the_inputs_that_made_it(stack: AppStack) -> None:
    async with file_server() as files:
        files.files["ok.txt"] = sample("invoice-contoso.txt")
        response = await stack.http.post(
            "/api/analyses",
            json={
                "inputs": [{"url": files.url("files/ok.txt")}, {"url": files.url("files/gone.txt")}],
                "partialFailure": "fail",
            },
        )
        status = await stack.wait(response.json()["id"])

    assert status["status"] == "failed"
    assert [fate["status"] for fate in status["summary"]["inputs"]] == ["skipped", "failed"]
    assert stack.emulator.stats()["analysesStarted"] == {}


async def test_injected_429s_and_5xx_are_survived(stack: AppStack) -> None:
    stack.emulator.set_faults(rate_429=0.25, rate_5xx=0.2, retry_after=0.05)
    await stack.register("invoice-fields")
    job_id = await stack.submit(THREE, {"analyzerId": "invoice-fields"})

    status = await stack.wait(job_id, within=60)

    assert status["status"] == "succeeded", status
    stats = stack.emulator.stats()
    assert sum(stats["faultsServed"].values()) > 0, stats["faultsServed"]
    assert stats["analysesStarted"]["invoice-fields"] == 3  # retries never started an analysis twice


async def test_an_operation_that_never_ends_fails_at_the_deadline(start_stack: Callable[..., Any]) -> None:
    async with start_stack(ANALYSIS_DEADLINE_SECONDS="1.5") as stack:
        stack.emulator.set_faults(hang_input_names={"invoice-litware.md"})
        job_id = await stack.submit(THREE)
        status = await stack.wait(job_id)

    assert status["status"] == "partially_succeeded"
    stuck = fates(status)["invoice-litware.md"]
    assert stuck["status"] == "failed"
    assert stuck["error"]["code"] == "DeadlineExceeded"
    assert "ANALYSIS_DEADLINE_SECONDS" in stuck["error"]["message"]
    operations = {op["key"]: op["status"] for op in status["summary"]["operations"]}
    assert sorted(operations.values()) == ["Succeeded", "Succeeded", "TimedOut"]


async def test_cancel_a_running_job(stack: AppStack) -> None:
    stack.emulator.set_faults(hang_input_names={"invoice-contoso.txt"})
    job_id = await stack.submit(THREE[:1])
    async with asyncio.timeout(10):
        while (await stack.http.get(f"/api/analyses/{job_id}")).json()["stage"] != "analyzing":  # noqa: ASYNC110 - polling the API
            await asyncio.sleep(0.05)

    async with asyncio.timeout(10):  # the batch's polls show in the job's progress
        while not (await stack.http.get(f"/api/analyses/{job_id}")).json()["progress"].get("polls"):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    progress = (await stack.http.get(f"/api/analyses/{job_id}")).json()["progress"]
    assert progress["polls"] >= 1
    assert progress["nextPollAt"].endswith("Z")

    canceled = await stack.http.delete(f"/api/analyses/{job_id}")
    status = await stack.wait(job_id)
    again = await stack.http.delete(f"/api/analyses/{job_id}")

    assert canceled.status_code == 202
    assert status["status"] == "canceled"
    assert status["error"]["code"] == "JobCanceled"
    assert again.status_code == 409
    assert again.headers["Content-Type"].startswith("application/problem+json")
    assert not [name for name in await stack.blob_names("grants") if name.startswith(f"{job_id}/")]
    result = await stack.http.get(f"/api/analyses/{job_id}/result")
    assert result.status_code == 409


async def test_a_long_wait_continues_as_new_and_keeps_history_short(start_stack: Callable[..., Any]) -> None:
    # Virtual time: the monitor's timers fire at once, so 20 minutes of polling take a few seconds.
    # Batches of one document, so that the hanging one is in a batch of its own (a job of one batch
    # runs it inline, without continue-as-new).
    async with start_stack(
        clock=VirtualClock(),
        ANALYSIS_DEADLINE_SECONDS="1200",
        POLL_MAX_INTERVAL_SECONDS="15",
        JOB_BATCH_SIZE="1",
    ) as stack:
        # No Retry-After from the service: the batch's own backoff (doubling up to 15 s) applies.
        stack.emulator.set_faults(hang_input_names={"a.txt"}, retry_after=0)
        files = [
            ("files", "a.txt", sample("invoice-contoso.txt")),
            ("files", "b.txt", sample("invoice-contoso.txt")),
        ]
        job_id = await stack.submit(files)
        async with asyncio.timeout(60):  # seldom checks: virtual time moves while devhost is idle
            while stack.host.status(job_id)["runtimeStatus"] in ("Pending", "Running"):  # noqa: ASYNC110
                await asyncio.sleep(0.5)
        status = await stack.wait(job_id)
        batch_history = stack.host.history(batch_instance_id(job_id, 0))

    assert status["status"] == "partially_succeeded"
    assert status["summary"]["inputs"][0]["error"]["code"] == "DeadlineExceeded"
    polls = max(operation["count"] for operation in stack.emulator.stats()["polls"].values())
    assert polls > ROUNDS_PER_EXECUTION  # 0.1 s doubling to 15 s, then every 15 s for 20 minutes: ~88
    # The batch restarted itself with continue_as_new: its last execution holds less than one
    # execution's worth of poll rounds (an activity and a timer each, and two episodes: 8 events).
    assert batch_history, "the batch's history was not found"
    assert len(batch_history) < 8 * ROUNDS_PER_EXECUTION
