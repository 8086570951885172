"""The devhost benchmark runs end to end (small sizes; the figures themselves are in docs/devhost.md)."""

from __future__ import annotations

import sys

import pytest

from bench import devhost_bench


async def test_the_benchmark_runs_and_reports(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    await devhost_bench.run(quick=True)
    report = capsys.readouterr().out
    assert "fan-out of 100 no-op activities (sync)" in report
    assert "10 orchestrations x 5 chained activities" in report
    assert "replay work against fan-out width" in report
    assert "cost of one episode against history length" in report
