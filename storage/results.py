"""Job results as blobs (``core.layout.result_blob``), and the clean-up when a job ends.

Full Content Understanding results can be megabytes; orchestration history should hold only a
summary. So whoever receives a result (the activity polling CU) writes it here with
``save_result`` and passes on only the blob name; the HTTP API reads it back as a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import ContainerClient

from core import layout
from core.errors import PermanentError
from core.layout import BlobPath, Role
from storage.client import blob_client, container_client, ensure_containers
from storage.errors import translated
from storage.streams import blob_chunks

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"
CLEANUP_CONCURRENCY = 8


class ResultNotFound(PermanentError):
    """No result is stored under that job and key (yet)."""

    code = "ResultNotFound"


@dataclass
class ResultStream:
    """A stored result, open for reading: ``size`` bytes of ``content_type`` from ``chunks()``."""

    blob: str
    size: int
    content_type: str
    chunks: AsyncIterator[bytes]


async def save_result(job_id: str, key: str, result: Mapping[str, Any]) -> str:
    """Store ``result`` as JSON (replacing an earlier one: saving is idempotent); return the blob name."""
    name = await write_blob_json(layout.result_blob(job_id, key), result)
    return name


async def write_blob_json(path: BlobPath, document: Any) -> str:
    """Store ``document`` as compact JSON at ``path`` (replacing it); return the blob name."""
    await ensure_containers()
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    with translated(f"Writing result {path.name}"):
        await blob_client(path).upload_blob(
            data, overwrite=True, content_settings=ContentSettings(content_type=JSON_CONTENT_TYPE)
        )
    logger.info("Saved result %s (%s bytes)", path.name, len(data))
    return path.name


async def read_blob_json(path: BlobPath) -> Any:
    """The JSON stored at ``path``, parsed; ``ResultNotFound`` if there is none."""
    action = f"Reading result {path.name}"
    with translated(action):
        try:
            download = await blob_client(path).download_blob()
        except ResourceNotFoundError:
            raise ResultNotFound(f"No result {path.name!r}") from None
    data = bytearray()
    async for chunk in blob_chunks(download, action):
        data += chunk
    return json.loads(data)


async def open_result_stream(job_id: str, key: str) -> ResultStream:
    """Open a stored result for streaming; ``ResultNotFound`` before any byte if there is none."""
    name = layout.result_blob(job_id, key).name
    action = f"Reading result {name}"
    with translated(action):
        try:
            download = await _results().download_blob(name)
        except ResourceNotFoundError:
            raise ResultNotFound(f"Job {job_id} has no result {key!r}") from None
    properties = download.properties
    return ResultStream(
        blob=name,
        size=properties.size,
        content_type=properties.content_settings.content_type or JSON_CONTENT_TYPE,
        chunks=blob_chunks(download, action),
    )


async def read_result(job_id: str, key: str) -> Any:
    """A stored result, parsed."""
    return await read_blob_json(layout.result_blob(job_id, key))


async def cleanup_job(job_id: str) -> int:
    """Delete the job's staging and grant blobs (its inputs and results stay); return how many."""
    prefix = layout.job_prefix(job_id)
    deleted = 0
    for role in layout.JOB_SCRATCH:
        deleted += await _delete_prefix(container_client(role), prefix)
    logger.info("Cleaned up job %s: %s staging and grant blobs deleted", job_id, deleted)
    return deleted


async def _delete_prefix(container: ContainerClient, prefix: str) -> int:
    with translated(f"Listing {container.container_name}/{prefix}"):
        try:
            names = [name async for name in container.list_blob_names(name_starts_with=prefix)]
        except ResourceNotFoundError:  # the container was never created: nothing to clean
            return 0
    limit = asyncio.Semaphore(CLEANUP_CONCURRENCY)

    async def delete(name: str) -> None:
        async with limit:
            with (
                translated(f"Deleting {container.container_name}/{name}"),
                contextlib.suppress(ResourceNotFoundError),
            ):
                await container.delete_blob(name)

    await asyncio.gather(*(delete(name) for name in names))
    return len(names)


def _results() -> ContainerClient:
    return container_client(Role.RESULTS)
