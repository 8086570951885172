"""The emulator fetches inputs through SAS URLs from real storage (Azurite), so a bad or expired
SAS fails the operation as it would in Azure."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from azure.storage.blob import BlobSasPermissions, generate_blob_sas
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from tests.emulators.cu_http import GA, analyze
from tests.support.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite

pytestmark = pytest.mark.integration


@pytest.fixture
async def container(azurite: Azurite) -> AsyncIterator[ContainerClient]:
    async with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        client = service.get_container_client(f"cu-{uuid.uuid4().hex[:12]}")
        await client.create_container()
        yield client
        await client.delete_container()


def blob_sas_url(container: ContainerClient, name: str, *, expires_in: timedelta = timedelta(hours=1)) -> str:
    now = datetime.now(UTC)
    sas = generate_blob_sas(
        ACCOUNT_NAME, container.container_name, name, account_key=ACCOUNT_KEY,
        permission=BlobSasPermissions(read=True), start=now - timedelta(minutes=5), expiry=now + expires_in,
    )  # fmt: skip
    return f"{container.url}/{name}?{sas}"


async def analyze_url(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    return await analyze(http, "prebuilt-read", {"inputs": [{"url": url}]}, GA)


async def test_a_valid_sas_url_is_read(http: httpx.AsyncClient, container: ContainerClient) -> None:
    await container.upload_blob("notes.md", b"# Notes\n\nOwner: Ada\n")
    status = await analyze_url(http, blob_sas_url(container, "notes.md"))
    assert status["status"] == "Succeeded"
    content = status["result"]["contents"][0]
    assert content["markdown"] == "# Notes\n\nOwner: Ada\n"
    assert content["mimeType"] == "text/markdown"


@pytest.mark.parametrize("problem", ["tampered", "expired", "unsigned"])
async def test_a_bad_sas_fails_the_operation(
    http: httpx.AsyncClient, container: ContainerClient, problem: str
) -> None:
    await container.upload_blob("secret.txt", b"Owner: Ada\n")
    url = blob_sas_url(
        container, "secret.txt", expires_in=timedelta(minutes=-1 if problem == "expired" else 60)
    )
    signature = url.rpartition("sig=")[2]
    if problem == "tampered":
        url = url.replace(f"sig={signature}", f"sig={'A' if signature[0] != 'A' else 'B'}{signature[1:]}")
    if problem == "unsigned":
        url = url.partition("?")[0]
    status = await analyze_url(http, url)
    assert status["status"] == "Failed"
    inner = status["error"]["innererror"]
    assert inner["code"] == "ContentSourceNotAccessible"
    assert "HTTP 403" in inner["message"] or "HTTP 404" in inner["message"]
    assert signature not in json.dumps(status)  # the SAS never comes back in the error
