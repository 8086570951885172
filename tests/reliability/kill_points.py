"""Kill points: where to kill -9 devhost, and a runner that kills at each one in turn, then restarts.

A kill point is either a storage request parked at the fault proxy (an exact point: "the activity
is writing X right now") or a condition on what the test can observe (status API, emulator,
storage). The runner arms each point while devhost is down, starts it, waits for the point,
kills it, and moves on to the next; after the last point it starts devhost for good.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from tests.reliability.conftest import KillStack

WhileDown = Callable[[KillStack], Awaitable[None]]


@dataclass(frozen=True)
class Armed:
    """A kill point made ready: ``reached()`` says when to kill, ``after_kill()`` runs once it is dead."""

    reached: Callable[[], Awaitable[bool]]
    after_kill: Callable[[], None]


async def _nothing(stack: KillStack) -> None:
    return None


@dataclass(frozen=True)
class AtRequest:
    """Kill while ``count`` requests matching ``method``, ``path`` (and ``body``) are parked at the proxy.

    Afterwards the parked requests are forwarded (``forward=True``: the write lands although its
    writer is dead) or dropped (``forward=False``: the write never happened).
    """

    label: str
    method: str
    path: str
    forward: bool
    count: int = 1
    body: bytes | None = None
    while_down: WhileDown = _nothing  # what else happens before devhost is started again

    def arm(self, stack: KillStack) -> Armed:
        hold = stack.proxy.hold(self.method, self.path, self.body)

        async def reached() -> bool:
            return len(hold.paths) >= self.count

        return Armed(reached, lambda: hold.release(forward=self.forward))


@dataclass(frozen=True)
class When:
    """Kill as soon as ``condition(stack)`` holds."""

    label: str
    condition: Callable[[KillStack], Awaitable[bool]]
    while_down: WhileDown = _nothing

    def arm(self, stack: KillStack) -> Armed:
        return Armed(lambda: self.condition(stack), lambda: None)


KillPoint = AtRequest | When


@dataclass
class KillReport:
    kills: list[str] = field(default_factory=list)  # labels, in order
    job_seconds: float = 0.0  # the jobs' start to their end, kills and restarts included


async def run_with_kills(
    stack: KillStack,
    start_jobs: Callable[[], Awaitable[list[str]]],
    points: Sequence[KillPoint],
    *,
    within: float = 30.0,
) -> tuple[list[str], KillReport]:
    """Start the jobs, kill -9 devhost at every point in turn, restart it, wait for every job."""
    report = KillReport()
    job_ids: list[str] | None = None
    started = time.monotonic()
    for point in points:
        armed = point.arm(stack)  # while devhost is down (or before the jobs start)
        if job_ids is None:
            started = time.monotonic()
            job_ids = await start_jobs()
        else:
            await stack.devhost.start()
        try:
            await stack.until(armed.reached, within=within)
        except TimeoutError:
            raise AssertionError(f"kill point {point.label!r} was never reached") from None
        await stack.devhost.kill()
        armed.after_kill()
        await point.while_down(stack)
        report.kills.append(point.label)
    if job_ids is None:
        job_ids = await start_jobs()
    else:
        await stack.devhost.start()
    for job_id in job_ids:
        await stack.wait(job_id, within=within)
    report.job_seconds = time.monotonic() - started
    return job_ids, report
