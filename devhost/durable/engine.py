"""The orchestration engine: a dispatcher that runs episodes and activities from the store.

One asyncio task loops: queue finished activities' results, start episodes for instances with
visible messages (one at a time per instance, at most maxConcurrentOrchestratorFunctions), start
queued activities (at most maxConcurrentActivityFunctions), then wait for something to finish or
for the next timer. Episodes run in a thread pool (the orchestrator is synchronous Python); every
database access stays on the event loop's thread, and the loop touches the database only when
something changed, so that replays in worker threads are not slowed down by it.

Completions are batched into episodes: results of activities that finish while their instance
replays wait in memory until it is done, and an instance with activities still running waits a
little (no longer than its last episode took) for more, so replay work stays linear in the width
of a fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from devhost.durable import wire
from devhost.durable.clock import Clock
from devhost.durable.episode import (
    EpisodePlan,
    Settlement,
    context_json,
    plan_episode,
    settle_episode,
    settle_without_orchestrator,
)
from devhost.durable.store import (
    EVENT,
    RESUME,
    SUSPEND,
    TERMINATE,
    Instance,
    InstanceQuery,
    NewMessage,
    Store,
    WorkItem,
)
from devhost.durable.wire import Event, RuntimeStatus
from devhost.errors import (
    InstanceExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    InvalidInstanceIdError,
    UnknownOrchestratorError,
    missing_function_message,
)
from devhost.functions.app_loader import ACTIVITY_TRIGGER, ORCHESTRATION_TRIGGER, LoadedApp
from devhost.functions.config import HostConfig
from devhost.functions.invoke import ActivityOutcome, Invoker

log = logging.getLogger("devhost")

# Completions for an instance whose activities are still running wait for its next episode at most
# this long (and no longer than its last episode took): replaying once per batch keeps replay work
# linear in a fan-out's width, as the Azure Storage provider's batched queue reads do.
MAX_BATCH_WINDOW_SECONDS = 0.1
# Finished activities' results are queued at the latest after this long, even mid-replay.
MAX_OUTBOX_SECONDS = 0.25
READY_BATCH = 500  # work items read from the store at a time

_FORBIDDEN_ID_CHARACTERS = set("/\\?#")


def validate_instance_id(instance_id: str) -> None:
    """The Durable extension's instance id rules (reference §2.10)."""
    if not instance_id.strip():
        raise InvalidInstanceIdError("Instance ID must not be empty or whitespace.")
    if len(instance_id) > 256:
        raise InvalidInstanceIdError(f"Instance ID '{instance_id[:32]}...' is longer than 256 characters.")
    if instance_id.startswith("@"):
        raise InvalidInstanceIdError(f"Instance ID '{instance_id}' must not start with '@'.")
    if any(c in _FORBIDDEN_ID_CHARACTERS or not c.isprintable() for c in instance_id):
        raise InvalidInstanceIdError(
            f"Instance ID {instance_id!r} contains a character that is not allowed ('/', '\\', '?', '#' "
            "or a control character)."
        )


@dataclass
class EngineStats:
    """Counters for tests and the benchmark."""

    episodes: int = 0
    activities: int = 0
    peak_episodes: int = 0
    peak_activities: int = 0
    events_replayed: int = 0  # history events handed to orchestrators, over every episode
    replay_cpu_seconds: float = 0.0  # CPU time of the orchestrator calls (the SDK's replays)


class Engine:
    def __init__(
        self,
        *,
        store: Store,
        app: LoadedApp,
        invoker: Invoker,
        clock: Clock,
        config: HostConfig,
        orchestrator_pool: ThreadPoolExecutor,
    ) -> None:
        self._store = store
        self._app = app
        self._invoker = invoker
        self._clock = clock
        self._config = config
        self._orchestrator_pool = orchestrator_pool
        self._wake = asyncio.Event()
        self._changed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._episodes: dict[str, asyncio.Task[None]] = {}  # by instance id
        self._activities: dict[int, asyncio.Task[None]] = {}  # by work item id
        self._outbox: list[tuple[int, NewMessage | None]] = []
        self._running_for: Counter[str] = Counter()  # running activities per instance
        self._pending_since: dict[str, float] = {}  # monotonic time of the first unprocessed completion
        self._episode_seconds: dict[str, float] = {}  # how long each instance's last episode took
        self._outbox_since = 0.0
        self._work_cursor = 0  # work items up to here are running or done (a restart runs them again)
        self._ready: deque[WorkItem] = deque()  # read from the store, not started yet
        self._more_work = True  # the store may hold work items beyond the cursor
        self._look_at_queue = True  # messages may be runnable
        self._next_due: float | None = None  # the next message that becomes visible later (a timer)
        self._held = False
        self._stopping = False
        self._dispatcher: asyncio.Task[None] | None = None
        self.stats = EngineStats()

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._dispatcher = asyncio.create_task(self._dispatch_loop(), name="devhost-dispatcher")

    async def stop(self) -> None:
        """Stop dispatching; running episodes finish, running activities are abandoned (they rerun)."""
        self._stopping = True
        self._wake.set()
        if self._dispatcher is not None:
            await self._dispatcher
        if self._episodes:
            await asyncio.wait(list(self._episodes.values()))
        activities = list(self._activities.values())
        for task in activities:
            task.cancel()
        await asyncio.gather(*activities, return_exceptions=True)
        self._flush_outbox(force=True)

    @contextlib.asynccontextmanager
    async def holding_orchestrations(self) -> AsyncIterator[None]:
        """Start no episode inside this block; messages queue up and then arrive together."""
        self._held = True
        try:
            yield
        finally:
            self._held = False
            self._queue_changed()

    # -- the management API ---------------------------------------------------------------------

    def start_new(self, name: str, instance_id: str | None, raw_input: str | None) -> str:
        function = self._app.find(ORCHESTRATION_TRIGGER, name)
        if function is None:
            known = ", ".join(f"'{f.name}'" for f in self._app.by_trigger(ORCHESTRATION_TRIGGER))
            raise UnknownOrchestratorError(
                f"{missing_function_message(name, 'orchestrator')} "
                f"Additional info: The following are the known orchestrator functions: {known}."
            )
        instance_id = uuid.uuid4().hex if instance_id is None else instance_id
        validate_instance_id(instance_id)
        existing = self._store.instance(instance_id)
        if existing is not None and not existing.runtime_status.is_terminal:
            raise InstanceExistsError(
                f"An Orchestration instance with the status {existing.runtime_status.value} already exists."
            )
        now = wire.to_epoch(self._clock.now())
        self._store.start_instance(Instance.pending(instance_id, function.name, raw_input, now), now)
        log.info(
            "%s: Function '%s (Orchestrator)' scheduled. Reason: NewInstance. State: Scheduled.",
            instance_id,
            name,
        )
        self._poke()
        return instance_id

    def raise_event(self, instance_id: str, event_name: str, raw_input: str | None) -> None:
        self._running_instance(instance_id)
        now = self._clock.now()
        event = wire.event_raised(now, event_name, raw_input)
        self._store.enqueue([NewMessage(instance_id, None, EVENT, event, wire.to_epoch(now))])
        self._poke()

    def terminate(self, instance_id: str, reason: str | None) -> None:
        self._control(instance_id, TERMINATE, reason)

    def suspend(self, instance_id: str, reason: str | None) -> None:
        self._control(instance_id, SUSPEND, reason)

    def resume(self, instance_id: str, reason: str | None) -> None:
        self._control(instance_id, RESUME, reason)

    def restart(self, instance_id: str, *, new_instance_id: bool) -> str:
        instance = self._store.instance(instance_id)
        if instance is None:
            raise InstanceNotFoundError(f"No instance with ID '{instance_id}' found.")
        return self.start_new(
            instance.name, uuid.uuid4().hex if new_instance_id else instance_id, instance.input
        )

    def purge(self, instance_id: str) -> int:
        """Delete a finished instance and its history (0 when unknown or still running)."""
        instance = self._store.instance(instance_id)
        if instance is None or not instance.runtime_status.is_terminal:
            return 0
        return self._store.purge([instance_id])

    def purge_where(self, query: InstanceQuery) -> int:
        finished = [i.instance_id for i in self._store.instances(query) if i.runtime_status.is_terminal]
        return self._store.purge(finished)

    def instance(self, instance_id: str) -> Instance | None:
        return self._store.instance(instance_id)

    def instances(self, query: InstanceQuery | None = None) -> list[Instance]:
        return self._store.instances(query or InstanceQuery())

    def history(self, instance_id: str) -> list[Event]:
        return self._store.history(instance_id)

    def queued(self, instance_id: str) -> int:
        """How many messages wait for this instance now (visible ones)."""
        return len(self._store.messages(instance_id, wire.to_epoch(self._clock.now())))

    async def wait_for(self, instance_id: str, timeout: float) -> Instance:  # noqa: ASYNC109 - public API
        """Wait until the instance is Completed, Failed, Terminated or Canceled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            instance = self._store.instance(instance_id)
            if instance is not None and instance.runtime_status.is_terminal:
                return instance
            remaining = deadline - loop.time()
            if remaining <= 0:
                state = "unknown" if instance is None else instance.runtime_status.value
                raise TimeoutError(f"instance {instance_id} is still {state} after {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._changed), remaining)

    def _running_instance(self, instance_id: str) -> Instance:
        instance = self._store.instance(instance_id)
        if instance is None:
            raise InstanceNotFoundError(f"No instance with ID '{instance_id}' found.")
        if instance.runtime_status.is_terminal:
            raise InstanceGoneError(
                f"The instance '{instance_id}' is {instance.runtime_status.value}: it no longer runs."
            )
        return instance

    def _control(self, instance_id: str, kind: str, reason: str | None) -> None:
        instance = self._running_instance(instance_id)
        if kind == SUSPEND and instance.runtime_status is RuntimeStatus.SUSPENDED:
            return  # already suspended: nothing to do (a resume when running is ignored later)
        now = wire.to_epoch(self._clock.now())
        self._store.enqueue([NewMessage(instance_id, None, kind, {"reason": reason}, now)])
        self._poke()

    def _poke(self) -> None:
        self._queue_changed()
        self._notify_change()

    def _notify_change(self) -> None:
        changed, self._changed = self._changed, asyncio.get_running_loop().create_future()
        changed.set_result(None)

    # -- the dispatcher -------------------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            self._flush_outbox(force=False)
            now = self._clock.now()
            started, batching_until = self._start_episodes(now)
            if started + self._start_activities():
                await asyncio.sleep(0)
                continue
            busy = bool(self._episodes or self._activities or self._outbox)
            blocked = self._held and bool(self._store.runnable_instances(wire.to_epoch(now)))
            due = self._next_due
            waiting = self._clock.wait(
                None if due is None else wire.from_epoch(due), self._wake, idle=not (busy or blocked)
            )
            if batching_until is None:
                await waiting
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiting, max(0.0, batching_until - time.monotonic()))

    def _queue_changed(self) -> None:
        """New messages may be runnable: look at the queue again on the next round."""
        self._look_at_queue = True
        self._wake.set()

    def _start_episodes(self, now: datetime) -> tuple[int, float | None]:
        """Start episodes; returns how many, and when the earliest batching instance may start."""
        now_epoch = wire.to_epoch(now)
        timer_due = self._next_due is not None and self._next_due <= now_epoch
        if not (self._look_at_queue or timer_due):
            return 0, None  # nothing new: spare the database (and the GIL) while episodes replay
        self._look_at_queue = False
        self._next_due = self._store.next_visible_time(now_epoch)
        if self._held or self._stopping:
            return 0, None  # releasing the hold looks again
        started, batching_until = 0, None
        for instance_id in self._store.runnable_instances(now_epoch):
            if len(self._episodes) >= self._config.max_concurrent_orchestrators:
                self._look_at_queue = True  # the rest when a slot frees up
                break
            if instance_id in self._episodes:
                continue
            deadline = self._batch_deadline(instance_id)
            if deadline is not None and deadline > time.monotonic():
                batching_until = min(deadline, batching_until or deadline)
                self._look_at_queue = True
                continue
            task = asyncio.create_task(self._run_episode(instance_id), name=f"episode {instance_id}")
            self._episodes[instance_id] = task
            started += 1
            self.stats.episodes += 1
            self.stats.peak_episodes = max(self.stats.peak_episodes, len(self._episodes))
        return started, batching_until

    def _batch_deadline(self, instance_id: str) -> float | None:
        """Until when completions for this instance wait for more (None: start its episode now)."""
        since = self._pending_since.get(instance_id)
        if since is None or not self._running_for[instance_id]:
            return None
        return since + min(MAX_BATCH_WINDOW_SECONDS, self._episode_seconds.get(instance_id, 0.0))

    def _start_activities(self) -> int:
        capacity = self._config.max_concurrent_activities - len(self._activities)
        if capacity <= 0 or self._stopping:
            return 0
        if not self._ready and self._more_work:
            self._refill_ready()
        started = 0
        while self._ready and started < capacity:
            item = self._ready.popleft()
            self._activities[item.id] = asyncio.create_task(
                self._run_activity(item), name=f"activity {item.name}"
            )
            self._running_for[item.instance_id] += 1
            started += 1
            self.stats.activities += 1
            self.stats.peak_activities = max(self.stats.peak_activities, len(self._activities))
        return started

    def _refill_ready(self) -> None:
        """Take the next queued activities. Like the Azure Storage provider, which dequeues work
        items without looking at their instance (`AzureStorageOrchestrationService.
        LockNextTaskActivityWorkItem`), every queued activity runs, even when its instance has
        been terminated, replaced or purged meanwhile; only its result is then dropped (by the
        episode, which discards messages for an execution that is over)."""
        items = self._store.work_items_after(self._work_cursor, READY_BATCH)
        self._more_work = len(items) == READY_BATCH
        for item in items:
            self._work_cursor = item.id
            self._ready.append(item)

    def _flush_outbox(self, *, force: bool) -> None:
        """Queue finished activities' results: at once, unless they would only wait in the queue.

        While every instance they belong to is replaying, results stay in memory for a moment (a
        crash then reruns those activities: at-least-once) so that the replay is not slowed down.
        """
        if not self._outbox:
            return
        waiting_instances = {message.instance_id for _, message in self._outbox if message is not None}
        replaying = not waiting_instances or waiting_instances <= self._episodes.keys()
        if replaying and not force and time.monotonic() - self._outbox_since < MAX_OUTBOX_SECONDS:
            return
        finished, self._outbox = self._outbox, []
        self._store.finish_work_items(finished)
        arrived = time.monotonic()
        for instance_id in waiting_instances:
            self._pending_since.setdefault(instance_id, arrived)
        self._queue_changed()
        self._notify_change()

    def _to_outbox(self, item_id: int, message: NewMessage | None) -> None:
        if not self._outbox:
            self._outbox_since = time.monotonic()
        self._outbox.append((item_id, message))

    # -- activities -----------------------------------------------------------------------------

    async def _run_activity(self, item: WorkItem) -> None:
        try:
            function = self._app.find(ACTIVITY_TRIGGER, item.name)
            if function is None:
                outcome = ActivityOutcome(reason=missing_function_message(item.name, "activity"))
            else:
                log.debug("%s: Function '%s (Activity)' started.", item.instance_id, item.name)
                outcome = await self._invoker.call_activity(function, item.input, item.instance_id)
            now = self._clock.now()
            if outcome.failed:
                log.debug(
                    "%s: Function '%s (Activity)' failed: %s", item.instance_id, item.name, outcome.reason
                )
                event = wire.task_failed(now, item.task_id, outcome.reason or "", outcome.details)
            else:
                log.debug("%s: Function '%s (Activity)' completed.", item.instance_id, item.name)
                event = wire.task_completed(now, item.task_id, outcome.result)
            message = NewMessage(item.instance_id, item.execution_id, EVENT, event, wire.to_epoch(now))
            self._to_outbox(item.id, message)
        finally:
            del self._activities[item.id]
            self._running_for[item.instance_id] -= 1
            if not self._running_for[item.instance_id]:
                del self._running_for[item.instance_id]
            self._wake.set()

    # -- episodes -------------------------------------------------------------------------------

    async def _run_episode(self, instance_id: str) -> None:
        self._pending_since.pop(instance_id, None)
        try:
            now = self._clock.now()
            messages = self._store.messages(instance_id, wire.to_epoch(now))
            instance = self._store.instance(instance_id)
            if instance is None:  # purged while messages were in flight
                self._store.delete_messages([m.id for m in messages])
                return
            if instance.runtime_status.is_terminal:  # its messages are only dropped: no history needed
                plan = plan_episode(instance, [], messages, now)
            else:
                stored = self._store.episode_history(instance_id)
                plan = plan_episode(instance, stored.events, messages, now, history_texts=stored.texts)
            if not plan.new_events and not plan.terminated:
                if plan.consumed:
                    self._store.delete_messages(plan.consumed)
                return
            if plan.calls_orchestrator:
                loop = asyncio.get_running_loop()
                began = time.monotonic()
                settlement = await loop.run_in_executor(self._orchestrator_pool, self._orchestrate, plan)
                self._episode_seconds[instance_id] = time.monotonic() - began
            else:
                settlement = settle_without_orchestrator(plan)
            self._commit(settlement)
        except Exception:
            log.exception("devhost could not run an episode of instance %s", instance_id)
            self._quarantine(instance_id)
        finally:
            del self._episodes[instance_id]
            self._queue_changed()  # what arrived meanwhile, and a free slot

    def _orchestrate(self, plan: EpisodePlan) -> Settlement:
        """Runs in a worker thread: build the payload, call the orchestrator, settle."""
        function = self._app.find(ORCHESTRATION_TRIGGER, plan.instance.name)
        began = time.thread_time()
        outcome = (
            None
            if function is None
            else self._invoker.call_orchestrator(function, context_json(plan), plan.instance.instance_id)
        )
        self.stats.replay_cpu_seconds += time.thread_time() - began
        self.stats.events_replayed += len(plan.history) + len(plan.episode_events)
        return settle_episode(
            plan,
            outcome,
            activity_exists=lambda name: self._app.find(ACTIVITY_TRIGGER, name) is not None,
            orchestrator_exists=lambda name: self._app.find(ORCHESTRATION_TRIGGER, name) is not None,
        )

    def _commit(self, settlement: Settlement) -> None:
        blocked = self._store.commit_episode(settlement.commit)
        self._more_work = self._more_work or bool(settlement.commit.work_items)
        if settlement.commit.instance.runtime_status.is_terminal:
            self._episode_seconds.pop(settlement.commit.instance.instance_id, None)
        for line in settlement.log_lines:
            log.info("%s", line)
        now = self._clock.now()
        for child, status in blocked:
            reason = f"An Orchestration instance with the status {status.value} already exists."
            assert child.parent_instance_id is not None
            failed = wire.sub_orchestration_failed(now, child.parent_task_id or 0, reason, None)
            message = NewMessage(
                child.parent_instance_id, child.parent_execution_id, EVENT, failed, wire.to_epoch(now)
            )
            self._store.enqueue([message])
        self._notify_change()

    def _quarantine(self, instance_id: str) -> None:
        """An engine error must not spin: fail the instance and drop its queued messages."""
        instance = self._store.instance(instance_id)
        if instance is None:
            return
        now = wire.to_epoch(self._clock.now())
        self._store.delete_messages([m.id for m in self._store.messages(instance_id, float("inf"))])
        instance.runtime_status = RuntimeStatus.FAILED
        instance.output = wire.jtoken_text("devhost internal error while running this instance (see its log)")
        instance.last_updated_time = now
        self._store.update_status(instance)
        self._notify_change()
