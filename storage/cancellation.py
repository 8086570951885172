"""The per-job cancel marker blob (``core.layout.cancel_marker_blob``): written once, read by steps."""

from __future__ import annotations

import asyncio
import json
import time
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


class SharedCancelCheck:
    """One job's cancel marker, read on behalf of the several items of one activity.

    Items that ask within ``share_seconds`` of a read's start take that read's answer instead of
    reading again (ten documents of a ``prepare_inputs`` call reaching their analyses together cost
    one read, not ten). That widens the window in which a cancel can miss an item by as much: an
    analysis may start up to ``share_seconds`` after a cancel, as one already past its check would.
    Once a cancel is seen it is final: no more reads.
    """

    def __init__(self, job_id: str, share_seconds: float = 0.2) -> None:
        self.job_id = job_id
        self.share_seconds = share_seconds
        self.reads = 0
        self._read: asyncio.Future[bool] | None = None
        self._started = 0.0
        self._seen = False

    async def requested(self) -> bool:
        if self._seen:
            return True
        now = time.monotonic()
        if self._read is None or now - self._started > self.share_seconds:
            self._started, self.reads = now, self.reads + 1
            self._read = asyncio.ensure_future(cancel_requested(self.job_id))
        # Shielded: one waiting item being cancelled must not cancel the read the others share.
        self._seen = await asyncio.shield(self._read)
        return self._seen
