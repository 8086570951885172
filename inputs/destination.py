"""Where an ingest writes: the destination blob, the limits its content must meet, its metadata.

Every input source (``inputs/sources/``) hands its bytes to a ``Destination``: a stream goes
through ``write`` (sniffed, size-checked and hashed in one pass, nothing visible unless accepted);
a staged upload is copied server-side and checked from its recorded properties with ``check``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import cast

from azure.storage.blob import BlobProperties
from azure.storage.blob.aio import BlobClient

from core.api_versions import AGENTIC_MODE
from core.content_types import package_part_limit, size_limit, sniff_content_type, too_large
from core.errors import InputError, TransientError
from core.settings import get_settings
from storage.errors import translated
from storage.streams import write_checked_stream

COPY_POLL_SECONDS = 0.5
COPY_WAIT_SECONDS = 60.0
UNKNOWN_CONTENT_TYPE = "application/octet-stream"

# Metadata keys on ingested blobs (lower case: storage returns them so).
SOURCE_KEY = "ingestsource"
SHA256_KEY = "sha256"
NAME_KEY = "displayname"


@dataclass(frozen=True)
class IngestLimits:
    """What an input must satisfy: the CU API version's allow-list, and the app's size cap.

    A packaged input (an agentic job's document, ``mode`` set) must be a type the package takes,
    within the mode's one-file limit; any other must be a type the version analyses as it is.
    """

    api_version: str
    mode: str | None  # the analysis mode whose package the input goes into; None: analysed alone
    max_bytes: int

    def limit(self, content_type: str | None, name: str) -> int:
        """The largest accepted size of this input; ``InputError`` if its type is refused."""
        if self.mode is not None:
            return package_part_limit(content_type, self.api_version, self.mode, name=name)
        return size_limit(content_type, self.api_version, name=name)


def ingest_limits(*, packaged_for: str | None = None) -> IngestLimits:
    """The limits of the configured API version, or of an agentic job's package on ``packaged_for``."""
    settings = get_settings()
    cu = settings.content_understanding
    return IngestLimits(
        api_version=packaged_for or cu.api_version,
        mode=AGENTIC_MODE if packaged_for else None,
        max_bytes=settings.limits.max_file_bytes,
    )


@dataclass
class Destination:
    """One ingest's target blob: ``name`` is the input's display name (for messages)."""

    blob: BlobClient
    job_id: str
    name: str
    limits: IngestLimits
    metadata: dict[str, str] = field(default_factory=dict)

    def check_size(self, size: int) -> None:
        """Refuse an input by its declared size alone, before reading any of it."""
        if size == 0:
            raise InputError(f"File {self.name!r} is empty", code="EmptyInput", input_name=self.name)
        if size > self.limits.max_bytes:
            raise too_large(self.name, self.limits.max_bytes)

    def check(self, content_type: str | None, size: int) -> None:
        """Refuse an input whose (already sniffed) content type or size the limits rule out."""
        limit = min(self.limits.limit(content_type, self.name), self.limits.max_bytes)
        if size <= 0:
            raise InputError(f"File {self.name!r} is empty", code="EmptyInput", input_name=self.name)
        if size > limit:
            raise too_large(self.name, limit)

    async def write(self, chunks: AsyncIterable[bytes]) -> BlobProperties:
        """Stream ``chunks`` into the blob, sniffed, checked and hashed; its properties after."""
        limits, name = self.limits, self.name

        def check(head: bytes) -> tuple[str, int]:
            content_type = sniff_content_type(head, name)
            return cast(str, content_type), limits.limit(content_type, name)

        await write_checked_stream(
            self.blob, chunks, name=name, check=check, max_bytes=limits.max_bytes, metadata=self.metadata
        )
        return await self.properties()

    async def properties(self) -> BlobProperties:
        with translated(f"Reading blob {self.blob.container_name}/{self.blob.blob_name}"):
            return await self.blob.get_blob_properties()


async def wait_for_copy(blob: BlobClient) -> BlobProperties:
    """The properties of ``blob`` once a server-side copy into it has ended (a failed one is removed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + COPY_WAIT_SECONDS
    while True:
        with translated(f"Checking copy into {blob.container_name}/{blob.blob_name}"):
            properties = await blob.get_blob_properties()
        status = properties.copy.status
        if status in (None, "success"):
            return properties
        if status != "pending":
            with translated(f"Removing failed copy {blob.container_name}/{blob.blob_name}"):
                await blob.delete_blob()
            raise TransientError(f"Copying into {blob.blob_name} ended {status}", code="CopyFailed")
        if loop.time() > deadline:
            raise TransientError(f"Copying into {blob.blob_name} is still pending", code="CopyPending")
        await asyncio.sleep(COPY_POLL_SECONDS)
