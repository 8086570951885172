"""A counter of concurrent calls, for tests of bounded fan-outs."""

from __future__ import annotations

import asyncio


class Gauge:
    """Counts the calls in flight and remembers the most at once."""

    def __init__(self) -> None:
        self.now = self.most = self.calls = 0

    async def hold(self) -> None:
        self.now += 1
        self.calls += 1
        self.most = max(self.most, self.now)
        await asyncio.sleep(0.001)
        self.now -= 1
