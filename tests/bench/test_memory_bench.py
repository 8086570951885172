"""The memory benchmark's harness, run small: devhost as a process runs each job and it reports.

Not a memory test (the numbers are the benchmark's business): it keeps the harness from rotting
silently, with one and two staged documents and an emulated analysis of 50 ms.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cu_emulator_process import EmulatedService, running_emulator_process
from bench.memory_bench import MemoryConfig, format_table, run_memory_benchmark, write_results
from tests.support.azurite import Azurite

pytestmark = pytest.mark.integration


async def test_the_harness_measures_devhost_for_every_count(azurite: Azurite, tmp_path: Path) -> None:
    config = MemoryConfig(
        counts=(1, 2),
        service=EmulatedService(analysis_seconds=0.05, latency_ms=0, retry_after=0.05),
        poll_initial_seconds=0.1,
        poll_max_seconds=0.2,
        status_poll_seconds=0.05,
        job_timeout_seconds=60,
    )
    with running_emulator_process("memory-harness-key") as emulator:
        rows = await run_memory_benchmark(config, azurite.connection_string, emulator, tmp_path)

    assert [row.count for row in rows] == [1, 2]
    for row in rows:
        assert (row.job_status, row.succeeded, row.failed) == ("succeeded", row.count, 0), row
        # devhost's own process was measured: a Python process with the app loaded, not nothing.
        assert row.baseline_rss_mb > 20, row
        assert row.peak_rss_mb >= row.baseline_rss_mb, row
        assert row.wall_seconds > 0, row
        assert row.cpu_seconds >= 0, row
    assert rows[0].ratio_to_first == 1.0

    assert "| 2 |" in format_table(rows)
    written = json.loads(write_results(config, rows, tmp_path / "memory.json").read_text(encoding="utf-8"))
    assert [row["count"] for row in written["rows"]] == [1, 2]
    assert {"count", "peak_rss_mb", "baseline_rss_mb", "wall_seconds"} <= set(written["rows"][0])
