"""Fixtures of the emulator's tests: a raw HTTP client for the emulator of the test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from emulators.content_understanding import Emulator


@pytest.fixture
async def http(cu_emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """httpx on ``{endpoint}/contentunderstanding`` with the emulator's key."""
    headers = {"Ocp-Apim-Subscription-Key": cu_emulator.key}
    base_url = f"{cu_emulator.endpoint}/contentunderstanding"
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as client:
        yield client
