"""A devhost on the test app with extra settings (host.json overrides, limits) for one test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost import Clock, DevHost, VirtualClock
from tests.devhost.conftest import APP_DIR, app_settings


@pytest.fixture
def devhost_with(tmp_path: Path) -> Callable[..., Any]:
    """``async with devhost_with(clock=..., http_response_timeout=..., **settings) as (host, http)``."""

    @contextlib.asynccontextmanager
    async def start(
        *, clock: Clock | None = None, http_response_timeout: float = 230.0, **settings: str
    ) -> AsyncIterator[tuple[DevHost, httpx.AsyncClient]]:
        host = DevHost(
            APP_DIR,
            settings=app_settings(tmp_path, **settings),
            state_dir=tmp_path / "state",
            clock=clock or VirtualClock(),
            blob_poll_interval=None,
            http_response_timeout=http_response_timeout,
        )
        async with host, httpx.AsyncClient(base_url=host.base_url, timeout=60) as http:
            yield host, http

    return start
