"""The emulator's memory: analyzers, operations, defaults, faults and the counts tests read.

Operations progress by the wall clock: each runs as a task that does the work (fetching,
extracting) and then waits out the rest of ``analysis_seconds`` before it reports an outcome.
Analyzers and defaults outlive a restart when the emulator has a state directory (``store``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from emulators.content_understanding.analysis import utc_now
from emulators.content_understanding.config import EmulatorConfig, Faults, faults_to_json
from emulators.content_understanding.errors import INTERNAL_ERROR, OperationFailure
from emulators.content_understanding.store import StateStore
from emulators.content_understanding.versions import AGENTIC, PREBUILTS

logger = logging.getLogger(__name__)

NOT_STARTED, RUNNING, SUCCEEDED, FAILED = "NotStarted", "Running", "Succeeded", "Failed"
PREBUILT_CREATED_AT = "2025-05-01T00:00:00Z"


@dataclass
class Analyzer:
    analyzer_id: str
    definition: dict[str, Any]
    api_version: str  # the version it was created with
    status: str = "creating"  # creating | ready | failed
    created_at: str = field(default_factory=utc_now)
    last_modified_at: str = field(default_factory=utc_now)
    prebuilt: bool = False

    @property
    def agentic(self) -> bool:
        return str(self.definition.get("config", {}).get("workflow", "")).startswith(AGENTIC)

    @property
    def config(self) -> dict[str, Any]:
        config = self.definition.get("config")
        return config if isinstance(config, dict) else {}

    def to_json(self) -> dict[str, Any]:
        return {
            "analyzerId": self.analyzer_id,
            **self.definition,
            "status": self.status,
            "createdAt": self.created_at,
            "lastModifiedAt": self.last_modified_at,
            "warnings": [],
        }

    def to_record(self) -> dict[str, Any]:
        """What the state directory keeps of a custom analyzer."""
        return {
            "definition": self.definition, "apiVersion": self.api_version, "status": self.status,
            "createdAt": self.created_at, "lastModifiedAt": self.last_modified_at,
        }  # fmt: skip

    @classmethod
    def from_record(cls, analyzer_id: str, record: dict[str, Any]) -> Analyzer:
        # A creation cut short by a restart completes, as the service would go on with it.
        status = "ready" if record["status"] == "creating" else str(record["status"])
        return cls(
            analyzer_id, dict(record["definition"]), str(record["apiVersion"]), status,
            str(record["createdAt"]), str(record["lastModifiedAt"]),
        )  # fmt: skip


@dataclass
class Operation:
    operation_id: str
    kind: str  # "analyze" or "create"
    analyzer_id: str
    status: str = NOT_STARTED
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    task: asyncio.Task[None] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in (SUCCEEDED, FAILED)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.operation_id, "status": self.status}
        if self.error is not None:
            body["error"] = self.error
        if self.result is not None:
            body["result"] = self.result
        if self.usage is not None:
            body["usage"] = self.usage
        return body


@dataclass
class Stats:
    requests: int = 0
    analyses_started: Counter[str] = field(default_factory=Counter)  # per analyzer id
    analyzers_created: Counter[str] = field(default_factory=Counter)  # creations started, per id
    poll_times: dict[str, list[float]] = field(default_factory=dict)  # operation id -> epoch seconds
    faults_served: Counter[str] = field(default_factory=Counter)  # "429", "503", ...
    emulator_errors: int = 0  # bugs of the emulator itself (logged); tests expect none

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "analysesStarted": dict(self.analyses_started),
            "analyzersCreated": dict(self.analyzers_created),
            "polls": {op: {"count": len(times), "times": times} for op, times in self.poll_times.items()},
            "faultsServed": {**self.faults_served, "total": sum(self.faults_served.values())},
            "emulatorErrors": self.emulator_errors,
        }


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.session: aiohttp.ClientSession | None = None  # opened with the web app
        self.store = StateStore(config.state_dir) if config.state_dir else None
        self.reset(forget_saved=False)

    def reset(self, *, forget_saved: bool = True) -> None:
        """Forget everything created since start-up (and what the state directory kept, unless
        ``forget_saved`` is false: then it is loaded); faults go back to the start-up settings."""
        for operation in getattr(self, "operations", {}).values():
            if operation.task is not None:
                operation.task.cancel()
        self.faults: Faults = self.config.faults
        self.random = random.Random(self.config.seed)
        self.analyzers: dict[str, Analyzer] = {}
        self.operations: dict[str, Operation] = {}
        self.defaults: dict[str, Any] = {"modelDeployments": {}}
        self.stats = Stats()
        if self.store is not None:
            if forget_saved:
                self.save()
            else:
                saved = self.store.load()
                self.defaults = saved.get("defaults") or self.defaults
                for analyzer_id, record in (saved.get("analyzers") or {}).items():
                    self.analyzers[analyzer_id] = Analyzer.from_record(analyzer_id, record)

    def save(self) -> None:
        """Write analyzers and defaults to the state directory (if any): after every change."""
        if self.store is not None:
            self.store.save(
                {
                    "analyzers": {key: analyzer.to_record() for key, analyzer in self.analyzers.items()},
                    "defaults": self.defaults,
                }
            )

    def stats_json(self) -> dict[str, Any]:
        return {**self.stats.to_json(), "faults": faults_to_json(self.faults)}

    def http(self) -> aiohttp.ClientSession:
        assert self.session is not None, "the emulator's web app is not running"
        return self.session

    def find_analyzer(self, analyzer_id: str, api_version: str) -> Analyzer | None:
        """A custom analyzer (created with any live version), or a prebuilt one."""
        if analyzer_id in self.analyzers:
            return self.analyzers[analyzer_id]
        prebuilt = PREBUILTS.get(analyzer_id)
        if prebuilt is None:
            return None
        return Analyzer(
            analyzer_id, prebuilt.definition(), api_version, "ready",
            PREBUILT_CREATED_AT, PREBUILT_CREATED_AT, prebuilt=True,
        )  # fmt: skip

    def pick_fault(self) -> int | None:
        """The status of a fault to serve for this request, if the dice say so."""
        draw = self.random.random()
        if draw < self.faults.rate_429:
            return 429
        if draw < self.faults.rate_429 + self.faults.rate_5xx:
            return self.faults.status_5xx
        return None

    def start_operation(
        self,
        kind: str,
        analyzer_id: str,
        work: Callable[[], Awaitable[tuple[dict[str, Any], dict[str, Any] | None]]],
        *,
        fail: bool = False,
        hang: bool = False,
        on_done: Callable[[Operation], None] | None = None,
    ) -> Operation:
        """Run ``work()`` as a long-running operation that lasts ``analysis_seconds`` at least."""
        operation = Operation(str(uuid.uuid4()), kind, analyzer_id)
        duration = self.faults.analysis_seconds
        self.operations[operation.operation_id] = operation

        async def run() -> None:
            started = time.monotonic()
            operation.status = RUNNING
            result: dict[str, Any] | None = None
            usage: dict[str, Any] | None = None
            error: dict[str, Any] | None = None
            try:
                result, usage = await work()
            except OperationFailure as failure:
                error = failure.error
            except Exception:  # a bug in the emulator must still end the operation
                logger.exception("Operation %s failed unexpectedly", operation.operation_id)
                self.stats.emulator_errors += 1
                error = dict(INTERNAL_ERROR)
            if fail:
                result, error = None, dict(INTERNAL_ERROR)
            if hang:
                await asyncio.Event().wait()  # never set: the operation stays Running
            await asyncio.sleep(max(0.0, duration - (time.monotonic() - started)))
            operation.status = FAILED if error is not None else SUCCEEDED
            operation.result, operation.error = result, error
            operation.usage = usage if error is None else None
            if on_done is not None:
                on_done(operation)

        operation.task = asyncio.get_running_loop().create_task(run())
        return operation

    async def aclose(self) -> None:
        tasks = [op.task for op in self.operations.values() if op.task is not None and not op.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
