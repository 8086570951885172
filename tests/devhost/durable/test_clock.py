"""The virtual clock: idle waits jump to the due time, busy ones wait until time is moved."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from devhost import VirtualClock


async def test_virtual_clock() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    clock = VirtualClock(start)
    wake = asyncio.Event()
    await clock.wait(start + timedelta(days=7), wake, idle=True)  # idle: jumps at once
    assert clock.now() == start + timedelta(days=7)

    busy = asyncio.create_task(clock.wait(start + timedelta(days=8), wake, idle=False))
    await asyncio.sleep(0.01)
    assert not busy.done()  # busy: time only moves when told
    clock.advance(timedelta(hours=1))
    await asyncio.wait_for(busy, 1)
    assert clock.now() == start + timedelta(days=7, hours=1)
    with pytest.raises(ValueError, match="cannot go backward"):
        clock.set(start)
    with pytest.raises(ValueError, match="must be timezone-aware"):
        VirtualClock(datetime(2025, 1, 1))
