"""Looking at what storage holds, the way any reader of the account would see it."""

from __future__ import annotations

from azure.storage.blob.aio import BlobServiceClient


async def blob_names(service: BlobServiceClient, container: str, prefix: str) -> list[str]:
    """The names of the committed blobs under ``prefix``."""
    client = service.get_container_client(container)
    if not await client.exists():
        return []
    return [name async for name in client.list_blob_names(name_starts_with=prefix)]


async def read_blob(service: BlobServiceClient, container: str, name: str) -> bytes:
    download = await service.get_blob_client(container, name).download_blob()
    data: bytes = await download.readall()
    return data
