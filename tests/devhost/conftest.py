"""Fixtures for devhost's tests: its own test app, hosted in-process on loopback or as a process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost import DevHost, VirtualClock
from tests.support.azurite import REPO_ROOT

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


@contextmanager
def devhost_process(state: Path, settings_file: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """`python -m devhost start` on the test app, killed on the way out if still running."""
    command = [
        sys.executable, "-m", "devhost", "start",
        "--app-dir", str(APP_DIR), "--port", str(port),
        "--settings", str(settings_file), "--state-dir", str(state),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def ready_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line, "devhost exited before it was ready"
    return line


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": app_settings(tmp_path)}), encoding="utf-8")
    return path
