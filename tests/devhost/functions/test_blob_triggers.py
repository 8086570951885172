"""Blob triggers against Azurite: the poller with receipts, and Event Grid BlobCreated posts."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from devhost import DevHost, VirtualClock
from devhost.functions.blob_triggers import BlobPath
from tests.devhost.conftest import APP_DIR, app_settings, eventually
from tests.support.azurite import Azurite

pytestmark = pytest.mark.integration
CONTAINER = "devhost-intake"  # the Event Grid-sourced trigger's container
SCANNED = "devhost-scan"  # the polling-sourced trigger's container


async def _empty_container(azurite: Azurite, name: str) -> AsyncIterator[ContainerClient]:
    async with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        client = service.get_container_client(name)
        if not await client.exists():
            await client.create_container()
        async for blob in client.list_blobs():
            await client.delete_blob(blob.name)
        yield client


@pytest.fixture
async def container(azurite: Azurite) -> AsyncIterator[ContainerClient]:
    async for client in _empty_container(azurite, CONTAINER):
        yield client


@pytest.fixture
async def scanned(azurite: Azurite) -> AsyncIterator[ContainerClient]:
    async for client in _empty_container(azurite, SCANNED):
        yield client


def blob_host(tmp_path: Path, azurite: Azurite, poll: float | None = None) -> DevHost:
    settings = app_settings(tmp_path, DevhostTestStorage=azurite.connection_string)
    return DevHost(
        APP_DIR,
        settings=settings,
        state_dir=tmp_path / "state",
        clock=VirtualClock(),
        blob_poll_interval=poll,
    )


def job_id(name: str, etag: str, container: str = CONTAINER) -> str:
    return hashlib.sha256(f"{container}/{name}|{etag}".encode()).hexdigest()[:32]


async def upload(container: ContainerClient, name: str, text: str) -> str:
    blob = container.get_blob_client(name)
    settings = ContentSettings(content_type="text/plain")
    result: dict[str, Any] = await blob.upload_blob(
        text.encode(), overwrite=True, content_settings=settings, metadata={"origin": "test"}
    )
    return str(result["etag"])


def created_event(name: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "1",
            "eventType": "Microsoft.Storage.BlobCreated",
            "subject": f"/blobServices/default/containers/{CONTAINER}/blobs/{name}",
            "data": {"api": "PutBlob", "url": f"https://account.blob.core.windows.net/{CONTAINER}/{name}"},
            "dataVersion": "",
            "metadataVersion": "1",
        }
    ]


async def test_polling_fires_once_per_blob_version(
    tmp_path: Path, azurite: Azurite, scanned: ContainerClient
) -> None:
    etag = await upload(scanned, "doc1.txt", "hello")
    async with blob_host(tmp_path, azurite) as host:
        assert await host.poll_blobs() == 1
        status = await host.wait_for(job_id("doc1.txt", etag, SCANNED))
        assert status["output"] == {
            "name": f"{SCANNED}/doc1.txt",
            "uri": f"{azurite.blob_endpoint}/{SCANNED}/doc1.txt",
            "length": 5,
            "etag": etag,
            "content_type": "text/plain",
            "metadata": {"origin": "test"},
            "text": "hello",
        }
        assert await host.poll_blobs() == 0  # the receipt holds
        new_etag = await upload(scanned, "doc1.txt", "hello again")
        assert await host.poll_blobs() == 1  # a new version fires again
        assert (await host.wait_for(job_id("doc1.txt", new_etag, SCANNED)))["output"]["text"] == "hello again"


async def test_a_failing_blob_is_retried_five_times_then_given_up(
    tmp_path: Path, azurite: Azurite, scanned: ContainerClient
) -> None:
    await upload(scanned, "bad.txt", "explode")
    async with blob_host(tmp_path, azurite) as host:
        for _ in range(7):
            assert await host.poll_blobs() == 0
        assert host.app_module.CALLS[f"intake:{SCANNED}/bad.txt"] == 5


async def test_the_poller_runs_on_its_own(tmp_path: Path, azurite: Azurite, scanned: ContainerClient) -> None:
    async with blob_host(tmp_path, azurite, poll=0.05) as host:
        etag = await upload(scanned, "later.txt", "dropped in while running")
        await eventually(lambda: host.status(job_id("later.txt", etag, SCANNED)) is not None)
        assert (await host.wait_for(job_id("later.txt", etag, SCANNED)))["output"][
            "text"
        ] == "dropped in while running"


async def test_event_grid_handshake_and_notifications(
    tmp_path: Path, azurite: Azurite, container: ContainerClient
) -> None:
    etag = await upload(container, "pushed.txt", "via event grid")
    async with blob_host(tmp_path, azurite) as host, httpx.AsyncClient(base_url=host.base_url) as http:
        url = "/runtime/webhooks/blobs?functionName=Host.Functions.intake"
        validation = [
            {
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "data": {"validationCode": "abc"},
            }
        ]
        handshake = await http.post(
            url, json=validation, headers={"aeg-event-type": "SubscriptionValidation"}
        )
        assert (handshake.status_code, handshake.json()) == (200, {"validationResponse": "abc"})

        notify = {"aeg-event-type": "Notification"}
        assert (await http.post(url, json=created_event("pushed.txt"), headers=notify)).status_code == 202
        await eventually(lambda: host.status(job_id("pushed.txt", etag)) is not None)
        assert (await host.wait_for(job_id("pushed.txt", etag)))["output"]["text"] == "via event grid"

        calls = host.app_module.CALLS
        assert (await http.post(url, json=created_event("pushed.txt"), headers=notify)).status_code == 202
        await eventually(lambda: calls[f"intake:{CONTAINER}/pushed.txt"] == 2)  # at-least-once: fires again
        await host.poll_blobs()
        assert calls[f"intake:{CONTAINER}/pushed.txt"] == 2  # an Event Grid-sourced trigger is never scanned
        pushed = [i for i in host.engine.instances() if "pushed.txt" in (i.input or "")]
        assert len(pushed) == 1  # the app deduplicates by instance id

        elsewhere = created_event("x.txt")
        elsewhere[0]["subject"] = "/blobServices/default/containers/other/blobs/x.txt"
        assert (await http.post(url, json=elsewhere, headers=notify)).status_code == 202
        wrong = await http.post(
            "/runtime/webhooks/blobs?functionName=Host.Functions.nope", json=[], headers=notify
        )
        assert wrong.status_code == 404
        assert (await http.post(url, json=[], headers={"aeg-event-type": "Other"})).status_code == 400


def test_blob_paths() -> None:
    path = BlobPath.parse("intake/{name}")
    assert (path.container, path.prefix) == ("intake", "")
    assert path.matches("a/b/c.pdf")
    manifests = BlobPath.parse("intake/jobs/{name}.job.json")
    assert manifests.prefix == "jobs/"
    assert manifests.matches("jobs/x.job.json")
    assert not manifests.matches("jobs/x.pdf")
