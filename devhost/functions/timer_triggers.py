"""Timer triggers: run each timer function on its NCRONTAB schedule, against the host's clock.

As the Functions host does: the schedule (``%SETTING%`` resolved) is checked when the app loads,
so a bad one fails the start; each function runs at every occurrence, never twice at once (a run
that overlaps the next occurrence delays it; missed occurrences fire once, with ``IsPastDue``);
``runOnStartup`` runs it once when the host starts; the function gets a ``func.TimerRequest``
decoded from the host's ``TimerInfo`` JSON (``Schedule``, ``ScheduleStatus`` with ``Last``,
``Next``, ``LastUpdated``, ``IsPastDue``). A failing run is logged and the schedule goes on.

Time comes from the host's clock: with a ``VirtualClock`` a test moves time (``advance``/``set``)
past an occurrence and the function runs; the virtual clock's idle auto-advance never jumps to a
timer trigger's occurrence by itself (only to durable timers). ``POST /admin/functions/{name}``
runs a timer function now, as the host's admin API does (master key with ``--enforce-keys``).

Not reproduced: the schedule monitor's status blobs (``useMonitor``), so occurrences missed
while devhost was stopped are not caught up after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

from azure.functions import meta
from azure.functions.timer import TimerRequestConverter

from devhost.durable.clock import Clock
from devhost.functions.app_loader import TIMER_TRIGGER, FunctionInfo, LoadedApp
from devhost.functions.invoke import Invoker
from devhost.functions.ncrontab import Schedule, ScheduleError

log = logging.getLogger("devhost")

# A run later than this after its occurrence is "past due".
PAST_DUE_AFTER = timedelta(seconds=5)
_SETTING = re.compile(r"%([^%]+)%")


def resolve_schedule(text: str, environ: Mapping[str, str]) -> Schedule:
    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise ScheduleError(f"The timer schedule names the app setting '{name}', which is not set.")
        return environ[name]

    return Schedule.parse(_SETTING.sub(setting, text))


class TimerTriggers:
    def __init__(self, app: LoadedApp, invoker: Invoker, clock: Clock) -> None:
        self._invoker = invoker
        self._clock = clock
        self.functions: dict[str, FunctionInfo] = {f.name: f for f in app.by_trigger(TIMER_TRIGGER)}
        self.schedules = {
            name: resolve_schedule(str(f.trigger["schedule"]), os.environ)
            for name, f in self.functions.items()
        }
        self.runs: Counter[str] = Counter()
        self._locks = {name: asyncio.Lock() for name in self.functions}
        self._ran = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for name in self.functions:
            self._tasks.append(asyncio.create_task(self._run_on_schedule(name), name=f"devhost-timer {name}"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def run_now(self, name: str) -> None:
        """Run a timer function now (the admin API's manual run)."""
        now = self._clock.now()
        await self._fire(name, last=None, occurrence=now, now=now)

    def run_soon(self, name: str) -> None:
        """Start a manual run without waiting for it (the admin API answers 202 first)."""
        task = asyncio.create_task(self.run_now(name), name=f"devhost-timer-manual {name}")
        self._tasks.append(task)

    async def wait_for_runs(self, name: str, count: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until the function has run (finished) at least ``count`` times in all."""
        async with self._ran:
            await asyncio.wait_for(self._ran.wait_for(lambda: self.runs[name] >= count), timeout)

    async def _run_on_schedule(self, name: str) -> None:
        schedule = self.schedules[name]
        if self.functions[name].trigger.get("runOnStartup"):
            await self.run_now(name)
        last: datetime | None = None
        due = schedule.next_after(self._clock.now())
        wake = asyncio.Event()
        while True:
            now = self._clock.now()
            if now < due:
                wake.clear()
                # idle=False: a virtual clock moves past a timer trigger only when told to.
                await self._clock.wait(due, wake, idle=False)
                continue
            await self._fire(name, last=last, occurrence=due, now=now)
            last, due = due, schedule.next_after(max(due, self._clock.now()))

    async def _fire(self, name: str, *, last: datetime | None, occurrence: datetime, now: datetime) -> None:
        function = self.functions[name]
        schedule = self.schedules[name]
        info = {
            "Schedule": {"AdjustForDST": True},
            "ScheduleStatus": {
                "Last": _iso(last or datetime.min.replace(tzinfo=occurrence.tzinfo)),
                "Next": _iso(schedule.next_after(occurrence)),
                "LastUpdated": _iso(now),
            },
            "IsPastDue": now - occurrence > PAST_DUE_AFTER,
        }
        request = TimerRequestConverter.decode(
            meta.Datum(type="json", value=json.dumps(info)), trigger_metadata=None
        )
        async with self._locks[name]:
            log.info("Executing 'Functions.%s' (Reason='Timer fired at %s')", name, _iso(now))
            try:
                await self._invoker.call(function, request)
            except Exception:
                log.exception("Executed 'Functions.%s' (Failed)", name)
            else:
                log.info("Executed 'Functions.%s' (Succeeded)", name)
        async with self._ran:
            self.runs[name] += 1
            self._ran.notify_all()


def _iso(moment: datetime) -> str:
    return moment.isoformat()
