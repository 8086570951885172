"""The pipeline benchmark's harness, run small: every design processes every document, and it reports.

Not a timing test (timings are the benchmark's business): it keeps the harness from rotting
silently, with two documents and an emulated analysis of 50 ms.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cu_emulator_process import EmulatedService, running_emulator_process
from bench.pipeline_bench import DESIGNS, BenchConfig, format_table, run_benchmark, write_results
from tests.support.azurite import Azurite

pytestmark = pytest.mark.integration


async def test_the_harness_runs_every_design_and_reports_it(azurite: Azurite, tmp_path: Path) -> None:
    config = BenchConfig(
        counts=(1, 2),
        service=EmulatedService(analysis_seconds=0.05, latency_ms=0, retry_after=0.05),
        poll_initial_seconds=0.1,
        poll_max_seconds=0.2,
        status_poll_seconds=0.02,
        warm_up=False,
        job_timeout_seconds=30,
    )
    with running_emulator_process("harness-test-key") as emulator:
        result = await run_benchmark(config, azurite.connection_string, emulator, tmp_path)

    assert [(row.count, row.design) for row in result.rows] == [(n, d) for n in (1, 2) for d in DESIGNS]
    for row in result.rows:
        assert row.wall_seconds > 0, row
        assert (row.succeeded, row.failed) == (row.count, 0), row.details
        assert 0 < (row.first_done_seconds or 0) <= row.wall_seconds, row
        # Every operation was polled at least once, and the counts came from the emulator.
        assert (row.polls_per_operation or 0) >= 1, row
        assert 0 < (row.all_polled_seconds or 0) < row.wall_seconds, row
        assert (row.ratio_to_one_document or 0) > 0, row
    durable = [row for row in result.rows if row.design == "durable"]
    assert all(row.first_progress_seconds is not None for row in durable)
    assert set(result.durable_over_gather) == {1, 2}

    table = format_table(result)
    assert all(f"| 2 | {design} |" in table for design in DESIGNS)
    written = json.loads(write_results(result, tmp_path / "result.json").read_text(encoding="utf-8"))
    assert len(written["rows"]) == 6
    assert written["config"]["service"] == {"analysisSeconds": 0.05, "latencyMs": 0, "retryAfter": 0.05}
