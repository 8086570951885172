"""The real app on devhost as a separate process that tests kill -9 and restart on the same state.

The stack: the session's Azurite and the CU emulator (in this process; analyses take about a
second), each behind a fault proxy (tests/support/fault_proxy.py), and ``python -m devhost start``
as a child process with a state directory and a fixed port, so that a restart finds everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.storage.blob.aio import BlobServiceClient

from devhost.eventgrid import BlobCreatedPublisher, Subscription
from emulators.content_understanding import Emulator, running_emulator
from tests.conftest import example_settings
from tests.e2e.conftest import SAMPLES
from tests.support.azurite import REPO_ROOT, Azurite, free_port
from tests.support.fault_proxy import FaultProxy, fault_proxy

ANALYSIS_SECONDS = 1.0
READY_TIMEOUT = 30.0


class DevhostProcess:
    """``python -m devhost start`` on a fixed port and state directory: start, kill -9, start again."""

    def __init__(self, settings: dict[str, str], state_dir: Path, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._settings = settings
        self._state_dir = state_dir
        self._log_path = log_path
        self._process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self.ready_seconds: list[float] = []  # process start to the ready line, per start

    async def start(self) -> None:
        assert self._process is None, "devhost is already running"
        settings_file = self._state_dir.parent / "devhost.settings.json"
        settings_file.write_text(json.dumps({"IsEncrypted": False, "Values": self._settings}), "utf-8")
        # devhost lets variables already in the environment win over the settings file, and this
        # test session has the example settings in its environment: pass ours explicitly.
        env = {**os.environ, **self._settings}
        command = [
            sys.executable, "-m", "devhost", "start", "--app-dir", str(REPO_ROOT),
            "--port", str(self.port), "--settings", str(settings_file),
            "--state-dir", str(self._state_dir), "--blob-poll-interval", "0.2",
        ]  # fmt: skip
        started = time.monotonic()
        with self._log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *command, cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log
            )
        assert self._process.stdout is not None
        async with asyncio.timeout(READY_TIMEOUT):
            line = (await self._process.stdout.readline()).decode()
        assert line.startswith("devhost ready on "), f"devhost did not start: see {self._log_path}"
        self.ready_seconds.append(time.monotonic() - started)
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine or container dies."""
        process, self._process = self._process, None
        assert process is not None, "devhost is not running"
        process.send_signal(signal.SIGKILL)
        await process.wait()
        self.kills += 1

    async def restart_after_kill(self) -> None:
        await self.kill()
        await self.start()

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(15):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


@dataclass
class KillStack:
    devhost: DevhostProcess
    http: httpx.AsyncClient
    emulator: Emulator
    proxy: FaultProxy  # in front of storage
    cu_proxy: FaultProxy  # in front of the CU emulator
    storage: BlobServiceClient  # straight to Azurite, for the test's own checks
    settings: dict[str, str]
    log_path: Path
    jobs: list[str] = field(default_factory=list)  # every job submitted, in order

    async def register(self, analyzer_id: str) -> None:
        definition = json.loads((SAMPLES / "analyzers" / f"{analyzer_id}.json").read_text(encoding="utf-8"))
        response = await self.http.put(f"/api/analyzers/{analyzer_id}", json=definition)
        assert response.status_code == 202, response.text

    async def submit(self, files: list[tuple[str, str, bytes]], request: dict[str, Any]) -> str:
        parts: list[Any] = [(part, (name, data)) for part, name, data in files]
        parts.append(("request", (None, json.dumps(request), "application/json")))
        response = await self.http.post("/api/analyses", files=parts)
        assert response.status_code == 202, response.text
        job_id = str(response.json()["id"])
        self.jobs.append(job_id)
        return job_id

    async def status(self, job_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/analyses/{job_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait(self, job_id: str, within: float = 30.0) -> dict[str, Any]:
        """Poll until the job ends; returns its last status document."""
        async with asyncio.timeout(within):
            while True:
                status = await self.status(job_id)
                if status["status"] not in ("pending", "running"):
                    return status
                await asyncio.sleep(0.05)

    async def until(self, condition: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
        async with asyncio.timeout(within):
            while not await condition():  # noqa: ASYNC110 - the condition is another process's progress
                await asyncio.sleep(0.02)

    async def result(self, job_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/analyses/{job_id}/result")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def blob_names(self, container: str, prefix: str | None = None) -> list[str]:
        client = self.storage.get_container_client(container)
        if not await client.exists():
            return []
        return [name async for name in client.list_blob_names(name_starts_with=prefix)]

    async def operation_recorded(self, job_id: str, key: str) -> bool:
        """Whether the job's record of CU operation ``key`` holds its location (activities/cu_steps.py)."""
        blob = self.storage.get_blob_client(
            self.settings["RESULTS_CONTAINER"], f"{job_id}/operation-{key}.started.json"
        )
        if not await blob.exists():
            return False
        record = json.loads(await (await blob.download_blob()).readall())
        return "operationLocation" in record

    async def operation_saved(self, job_id: str, key: str) -> bool:
        """Whether the job saved CU operation ``key``'s finished result."""
        blob = self.storage.get_blob_client(
            self.settings["RESULTS_CONTAINER"], f"{job_id}/operation-{key}.json"
        )
        return bool(await blob.exists())

    def analyses_started(self) -> dict[str, int]:
        started: dict[str, int] = self.emulator.stats()["analysesStarted"]
        return started

    def restart_summary(self) -> str:
        ready = self.devhost.ready_seconds
        return (
            f"{self.devhost.kills} kills, devhost ready {min(ready):.2f}-{max(ready):.2f} s after each start"
        )

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


def stack_settings(
    proxy: FaultProxy, cu_proxy: FaultProxy, emulator: Emulator, **overrides: str
) -> dict[str, str]:
    return {
        **example_settings(),
        "DocumentStorage": proxy.connection_string,
        "AzureWebJobsStorage": proxy.connection_string,
        "CONTENT_UNDERSTANDING_ENDPOINT": cu_proxy.url,
        "CONTENT_UNDERSTANDING_KEY": emulator.key,
        "POLL_INITIAL_INTERVAL_SECONDS": "0.2",
        "POLL_MAX_INTERVAL_SECONDS": "0.5",
        "ANALYSIS_DEADLINE_SECONDS": "60",
        "TASKHUB_NAME": f"rel{uuid.uuid4().hex[:8]}",
        "INTAKE_CONTAINER": f"intake-{uuid.uuid4().hex[:8]}",
        **overrides,
    }


@pytest.fixture
def start_kill_stack(azurite: Azurite, tmp_path: Path) -> Callable[..., Any]:
    """``async with start_kill_stack(**setting_overrides) as stack``: devhost running, as a process."""

    @contextlib.asynccontextmanager
    async def start(**overrides: str) -> AsyncIterator[KillStack]:
        async with (
            running_emulator(
                key="reliability-key", seed=11, analysis_seconds=ANALYSIS_SECONDS, retry_after=0.25
            ) as emulator,
            fault_proxy(f"http://127.0.0.1:{azurite.blob_port}") as proxy,
            fault_proxy(emulator.endpoint) as cu_proxy,
            BlobServiceClient.from_connection_string(azurite.connection_string) as storage,
        ):  # fmt: skip
            settings = stack_settings(proxy, cu_proxy, emulator, **overrides)
            log_path = tmp_path / "devhost.log"
            devhost = DevhostProcess(settings, tmp_path / "state", log_path)
            await devhost.start()
            # The intake container's Event Grid subscription: it retries while devhost is down.
            webhook = f"{devhost.base_url}/runtime/webhooks/blobs?functionName=Host.Functions.blob_intake"
            events = BlobCreatedPublisher(
                azurite.connection_string,
                [Subscription(settings["INTAKE_CONTAINER"], webhook)],
                interval=0.1,
                retry_delay=0.2,
                max_attempts=30,
            )
            try:
                async with events, httpx.AsyncClient(base_url=devhost.base_url, timeout=30) as http:
                    yield KillStack(devhost, http, emulator, proxy, cu_proxy, storage, settings, log_path)
            finally:
                await devhost.stop()
            assert emulator.stats()["emulatorErrors"] == 0

    return start


@pytest.fixture
async def stack(start_kill_stack: Callable[..., Any]) -> AsyncIterator[KillStack]:
    async with start_kill_stack() as running:
        yield running
