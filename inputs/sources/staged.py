"""Staged uploads, ``{"staged": "<blob in staging>", "name": "<file name>"}``: files sent over HTTP.

The HTTP function streams each uploaded file into the staging container (``stage_upload``:
sniffed, size-checked and hashed on the way) before the job starts, so that only this small
reference enters the orchestration. Ingest copies the staged blob server-side into the job's
folder and then deletes it. Users never write a staged source themselves: the app makes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, cast
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobProperties
from pydantic import BaseModel

from core import layout
from core.content_types import size_limit, sniff_content_type
from core.errors import InputError
from core.jobs import InputSource
from core.layout import Role
from core.naming import check_job_id, sanitize_name
from core.settings import Settings
from inputs.destination import NAME_KEY, SHA256_KEY, UNKNOWN_CONTENT_TYPE, Destination, wait_for_copy
from storage.client import blob_client, container_client, ensure_containers
from storage.errors import translated
from storage.streams import as_chunks, write_checked_stream

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedUpload:
    """An upload waiting in the staging container; ``source()`` is what the job's input names."""

    staged: str
    name: str
    size: int
    content_type: str
    sha256: str

    def source(self) -> InputSource:
        return {"staged": self.staged, "name": self.name}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["contentType"] = data.pop("content_type")
        return data


async def stage_upload(
    job_id: str,
    filename: str,
    chunks: AsyncIterable[bytes] | bytes,
    *,
    max_bytes: int,
    api_version: str | None = None,
) -> StagedUpload:
    """Stream one uploaded file into the staging container, at most ``max_bytes`` long.

    The name is sanitised (a name with a path is refused), the content sniffed and, when
    ``api_version`` is given, checked against that version's allow-list. On any error nothing is
    left in staging.
    """
    check_job_id(job_id)
    name = sanitize_name(filename)
    await ensure_containers()
    staged = layout.staged_upload_blob(job_id, uuid.uuid4().hex, name)

    def check(head: bytes) -> tuple[str, int]:
        content_type = sniff_content_type(head, name)
        if api_version is None:
            return content_type or UNKNOWN_CONTENT_TYPE, max_bytes
        return cast(str, content_type), size_limit(content_type, api_version, name=name)

    written = await write_checked_stream(
        blob_client(staged),
        as_chunks(chunks),
        name=name,
        check=check,
        max_bytes=max_bytes,
        metadata={NAME_KEY: quote(name)},
    )
    logger.info(
        "Staged upload %s for job %s: %s bytes, %s", staged.name, job_id, written.size, written.content_type
    )
    return StagedUpload(staged.name, name, written.size, written.content_type, written.sha256)


async def discard_staged(names: Iterable[str]) -> None:
    """Delete staged uploads (missing ones are fine: discarding twice is harmless)."""
    staging = container_client(Role.STAGING)

    async def discard(name: str) -> None:
        with translated(f"Deleting staged upload {name}"), contextlib.suppress(ResourceNotFoundError):
            await staging.delete_blob(name)

    await asyncio.gather(*(discard(name) for name in names))


class StagedKind:
    key = "staged"
    request_model: type[BaseModel] | None = None
    required_fields: frozenset[str] = frozenset({"name"})

    def from_request(self, value: str, settings: Settings) -> InputSource:
        raise InputError("Staged uploads are made by the app, not named in requests", code="InvalidInputs")

    def default_name(self, source: InputSource) -> str:
        raise InputError("A staged input needs its file 'name'", code="InvalidSource")

    async def check_available(self, source: InputSource) -> None:
        """Staged by this very request: nothing to check."""

    async def ingest(self, source: InputSource, destination: Destination) -> BlobProperties:
        staged, name = source["staged"], destination.name
        if not layout.belongs_to_job(destination.job_id, staged):
            raise InputError(
                f"Staged upload {staged!r} does not belong to job {destination.job_id!r}",
                code="InvalidSource",
            )
        upload = container_client(Role.STAGING).get_blob_client(staged)
        with translated(f"Reading staged upload {staged}"):
            try:
                properties = await upload.get_blob_properties()
            except ResourceNotFoundError:
                raise InputError(
                    f"Upload of {name!r} is no longer staged; upload it again",
                    code="StagedUploadNotFound",
                    input_name=name,
                ) from None
        try:
            # Sniffed and hashed when it was staged: its recorded properties are checked.
            destination.check(properties.content_settings.content_type, properties.size)
        except InputError:
            await discard_staged([staged])
            raise
        destination.metadata[SHA256_KEY] = properties.metadata[SHA256_KEY]
        with translated(f"Copying staged upload {staged}"):
            # Same account: the service copies, authorised by the app's own credential (key or identity).
            await destination.blob.start_copy_from_url(
                upload.url,
                metadata=destination.metadata,
                source_etag=properties.etag,
                source_match_condition=MatchConditions.IfNotModified,
            )
        copied = await wait_for_copy(destination.blob)
        await discard_staged([staged])
        return copied

    async def release(self, source: InputSource) -> None:
        await discard_staged([source["staged"]])


KIND = StagedKind()
