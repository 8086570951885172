"""Pacing against the CU resource's quota, for real: the emulator refuses calls beyond its quota
with 429, and a job paced to the same quota meets none (core/pacing.py, storage/pacing.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from storage.pacing import ledger_state
from tests.e2e.conftest import AppStack, sample

FILES = ["invoice-contoso.txt", "invoice-fabrikam.pdf", "invoice-litware.md"] * 2


async def set_quota(stack: AppStack, operations_per_minute: int) -> None:
    async with httpx.AsyncClient(
        base_url=stack.emulator.endpoint, headers={"Ocp-Apim-Subscription-Key": stack.emulator.key}
    ) as http:
        response = await http.post("/_emulator/quotas", json={"operationsPerMinute": operations_per_minute})
        response.raise_for_status()


async def quota_counts(stack: AppStack) -> dict[str, Any]:
    async with httpx.AsyncClient(
        base_url=stack.emulator.endpoint, headers={"Ocp-Apim-Subscription-Key": stack.emulator.key}
    ) as http:
        counts: dict[str, Any] = (await http.get("/_emulator/quotas")).json()
        await http.post("/_emulator/quotas", json={"operationsPerMinute": 0})
        return counts


async def test_a_job_paced_to_the_quota_meets_no_429(start_stack: Callable[..., Any]) -> None:
    # 240 calls a minute: 3.8 a second for the app. Six documents cost 6 analyses and 6+ polls.
    async with start_stack(CU_OPERATIONS_PER_MINUTE="240") as stack:
        await set_quota(stack, 240)
        job_id = await stack.submit([("files", f"{n}-{name}", sample(name)) for n, name in enumerate(FILES)])
        status = await stack.wait(job_id, within=60)
        counts = await quota_counts(stack)
        ledger = await ledger_state(stack.emulator.endpoint)

    assert status["status"] == "succeeded", status
    assert counts["refused"] == 0, counts
    assert counts["counted"] >= 12
    assert ledger is not None
    assert ledger["throttled"] == 0
    # Every call of the job took a slot: no second held more than its share of the quota.
    assert all(int(slot["ops"]) <= 4 for slot in ledger["slots"].values())


async def test_a_429_slows_every_job_down(start_stack: Callable[..., Any]) -> None:
    # The resource's real quota is lower than the app was told: CU says so with 429s, which the
    # CU client rides out (Retry-After), and the pacer records them for every job.
    async with start_stack(CU_OPERATIONS_PER_MINUTE="3000") as stack:
        await set_quota(stack, 2)
        await stack.submit([("files", name, sample(name)) for name in FILES[:3]])
        ledger: dict[str, Any] | None = None
        async with asyncio.timeout(30):
            while ledger is None or not ledger["throttled"]:
                await asyncio.sleep(0.2)
                ledger = await ledger_state(stack.emulator.endpoint)
        counts = await quota_counts(stack)

    assert counts["refused"] > 0
    assert ledger["factor"] < 1.0
    assert ledger["slowUntil"] > 0  # nobody calls CU before the Retry-After has passed
