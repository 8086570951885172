"""The Content Understanding emulator, in-process on a free loopback port, for tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from content_understanding import ContentUnderstandingClient, OperationStatus
from core.api_versions import DEFAULT_AGENTIC_API_VERSION, DEFAULT_API_VERSION
from emulators.content_understanding import Emulator, running_emulator

EMULATOR_KEY = "test-emulator-key"
GA, PREVIEW = DEFAULT_API_VERSION, DEFAULT_AGENTIC_API_VERSION
# What prebuilt analyzers need: their model aliases (see docs/content-understanding-emulator.md),
# and gpt-4.1 for custom analyzers that name it.
DEPLOYMENTS = {
    "gpt-4.1": "gpt-4.1",
    "prebuilt-analyzer-completion": "gpt-4.1",
    "prebuilt-analyzer-completion-mini": "gpt-4.1-mini",
    "prebuilt-analyzer-embedding": "text-embedding-3-large",
}


@pytest.fixture
async def cu_emulator() -> AsyncIterator[Emulator]:
    """A fresh emulator per test: operations take 0.2 s, polls are told to wait 0.1 s."""
    # Fast enough for tests, slow enough that an operation is seen running at least once.
    async with running_emulator(key=EMULATOR_KEY, seed=7, analysis_seconds=0.2, retry_after=0.1) as emulator:
        yield emulator
        assert emulator.stats()["emulatorErrors"] == 0, "the emulator hit a bug: see the captured log"


def emulator_client(emulator: Emulator, api_version: str = GA, **options: Any) -> ContentUnderstandingClient:
    """A client for ``emulator`` whose retries wait milliseconds, not seconds."""
    options.setdefault("backoff_seconds", 0.01)
    return ContentUnderstandingClient(emulator.endpoint, api_version=api_version, key=emulator.key, **options)


async def wait_for_operation(client: ContentUnderstandingClient, location: str) -> OperationStatus:
    """Poll until the operation ends, honouring Retry-After (as the orchestrator will, with timers)."""
    async with asyncio.timeout(10):
        while True:
            status = await client.get_operation(location)
            if status.is_terminal:
                return status
            await asyncio.sleep(status.retry_after_seconds or 0.1)
