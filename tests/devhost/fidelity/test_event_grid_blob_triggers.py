"""Event Grid-sourced blob triggers fire only through the webhook; delivery is at least once.

Azure Functions docs (functions-bindings-storage-blob-trigger.md, functions-event-grid-blob-trigger.md):
with `source=EventGrid` the host does not scan the container; a storage account's Event Grid
subscription posts `Microsoft.Storage.BlobCreated` events to /runtime/webhooks/blobs, at least once
(Event Grid delivery and retry). devhost.eventgrid stands in for that subscription.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from devhost.eventgrid import BlobCreatedPublisher, EventGridError, Subscription
from tests.devhost.conftest import eventually
from tests.support.azurite import Azurite

pytestmark = pytest.mark.integration
CONTAINER = "devhost-intake"
WEBHOOK = "/runtime/webhooks/blobs?functionName=Host.Functions.intake"


@pytest.fixture
async def container(azurite: Azurite) -> AsyncIterator[ContainerClient]:
    async with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        client = service.get_container_client(CONTAINER)
        if not await client.exists():
            await client.create_container()
        async for blob in client.list_blobs():
            await client.delete_blob(blob.name)
        yield client


def instance_for(name: str, etag: str) -> str:
    return hashlib.sha256(f"{CONTAINER}/{name}|{etag}".encode()).hexdigest()[:32]


async def test_no_scan_fires_an_event_grid_trigger_and_the_stand_in_delivers(
    devhost_with: Callable[..., Any], azurite: Azurite, container: ContainerClient
) -> None:
    async with devhost_with(DevhostTestStorage=azurite.connection_string) as (host, _):
        existing = await container.get_blob_client("before.txt").upload_blob(b"already there")
        await host.poll_blobs()
        assert host.status(instance_for("before.txt", existing["etag"])) is None  # never scanned

        endpoint = host.base_url + WEBHOOK
        async with BlobCreatedPublisher(
            azurite.connection_string, [Subscription(CONTAINER, endpoint)]
        ) as events:
            uploaded = await container.get_blob_client("new.txt").upload_blob(b"fresh")
            await eventually(lambda: host.status(instance_for("new.txt", uploaded["etag"])) is not None)
            status = await host.wait_for(instance_for("new.txt", uploaded["etag"]))

        assert status["output"]["text"] == "fresh"
        assert events.delivered == 1
        # Created before the subscription: no event, no job (as in Azure).
        assert host.status(instance_for("before.txt", existing["etag"])) is None


async def test_a_failing_delivery_is_retried_then_given_up(
    devhost_with: Callable[..., Any], azurite: Azurite, container: ContainerClient
) -> None:
    async with devhost_with(DevhostTestStorage=azurite.connection_string) as (host, _):
        endpoint = host.base_url + WEBHOOK
        async with BlobCreatedPublisher(azurite.connection_string, [Subscription(CONTAINER, endpoint)]):
            await container.get_blob_client("bad.txt").upload_blob(b"explode")
            await eventually(lambda: host.app_module.CALLS[f"intake:{CONTAINER}/bad.txt"] == 5, within=20)


async def test_the_subscription_needs_the_handshake(
    devhost_with: Callable[..., Any], azurite: Azurite
) -> None:
    async with devhost_with(DevhostTestStorage=azurite.connection_string) as (host, _):
        wrong = host.base_url + "/runtime/webhooks/blobs?functionName=Host.Functions.scanned_intake"
        with pytest.raises(EventGridError, match="did not validate"):
            async with BlobCreatedPublisher(azurite.connection_string, [Subscription(CONTAINER, wrong)]):
                pass
