"""A request checks its sources a few at a time (real asyncio tasks, counted while they wait)."""

from __future__ import annotations

from typing import Any

import pytest

import inputs.sources as sources
from tests.support.gauge import Gauge


class CountingKind:
    """A source kind (the plug-in interface of ``inputs/sources``) whose check only waits."""

    key = "counted"
    request_model = None
    required_fields: frozenset[str] = frozenset()

    def __init__(self, gauge: Gauge) -> None:
        self.gauge = gauge

    async def check_available(self, source: Any) -> None:
        await self.gauge.hold()


async def test_a_request_checks_its_sources_a_few_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    gauge = Gauge()
    monkeypatch.setitem(sources._BY_KEY, "counted", CountingKind(gauge))

    await sources.check_available([{"counted": str(n)} for n in range(100)])

    assert gauge.calls == 100
    assert gauge.most == sources.CHECK_CONCURRENCY
