"""Storage fixtures for the storage, inputs and activities tests.

The session Azurite as document storage, job ids, a file server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from azure.storage.blob.aio import BlobServiceClient

from core.settings import get_settings
from storage.client import close_blob_service_client, ensure_containers, get_blob_service_client
from tests.support.azurite import Azurite
from tests.support.loopback import FileServer, file_server


@pytest.fixture
async def storage(azurite: Azurite) -> AsyncIterator[BlobServiceClient]:
    """The app's process-wide storage client, on the session Azurite, closed after the test."""
    try:
        await ensure_containers()
        yield get_blob_service_client()
    finally:
        await close_blob_service_client()


@pytest.fixture
def job_id() -> str:
    """A fresh job id, so tests sharing the session Azurite never see each other's blobs."""
    return f"job-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def files() -> AsyncIterator[FileServer]:
    async with file_server() as server:
        yield server


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set app settings for one test: ``settings_env(MAX_FILE_BYTES="10")``."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()
