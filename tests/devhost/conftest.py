"""Fixtures for devhost's tests: its own test app, hosted in-process on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost import DevHost, VirtualClock

APP_DIR = Path(__file__).parent / "app"
HUB = "devhosttests"


def app_settings(tmp_path: Path, **extra: str) -> dict[str, str]:
    trace = tmp_path / "trace"
    trace.mkdir(exist_ok=True)
    return {"DEVHOST_TEST_HUB": HUB, "DEVHOST_TEST_TRACE_DIR": str(trace), **extra}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def host(tmp_path: Path, clock: VirtualClock) -> AsyncIterator[DevHost]:
    async with DevHost(
        APP_DIR,
        settings=app_settings(tmp_path),
        state_dir=tmp_path / "state",
        clock=clock,
        blob_poll_interval=None,
    ) as running:
        yield running


@pytest.fixture
async def http(host: DevHost) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=host.base_url, timeout=10) as client:
        yield client


async def start(
    http: httpx.AsyncClient, name: str, payload: Any = None, instance_id: str | None = None
) -> str:
    """Start an orchestration through the test app's HTTP starter (the SDK's client)."""
    path = f"/api/start/{name}" + (f"/{instance_id}" if instance_id else "")
    response = await http.post(path, json=payload) if payload is not None else await http.post(path)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return str(body["id"])


async def eventually(condition: Callable[[], bool], within: float = 10) -> None:
    """Wait until `condition()` holds (polling: the conditions are about another task's progress)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - nothing to await but time
            await asyncio.sleep(0.01)
