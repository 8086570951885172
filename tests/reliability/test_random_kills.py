"""kill -9 at random moments (opt-in: ``RANDOM_KILL_RUNS=20 make test PYTEST_ARGS=tests/reliability``).

Each run starts a per-document job (three documents) and an agentic job with a reference,
then kills devhost after random delays and restarts it, until both jobs end. What must hold
whatever the moments: both jobs succeed, the analyzer is created once, and every analysis beyond
one per input is reported in the summary (``analysisAttempts``; see activities/cu_steps.py).
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

import pytest

from tests.e2e.conftest import sample
from tests.reliability.conftest import KillStack
from tests.reliability.test_kill_9 import INVOICES

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

RUNS = int(os.environ.get("RANDOM_KILL_RUNS", "0"))
MAX_KILLS = 8
MAX_DELAY_SECONDS = 0.8  # most of both jobs happens within the first seconds


def reported_extra(status: dict[str, Any]) -> int:
    """Analyses the summary admits to beyond one per operation (an upper bound: see the module)."""
    extra = {fate["operationId"]: fate.get("analysisAttempts", 1) - 1 for fate in status["summary"]["inputs"]}
    return sum(extra.values())


async def running(stack: KillStack, job_id: str) -> bool:
    return (await stack.status(job_id))["status"] in ("pending", "running")


@pytest.mark.skipif(RUNS == 0, reason="opt-in: set RANDOM_KILL_RUNS to the number of runs")
@pytest.mark.parametrize("seed", range(RUNS))
async def test_jobs_survive_kill_9_at_random_moments(stack: KillStack, seed: int) -> None:
    chance = random.Random(seed)
    await stack.register("invoice-contract-check")
    per_document = await stack.submit(
        [("files", name, sample(name)) for name in INVOICES], {"analyzerId": "prebuilt-document"}
    )
    agentic = await stack.submit(
        [
            ("files", "invoice-contoso-msa.pdf", sample("invoice-contoso-msa.pdf")),
            ("references", "contract-msa-77.pdf", sample("contract-msa-77.pdf")),
        ],
        {"analyzerId": "invoice-contract-check", "mode": "agentic"},
    )
    for _ in range(MAX_KILLS):
        await asyncio.sleep(chance.uniform(0, MAX_DELAY_SECONDS))
        if not (await running(stack, per_document) or await running(stack, agentic)):
            break
        await stack.devhost.restart_after_kill()
    first = await stack.wait(per_document, within=60)
    second = await stack.wait(agentic, within=60)

    assert (first["status"], second["status"]) == ("succeeded", "succeeded"), (first, second)
    started = stack.analyses_started()
    assert len(INVOICES) <= started["prebuilt-document"] <= len(INVOICES) + reported_extra(first)
    assert 1 <= started["invoice-contract-check"] <= 1 + reported_extra(second)
    assert stack.emulator.stats()["analyzersCreated"] == {"invoice-contract-check": 1}
    print(
        f"\nrandom kills, seed {seed}: {stack.devhost.kills} kills, analyses started {started}, "
        f"reported extra {reported_extra(first) + reported_extra(second)}"
    )
