"""The load benchmark's harness, run small: both designs, repeated in turn, paired and reported.

Not a timing test: it keeps the harness honest (devhost as a process, every job through the HTTP
API, each repetition's ratio from the two designs run back to back, the median over them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.load_bench import LoadRow, main, ratios

pytestmark = pytest.mark.integration


def load_row(design: str, repeat: int, jobs_per_minute: float) -> LoadRow:
    return LoadRow("2x1", design, 2, 1, jobs_per_minute, 1.0, 1.0, 1.0, 1.0, 2, repeat=repeat)


def test_the_ratio_is_the_median_of_the_paired_runs() -> None:
    rows = [
        load_row("gather", 0, 100.0),
        load_row("durable", 0, 70.0),
        load_row("durable", 1, 110.0),
        load_row("gather", 1, 100.0),
        load_row("gather", 2, 50.0),
        load_row("durable", 2, 45.0),
    ]

    assert ratios(rows)["2x1"]["jobsPerMinute"] == 0.9  # of 0.7, 1.1 and 0.9


def test_the_harness_runs_both_designs_in_turn(tmp_path: Path) -> None:
    output = tmp_path / "load.json"

    kept = tmp_path / "kept"
    arguments = ["--scenarios", "2x1", "--repeat", "2", "--analysis-seconds", "0.05"]

    code = main([*arguments, "--output", str(output), "--keep", str(kept)])

    result = json.loads(output.read_text())
    assert code == 0
    assert [(row["design"], row["repeat"]) for row in result["rows"]] == [
        ("gather", 0),
        ("durable", 0),
        ("durable", 1),
        ("gather", 1),
    ]
    assert all(row["succeeded_jobs"] == 2 and row["cpu_seconds"] > 0 for row in result["rows"])
    assert len(result["durableOverGatherRuns"]["2x1"]) == 2
    assert result["durableOverGather"]["2x1"]["jobsPerMinute"] > 0
    assert "Functions.start_analysis" in (kept / "devhost.log").read_text()  # kept, to look into
