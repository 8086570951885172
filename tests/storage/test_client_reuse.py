"""The process-wide storage client keeps its container and blob clients for reuse.

Building a blob client (its generated client and serializers) cost about a tenth of a blob call;
``storage.client`` keeps one client per container and the most recently used blobs' clients, all
on the service's one pipeline, and drops them with the service client.
"""

from __future__ import annotations

import asyncio

import pytest
from azure.storage.blob.aio import BlobServiceClient

from core.layout import BlobPath, Role, operation_record_blob
from core.settings import get_settings
from storage import client as storage_client
from storage.client import blob_client, close_blob_service_client, container_client

pytestmark = pytest.mark.integration


async def test_the_same_container_and_blob_get_the_same_client(
    storage: BlobServiceClient, job_id: str
) -> None:
    path = operation_record_blob(job_id, "0")
    assert container_client(Role.RESULTS) is container_client(Role.RESULTS)
    assert container_client(Role.RESULTS) is not container_client(Role.STAGING)
    assert blob_client(path) is blob_client(BlobPath(path.role, path.name))
    assert blob_client(path) is not blob_client(operation_record_blob(job_id, "1"))
    assert blob_client(path).container_name == get_settings().storage.container(path.role)
    assert blob_client(path).blob_name == path.name


async def test_kept_clients_go_with_the_service_client(storage: BlobServiceClient, job_id: str) -> None:
    path = operation_record_blob(job_id, "0")
    before_blob, before_container = blob_client(path), container_client(Role.RESULTS)
    await close_blob_service_client()
    assert blob_client(path) is not before_blob
    assert container_client(Role.RESULTS) is not before_container
    await blob_client(path).upload_blob(b"{}", overwrite=True)  # the new one works on the new pipeline


async def test_the_least_recently_used_blob_client_is_dropped(
    storage: BlobServiceClient, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_client, "BLOB_CLIENTS_KEPT", 2)
    first, second, third = (operation_record_blob(job_id, str(n)) for n in range(3))
    kept_first = blob_client(first)
    kept_second = blob_client(second)
    assert blob_client(first) is kept_first  # now the most recently used
    blob_client(third)  # drops the second
    assert blob_client(first) is kept_first
    assert blob_client(second) is not kept_second


async def test_one_kept_client_serves_concurrent_calls(storage: BlobServiceClient, job_id: str) -> None:
    paths = [operation_record_blob(job_id, str(n)) for n in range(4)]
    await asyncio.gather(*(blob_client(p).upload_blob(p.name.encode(), overwrite=True) for p in paths))

    async def read(path: BlobPath) -> bytes:
        return await (await blob_client(path).download_blob()).readall()

    read_back = await asyncio.gather(*(read(p) for p in paths * 5))
    assert read_back == [p.name.encode() for p in paths * 5]
