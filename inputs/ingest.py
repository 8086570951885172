"""Ingest: bring one input into its job's folder (``core.layout.input_blob``), checked and fingerprinted.

An input comes from one of the source kinds of ``inputs/sources/`` (an HTTP upload that was
staged, a blob in the intake or references container, a URL); its kind brings the bytes into the
destination blob. Either way the app records size, the sniffed content type (checked against the
CU API version's allow-list), ETag and SHA-256. Bad input raises ``InputError`` naming the input
and leaves no blob behind. Ingest is idempotent: the destination's metadata records which source
it holds, so running the same ingest again (an activity retried, or executed twice) returns the
same blob untouched.
"""

from __future__ import annotations

import hashlib
import json
import logging
from urllib.parse import quote

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobProperties
from azure.storage.blob.aio import BlobClient

from core import layout
from core.content_types import check_supported, sniff_content_type
from core.contracts.activities import StoredInput
from core.errors import InputError, PermanentError
from core.jobs import InputSource
from core.layout import BlobPath
from core.naming import check_job_id, sanitize_name
from inputs import sources
from inputs.destination import (
    NAME_KEY,
    SHA256_KEY,
    SOURCE_KEY,
    UNKNOWN_CONTENT_TYPE,
    Destination,
    IngestLimits,
    ingest_limits,
    wait_for_copy,
)
from inputs.sources import display_name, parse_source
from inputs.sources.staged import StagedUpload, discard_staged, stage_upload
from storage.client import blob_client, ensure_containers
from storage.errors import translated

__all__ = [
    "IngestLimits",
    "InputSource",
    "StagedUpload",
    "check_supported",
    "discard_staged",
    "ingest_input",
    "ingest_limits",
    "ingest_to",
    "parse_source",
    "sanitize_name",
    "sniff_content_type",
    "stage_upload",
]

logger = logging.getLogger(__name__)


async def ingest_input(
    job_id: str, index: int, source: InputSource, *, packaged_for: str | None = None
) -> StoredInput:
    """Ingest input number ``index`` of job ``job_id`` (see the module docstring).

    ``packaged_for`` (an API version) says the input goes into an agentic job's package: the
    package's types and limits apply instead of the configured version's allow-list.
    """
    check_job_id(job_id)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise InputError(f"Input index {index!r} must be a whole number from 0", code="InvalidSource")
    source = parse_source(source)
    name = display_name(source)
    return await ingest_to(
        layout.input_blob(job_id, index, name),
        job_id=job_id,
        index=index,
        source=source,
        name=name,
        limits=ingest_limits(packaged_for=packaged_for),
    )


async def ingest_to(
    path: BlobPath,
    *,
    job_id: str,
    index: int,
    source: InputSource,
    name: str,
    limits: IngestLimits,
) -> StoredInput:
    """Ingest ``source`` into the blob at ``path``."""
    await ensure_containers()
    blob = blob_client(path)
    fingerprint = _fingerprint(source)
    existing = await _already_ingested(blob, fingerprint)
    if existing is not None:
        logger.info("Input %s of job %s was already ingested as %s", index, job_id, path.name)
        await sources.release([source])
        return _ingested(index, name, path.name, existing)
    destination = Destination(
        blob, job_id, name, limits, metadata={SOURCE_KEY: fingerprint, NAME_KEY: quote(name)}
    )
    try:
        properties = await sources.ingest_source(source, destination)
    except PermanentError:
        # Activities run at least once: a concurrent execution of this same ingest may have just
        # finished it (and, for an upload, removed the staged blob this one was about to read).
        existing = await _already_ingested(blob, fingerprint)
        if existing is None:
            raise
        logger.info("Input %s of job %s was ingested concurrently as %s", index, job_id, path.name)
        properties = existing
    result = _ingested(index, name, path.name, properties)
    logger.info(
        "Ingested input %s of job %s: %s, %s bytes, %s",
        index,
        job_id,
        path.name,
        result.size,
        result.content_type,
    )
    return result


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
        return await wait_for_copy(blob)
    return properties if properties.copy.status in (None, "success") else None


def _ingested(index: int, name: str, blob_name: str, properties: BlobProperties) -> StoredInput:
    return StoredInput(
        index=index,
        name=name,
        blob=blob_name,
        size=properties.size,
        content_type=properties.content_settings.content_type or UNKNOWN_CONTENT_TYPE,
        etag=str(properties.etag),
        sha256=properties.metadata[SHA256_KEY],
    )
