"""The per-job cancel marker blob (``core.layout.cancel_marker_blob``): written once, read by steps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings

from core.layout import cancel_marker_blob
from storage.client import blob_client, ensure_containers
from storage.errors import translated


async def request_cancel(job_id: str) -> None:
    """Write the job's cancel marker (idempotent: a second cancel rewrites it)."""
    await ensure_containers()
    path = cancel_marker_blob(job_id)
    body = json.dumps({"jobId": job_id, "requestedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    with translated(f"Writing the cancel marker of job {job_id}"):
        await blob_client(path).upload_blob(
            body.encode(), overwrite=True, content_settings=ContentSettings(content_type="application/json")
        )


async def cancel_requested(job_id: str) -> bool:
    """Whether the job's cancel was requested (its marker exists)."""
    with translated(f"Reading the cancel marker of job {job_id}"):
        try:
            await blob_client(cancel_marker_blob(job_id)).get_blob_properties()
        except ResourceNotFoundError:
            return False
    return True
