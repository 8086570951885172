"""Ingest: bring one input into ``inputs/{jobId}/{index}-{safe name}``, checked and fingerprinted.

An input comes from one of three places (``InputSource``):

- ``{"staged": "<blob in the staging container>", "name": "<file name>"}``: an HTTP upload that
  ``stage_upload`` streamed into staging (already sniffed and hashed there). Ingest copies it
  server-side, then deletes the staging blob.
- ``{"blob": "<container>/<path>"}``: a blob already in the account, in the intake or references
  container (the only ones users may point at: the others hold other jobs' data and the grants).
  Ingest reads the version it verified (ETag condition) and writes it through.
- ``{"url": "https://..."}``: fetched with the SSRF guard of ``inputs.url_fetch``.

Either way the app records size, the sniffed content type (checked against the CU API version's
allow-list), ETag and SHA-256. Bad input raises ``InputError`` naming the input and leaves no blob
behind. Ingest is idempotent: the destination's metadata records which source it holds, so running
the same ingest again (an activity retried, or executed twice) returns the same blob untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, cast
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobProperties
from azure.storage.blob.aio import BlobClient

from core.api_versions import PRO_MODE
from core.content_types import (
    check_supported,
    size_limit,
    sniff_content_type,
    too_large,
)
from core.errors import InputError, PermanentError, TransientError
from core.jobs import InputSource
from core.naming import check_job_id, display_name, input_blob_name, sanitize_name
from core.redact import display_url
from core.settings import get_settings
from inputs.url_fetch import check_url_input, open_url
from storage.client import ensure_containers, get_blob_service_client
from storage.errors import translated
from storage.streams import as_chunks, blob_chunks, write_checked_stream

__all__ = [
    "IngestedInput",
    "InputSource",
    "StagedUpload",
    "check_supported",
    "discard_staged",
    "ingest_input",
    "parse_source",
    "sanitize_name",
    "sniff_content_type",
    "stage_upload",
]

logger = logging.getLogger(__name__)

COPY_POLL_SECONDS = 0.5
COPY_WAIT_SECONDS = 60.0
UNKNOWN_CONTENT_TYPE = "application/octet-stream"

# Metadata keys on ingested blobs (lower case: storage returns them so).
SOURCE_KEY = "ingestsource"
SHA256_KEY = "sha256"
NAME_KEY = "displayname"


@dataclass(frozen=True)
class IngestedInput:
    """An input as stored for analysis (JSON-able through ``to_dict``/``from_dict``)."""

    index: int
    name: str
    blob: str
    size: int
    content_type: str
    etag: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "blob": self.blob,
            "size": self.size,
            "contentType": self.content_type,
            "etag": self.etag,
            "sha256": self.sha256,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestedInput:
        return cls(
            index=int(data["index"]),
            name=str(data["name"]),
            blob=str(data["blob"]),
            size=int(data["size"]),
            content_type=str(data["contentType"]),
            etag=str(data["etag"]),
            sha256=str(data["sha256"]),
        )


@dataclass(frozen=True)
class StagedUpload:
    """An upload waiting in the staging container; ``source()`` is what the job's input names."""

    staged: str
    name: str
    size: int
    content_type: str
    sha256: str

    def source(self) -> InputSource:
        return InputSource(staged=self.staged, name=self.name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["contentType"] = data.pop("content_type")
        return data


@dataclass(frozen=True)
class IngestLimits:
    """What an input must satisfy: the CU API version's allow-list (in ``mode``), and the app's size cap."""

    api_version: str
    mode: str | None  # an analysis mode of the version's profile; None: standard analysis
    max_bytes: int


def ingest_limits(*, pro_mode: bool) -> IngestLimits:
    """The limits of the configured API version (the pro-mode one when ``pro_mode``)."""
    settings = get_settings()
    cu = settings.content_understanding
    return IngestLimits(
        api_version=cu.pro_mode_api_version if pro_mode else cu.api_version,
        mode=PRO_MODE if pro_mode else None,
        max_bytes=settings.limits.max_file_bytes,
    )


def parse_source(value: object) -> InputSource:
    """``value`` as an ``InputSource``, or ``InputError`` saying what is wrong with it."""
    if not isinstance(value, dict):
        raise InputError('An input must be an object such as {"url": "https://..."}', code="InvalidSource")
    kinds = [key for key in ("staged", "blob", "url") if key in value]
    unknown = set(value) - {"staged", "blob", "url", "name"}
    if len(kinds) != 1 or unknown:
        raise InputError(
            "An input must have exactly one of 'staged' (with 'name'), 'blob' or 'url'"
            + (f"; unknown fields: {', '.join(sorted(unknown))}" if unknown else ""),
            code="InvalidSource",
        )
    if not all(isinstance(field, str) and field for field in value.values()):
        raise InputError("Every field of an input must be a non-empty string", code="InvalidSource")
    if kinds == ["staged"] and "name" not in value:
        raise InputError("A staged input needs its file 'name'", code="InvalidSource")
    return cast(InputSource, value)


async def ingest_input(
    job_id: str, index: int, source: InputSource, *, pro_mode: bool = False
) -> IngestedInput:
    """Ingest input number ``index`` of job ``job_id`` (see the module docstring).

    ``pro_mode`` selects the allow-list of the pro-mode API version instead of the default one.
    """
    check_job_id(job_id)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise InputError(f"Input index {index!r} must be a whole number from 0", code="InvalidSource")
    source = parse_source(source)
    name = display_name(source)
    return await ingest_to(
        get_settings().storage.inputs_container,
        input_blob_name(job_id, index, source),
        job_id=job_id,
        index=index,
        source=source,
        name=name,
        limits=ingest_limits(pro_mode=pro_mode),
    )


async def ingest_to(
    container: str,
    blob_name: str,
    *,
    job_id: str,
    index: int,
    source: InputSource,
    name: str,
    limits: IngestLimits,
) -> IngestedInput:
    """Ingest ``source`` into ``container/blob_name`` (also used for knowledge-base reference files)."""
    await ensure_containers()
    blob = get_blob_service_client().get_blob_client(container, blob_name)
    fingerprint = _fingerprint(source)
    existing = await _already_ingested(blob, fingerprint)
    if existing is not None:
        logger.info("Input %s of job %s was already ingested as %s", index, job_id, blob_name)
        if "staged" in source:
            await discard_staged([source["staged"]])
        return _ingested(index, name, blob_name, existing)
    metadata = {SOURCE_KEY: fingerprint, NAME_KEY: quote(name)}
    try:
        if "staged" in source:
            properties = await _copy_staged(blob, job_id, source["staged"], name, metadata, limits)
        elif "blob" in source:
            properties = await _write_from_blob(blob, source["blob"], name, metadata, limits)
        else:
            properties = await _write_from_url(blob, source["url"], name, metadata, limits)
    except PermanentError:
        # Activities run at least once: a concurrent execution of this same ingest may have just
        # finished it (and, for an upload, removed the staged blob this one was about to read).
        existing = await _already_ingested(blob, fingerprint)
        if existing is None:
            raise
        logger.info("Input %s of job %s was ingested concurrently as %s", index, job_id, blob_name)
        properties = existing
    result = _ingested(index, name, blob_name, properties)
    logger.info(
        "Ingested input %s of job %s: %s, %s bytes, %s",
        index,
        job_id,
        blob_name,
        result.size,
        result.content_type,
    )
    return result


async def stage_upload(
    job_id: str,
    filename: str,
    chunks: AsyncIterable[bytes] | bytes,
    *,
    max_bytes: int,
    api_version: str | None = None,
    pro_mode: bool = False,
) -> StagedUpload:
    """Stream one uploaded file into the staging container, at most ``max_bytes`` long.

    The name is sanitised (a name with a path is refused), the content sniffed and, when
    ``api_version`` is given, checked against that version's allow-list. On any error nothing is
    left in staging.
    """
    check_job_id(job_id)
    name = sanitize_name(filename)
    await ensure_containers()
    staged = f"{job_id}/{uuid.uuid4().hex}-{name}"
    blob = get_blob_service_client().get_blob_client(get_settings().storage.staging_container, staged)

    def check(head: bytes) -> tuple[str, int]:
        content_type = sniff_content_type(head, name)
        if api_version is None:
            return content_type or UNKNOWN_CONTENT_TYPE, max_bytes
        mode = PRO_MODE if pro_mode else None
        return cast(str, content_type), size_limit(content_type, api_version, mode=mode, name=name)

    written = await write_checked_stream(
        blob, as_chunks(chunks), name=name, check=check, max_bytes=max_bytes, metadata={NAME_KEY: quote(name)}
    )
    logger.info(
        "Staged upload %s for job %s: %s bytes, %s", staged, job_id, written.size, written.content_type
    )
    return StagedUpload(staged, name, written.size, written.content_type, written.sha256)


async def discard_staged(names: Iterable[str]) -> None:
    """Delete staged uploads (missing ones are fine: discarding twice is harmless)."""
    staging = get_blob_service_client().get_container_client(get_settings().storage.staging_container)

    async def discard(name: str) -> None:
        with translated(f"Deleting staged upload {name}"), contextlib.suppress(ResourceNotFoundError):
            await staging.delete_blob(name)

    await asyncio.gather(*(discard(name) for name in names))


def _fingerprint(source: InputSource) -> str:
    return hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:32]


async def _already_ingested(blob: BlobClient, fingerprint: str) -> BlobProperties | None:
    with translated(f"Checking blob {blob.container_name}/{blob.blob_name}"):
        try:
            properties = await blob.get_blob_properties()
        except ResourceNotFoundError:
            return None
    if properties.metadata.get(SOURCE_KEY) != fingerprint or SHA256_KEY not in properties.metadata:
        return None
    if properties.copy.status == "pending":
        return await _wait_for_copy(blob)
    return properties if properties.copy.status in (None, "success") else None


async def _copy_staged(
    blob: BlobClient, job_id: str, staged: str, name: str, metadata: dict[str, str], limits: IngestLimits
) -> BlobProperties:
    if not staged.startswith(f"{job_id}/"):
        raise InputError(f"Staged upload {staged!r} does not belong to job {job_id!r}", code="InvalidSource")
    source = get_blob_service_client().get_blob_client(get_settings().storage.staging_container, staged)
    with translated(f"Reading staged upload {staged}"):
        try:
            properties = await source.get_blob_properties()
        except ResourceNotFoundError:
            raise InputError(
                f"Upload of {name!r} is no longer staged; upload it again",
                code="StagedUploadNotFound",
                input_name=name,
            ) from None
    try:
        _check(properties.content_settings.content_type, properties.size, name, limits)
    except InputError:
        await discard_staged([staged])
        raise
    metadata[SHA256_KEY] = properties.metadata[SHA256_KEY]
    with translated(f"Copying staged upload {staged}"):
        # Same account: the service copies, authorised by the app's own credential (key or identity).
        await blob.start_copy_from_url(
            source.url,
            metadata=metadata,
            source_etag=properties.etag,
            source_match_condition=MatchConditions.IfNotModified,
        )
    copied = await _wait_for_copy(blob)
    await discard_staged([staged])
    return copied


async def _wait_for_copy(blob: BlobClient) -> BlobProperties:
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


def check_blob_input(reference: str) -> tuple[str, str]:
    """``(container, path)`` of a ``{"blob": ...}`` input, else ``InputError``.

    Only the intake and references containers may be named: the others hold other jobs' data,
    the grants, or (locally, in the same account) the Functions host's own secrets.
    """
    storage = get_settings().storage
    container, _, path = reference.partition("/")
    allowed = (storage.intake_container, storage.references_container)
    if container not in allowed or not path or path.endswith("/"):
        raise InputError(
            f"Blob {reference!r} must be a blob in one of the containers {', '.join(allowed)}",
            code="BlobNotAllowed",
            input_name=reference,
        )
    return container, path


async def _write_from_blob(
    blob: BlobClient, reference: str, name: str, metadata: dict[str, str], limits: IngestLimits
) -> BlobProperties:
    container, path = check_blob_input(reference)
    source = get_blob_service_client().get_blob_client(container, path)
    action = f"Reading blob {reference}"
    with translated(action):
        try:
            properties = await source.get_blob_properties()
        except ResourceNotFoundError:
            raise InputError(
                f"Blob {reference} does not exist", code="BlobNotFound", input_name=reference
            ) from None
    _check_size(properties.size, name, limits)
    with translated(action):
        # Read exactly the version just verified: if it is overwritten meanwhile the read fails
        # (transiently; a retry ingests the new version) instead of mixing two versions.
        download = await source.download_blob(
            etag=properties.etag, match_condition=MatchConditions.IfNotModified
        )
    await _write(blob, blob_chunks(download, action), name, metadata, limits)
    return await _properties(blob)


async def _write_from_url(
    blob: BlobClient, url: str, name: str, metadata: dict[str, str], limits: IngestLimits
) -> BlobProperties:
    allow_local = get_settings().allow_local_urls
    check_url_input(url, allow_local=allow_local)
    async with open_url(url, allow_local=allow_local) as download:
        if download.content_length is not None:
            _check_size(download.content_length, name, limits)
        await _write(blob, download.chunks(), name, metadata, limits)
    logger.info("Downloaded %s into %s", display_url(url), blob.blob_name)
    return await _properties(blob)


async def _write(
    blob: BlobClient, chunks: AsyncIterable[bytes], name: str, metadata: dict[str, str], limits: IngestLimits
) -> None:
    def check(head: bytes) -> tuple[str, int]:
        content_type = sniff_content_type(head, name)
        limit = size_limit(content_type, limits.api_version, mode=limits.mode, name=name)
        return cast(str, content_type), limit

    await write_checked_stream(
        blob, chunks, name=name, check=check, max_bytes=limits.max_bytes, metadata=metadata
    )


def _check(content_type: str | None, size: int, name: str, limits: IngestLimits) -> None:
    check_supported(
        content_type,
        size,
        limits.api_version,
        mode=limits.mode,
        name=name,
        max_bytes=limits.max_bytes,
    )


def _check_size(size: int, name: str, limits: IngestLimits) -> None:
    # Before reading anything: the declared size alone can rule an input out.
    if size == 0:
        raise InputError(f"File {name!r} is empty", code="EmptyInput", input_name=name)
    if size > limits.max_bytes:
        raise too_large(name, limits.max_bytes)


async def _properties(blob: BlobClient) -> BlobProperties:
    with translated(f"Reading blob {blob.container_name}/{blob.blob_name}"):
        return await blob.get_blob_properties()


def _ingested(index: int, name: str, blob_name: str, properties: BlobProperties) -> IngestedInput:
    return IngestedInput(
        index=index,
        name=name,
        blob=blob_name,
        size=properties.size,
        content_type=properties.content_settings.content_type or UNKNOWN_CONTENT_TYPE,
        etag=str(properties.etag),
        sha256=properties.metadata[SHA256_KEY],
    )
