"""The whole app on devhost, with a real Azurite and the CU emulator, driven over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.storage.blob.aio import BlobServiceClient

from content_understanding import close_content_understanding_client
from core.settings import get_settings
from devhost import Clock, DevHost
from devhost.eventgrid import BlobCreatedPublisher, Subscription
from emulators.content_understanding import Emulator
from storage.client import close_blob_service_client
from tests.conftest import example_settings
from tests.support.azurite import REPO_ROOT, Azurite

SAMPLES = REPO_ROOT / "samples"


@dataclass
class AppStack:
    host: DevHost
    http: httpx.AsyncClient
    emulator: Emulator
    storage: BlobServiceClient
    settings: dict[str, str]
    events: BlobCreatedPublisher  # the intake container's Event Grid subscription, as in Azure

    @property
    def intake(self) -> str:
        return self.settings["INTAKE_CONTAINER"]

    async def submit(self, files: list[tuple[str, str, bytes]], request: dict[str, Any] | None = None) -> str:
        """POST a multipart job; returns its id (asserting 202)."""
        parts: list[Any] = [(field, (name, data)) for field, name, data in files]
        if request is not None:
            parts.append(("request", (None, json.dumps(request), "application/json")))
        response = await self.http.post("/api/analyses", files=parts)
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def wait(self, job_id: str, within: float = 30.0) -> dict[str, Any]:
        """Poll the status API until the job ends; returns the last status document."""
        async with asyncio.timeout(within):
            while True:
                response = await self.http.get(f"/api/analyses/{job_id}")
                assert response.status_code == 200, response.text
                status: dict[str, Any] = response.json()
                if status["status"] not in ("pending", "running"):
                    return status
                await asyncio.sleep(0.05)

    async def register(self, analyzer_id: str) -> None:
        definition = json.loads((SAMPLES / "analyzers" / f"{analyzer_id}.json").read_text(encoding="utf-8"))
        response = await self.http.put(f"/api/analyzers/{analyzer_id}", json=definition)
        assert response.status_code == 202, response.text

    async def blob_names(self, container: str) -> list[str]:
        client = self.storage.get_container_client(container)
        if not await client.exists():
            return []
        return [name async for name in client.list_blob_names()]

    async def instance_ids(self) -> list[str]:
        response = await self.http.get(f"{self.host.base_url}/runtime/webhooks/durabletask/instances")
        assert response.status_code == 200, response.text
        return [instance["instanceId"] for instance in response.json()]


def sample(name: str) -> bytes:
    for folder in ("documents", "references"):
        path = SAMPLES / folder / name
        if path.exists():
            return path.read_bytes()
    raise FileNotFoundError(name)


@pytest.fixture
def stack_settings(azurite: Azurite, cu_emulator: Emulator) -> dict[str, str]:
    """The app's settings for one test: the example settings, pointed at this test's services."""
    return {
        **example_settings(),
        "DocumentStorage": azurite.connection_string,
        "AzureWebJobsStorage": azurite.connection_string,
        "CONTENT_UNDERSTANDING_ENDPOINT": cu_emulator.endpoint,
        "CONTENT_UNDERSTANDING_KEY": cu_emulator.key,
        "POLL_INITIAL_INTERVAL_SECONDS": "0.1",
        "POLL_MAX_INTERVAL_SECONDS": "0.5",
        "ANALYSIS_DEADLINE_SECONDS": "60",
        "TASKHUB_NAME": f"e2e{uuid.uuid4().hex[:8]}",
        # Each test its own intake container, so that no other test's blob starts a job here.
        "INTAKE_CONTAINER": f"intake-{uuid.uuid4().hex[:8]}",
    }


@pytest.fixture
def start_stack(
    stack_settings: dict[str, str], cu_emulator: Emulator, azurite: Azurite, tmp_path: Path
) -> Callable[..., Any]:
    """``async with start_stack(clock=None, **setting_overrides) as stack``: the real app on devhost."""

    @contextlib.asynccontextmanager
    async def start(clock: Clock | None = None, **overrides: str) -> AsyncIterator[AppStack]:
        settings = {**stack_settings, **overrides}
        get_settings.cache_clear()
        await close_content_understanding_client()
        host = DevHost(REPO_ROOT, settings=settings, state_dir=tmp_path / "devhost", clock=clock)
        try:
            async with host:
                # blob_intake is Event Grid-sourced: devhost fires it only through its webhook.
                webhook = f"{host.base_url}/runtime/webhooks/blobs?functionName=Host.Functions.blob_intake"
                events = BlobCreatedPublisher(
                    azurite.connection_string,
                    [Subscription(settings["INTAKE_CONTAINER"], webhook)],
                    interval=0.1,
                )
                async with (
                    events,
                    httpx.AsyncClient(base_url=host.base_url, timeout=30) as http,
                    BlobServiceClient.from_connection_string(azurite.connection_string) as storage,
                ):
                    yield AppStack(host, http, cu_emulator, storage, settings, events)
        finally:
            await close_content_understanding_client()
            await close_blob_service_client()
            get_settings.cache_clear()

    return start


@pytest.fixture
async def stack(start_stack: Callable[..., Any]) -> AsyncIterator[AppStack]:
    async with start_stack() as running:
        yield running


@pytest.fixture
def log_text(caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """Everything logged during the test, at every level, by every logger."""
    caplog.set_level(logging.DEBUG)
    return lambda: "\n".join(record.getMessage() for record in caplog.records) + caplog.text


async def all_blobs(storage: BlobServiceClient) -> set[str]:
    """Every blob in the account, as "container/name" (to prove a request left nothing behind)."""
    names = set()
    async for container in storage.list_containers():
        client = storage.get_container_client(container.name)
        names.update([f"{container.name}/{name}" async for name in client.list_blob_names()])
    return names
