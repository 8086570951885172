"""The session's Azurite is real storage: the SDK the app uses can write and read through it."""

from __future__ import annotations

import pytest
from azure.storage.blob.aio import BlobServiceClient

from core.settings import get_settings
from tests.support.azurite import Azurite

pytestmark = pytest.mark.integration


async def test_document_storage_points_at_the_session_azurite(azurite: Azurite) -> None:
    connection_string = get_settings().storage.connection_string
    assert connection_string is not None
    assert str(azurite.blob_port) in connection_string
    async with BlobServiceClient.from_connection_string(connection_string) as service:
        container = service.get_container_client("fixture-check")
        await container.create_container()
        await container.upload_blob("hello.txt", b"hello")
        downloaded = await (await container.download_blob("hello.txt")).readall()
        await container.delete_container()
    assert downloaded == b"hello"
