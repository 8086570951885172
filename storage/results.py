"""Job results as blobs, ``results/{jobId}/{key}.json``, and the clean-up when a job ends.

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

from core.errors import PermanentError
from core.naming import check_job_id, check_key
from core.settings import get_settings
from storage.client import ensure_containers, get_blob_service_client
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


def result_blob_name(job_id: str, key: str) -> str:
    """Where the result ``key`` of job ``job_id`` is stored in the results container."""
    return f"{check_job_id(job_id)}/{check_key(key)}.json"


def operation_result_key(key: str) -> str:
    """The results-container key under which an operation's full response is kept."""
    return f"operation-{key}"


async def save_result(job_id: str, key: str, result: Mapping[str, Any]) -> str:
    """Store ``result`` as JSON (replacing an earlier one: saving is idempotent); return the blob name."""
    name = result_blob_name(job_id, key)
    await ensure_containers()
    data = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
    with translated(f"Writing result {name}"):
        await _results().upload_blob(
            name, data, overwrite=True, content_settings=ContentSettings(content_type=JSON_CONTENT_TYPE)
        )
    logger.info("Saved result %s (%s bytes)", name, len(data))
    return name


async def open_result_stream(job_id: str, key: str) -> ResultStream:
    """Open a stored result for streaming; ``ResultNotFound`` before any byte if there is none."""
    name = result_blob_name(job_id, key)
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
    stream = await open_result_stream(job_id, key)
    return json.loads(b"".join([chunk async for chunk in stream.chunks]))


async def cleanup_job(job_id: str) -> int:
    """Delete the job's staging and grant blobs (its inputs and results stay); return how many."""
    check_job_id(job_id)
    storage = get_settings().storage
    service = get_blob_service_client()
    deleted = 0
    for container in (storage.staging_container, storage.grants_container):
        deleted += await _delete_prefix(service.get_container_client(container), f"{job_id}/")
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
    return get_blob_service_client().get_container_client(get_settings().storage.results_container)
