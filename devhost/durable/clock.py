"""Clocks: the real one, and a virtual one that lets timer-heavy orchestrations finish at once.

The engine asks its clock for the time (history timestamps, timer due times, status times) and,
when it has nothing to do right now, calls `wait(due, wake, idle=...)`: return when `due` is
reached or `wake` is set. A `VirtualClock` with `auto_advance` jumps straight to `due` when the
host is idle (nothing running, nothing runnable), so a durable timer of a week costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current UTC time (timezone-aware)."""
        ...

    async def wait(self, due: datetime | None, wake: asyncio.Event, *, idle: bool) -> None:
        """Return when `due` has come (None: no deadline) or `wake` is set."""
        ...


class RealClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def wait(self, due: datetime | None, wake: asyncio.Event, *, idle: bool) -> None:
        timeout = None if due is None else max(0.0, (due - self.now()).total_seconds())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout)


class VirtualClock:
    """Time that moves only when told to, or, with `auto_advance`, when the host is idle.

    `auto_advance=True` (the default): whenever nothing is running or runnable, time jumps to the
    next timer, so timers fire immediately in wall-clock terms. `auto_advance=False`: time moves
    only through `advance()`/`set()`, for tests that need to act between two moments.
    """

    def __init__(self, start: datetime | None = None, *, auto_advance: bool = True) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("VirtualClock start must be timezone-aware (UTC)")
        self._now = (start or datetime.now(UTC)).astimezone(UTC)
        self.auto_advance = auto_advance
        self._waiters: set[asyncio.Event] = set()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move time forward by `delta` (never backward) and wake the host."""
        if delta < timedelta(0):
            raise ValueError(f"VirtualClock cannot go backward (advance by {delta})")
        self.set(self._now + delta)

    def set(self, when: datetime) -> None:
        """Move time forward to `when` and wake the host."""
        when = when.astimezone(UTC)
        if when < self._now:
            raise ValueError(f"VirtualClock cannot go backward (from {self._now} to {when})")
        self._now = when
        for waiter in self._waiters:
            waiter.set()

    async def wait(self, due: datetime | None, wake: asyncio.Event, *, idle: bool) -> None:
        if idle and self.auto_advance and due is not None:
            self._now = max(self._now, due)
            return
        self._waiters.add(wake)
        try:
            await wake.wait()
        finally:
            self._waiters.discard(wake)
