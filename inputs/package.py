"""Packaging an agentic job's stored documents into its one PDF, in storage.

Reads each part from the job's inputs (where ``ingest`` put it), builds the package
(``inputs.packaging``) against the agentic mode's limits of the job's API version, and writes it
to ``core.layout.package_blob``. Writing overwrites: a retried activity builds the same package
again before anything has read it (the grant that lets CU read it is made after this returns).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings

from core import layout
from core.api_versions import AGENTIC_MODE, get_profile
from core.content_types import PDF, package_bytes
from core.errors import PermanentError
from core.layout import BlobPath, Role
from inputs.packaging import PACKAGE_NAME, Package, PackageLimits, Part, build_package
from storage.client import blob_client, ensure_containers
from storage.errors import translated

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredPart:
    """A part as the job stored it: its name and role, and its blob in the inputs container."""

    name: str
    role: str
    blob: str
    content_type: str


@dataclass(frozen=True)
class WrittenPackage:
    name: str
    blob: str
    size: int
    sha256: str
    package: Package


def package_limits(api_version: str) -> PackageLimits:
    """The agentic mode's one-file limits of ``api_version``."""
    limits = get_profile(api_version).mode(AGENTIC_MODE).limits
    return PackageLimits(
        max_pages=limits.max_pages,
        max_bytes=package_bytes(limits),
        what=f"agentic mode ({api_version})",
    )


async def package_inputs(job_id: str, api_version: str, parts: Sequence[StoredPart]) -> WrittenPackage:
    """Build and store job ``job_id``'s package of ``parts``, in order."""
    limits = package_limits(api_version)
    loaded = [
        Part(
            name=part.name,
            role="reference" if part.role == "reference" else "input",
            content_type=part.content_type,
            data=await _read(job_id, part.blob),
        )
        for part in parts
    ]
    package = build_package(loaded, limits)
    await ensure_containers()
    target = layout.package_blob(job_id)
    with translated(f"Writing package {target.name}"):
        await blob_client(target).upload_blob(
            package.data, overwrite=True, content_settings=ContentSettings(content_type=PDF)
        )
    logger.info(
        "Packaged %d documents of job %s into %s: %d pages, %d bytes",
        len(parts),
        job_id,
        target.name,
        package.pages,
        len(package.data),
    )
    return WrittenPackage(
        name=PACKAGE_NAME,
        blob=target.name,
        size=len(package.data),
        sha256=hashlib.sha256(package.data).hexdigest(),
        package=package,
    )


async def _read(job_id: str, blob_name: str) -> bytes:
    if not layout.belongs_to_job(job_id, blob_name):
        raise PermanentError(f"Blob {blob_name!r} is not a document of job {job_id!r}", code="InvalidPart")
    path = BlobPath(Role.INPUTS, blob_name)
    with translated(f"Reading {blob_name} to package it"):
        try:
            downloaded = await blob_client(path).download_blob()
        except ResourceNotFoundError:
            raise PermanentError(
                f"Document {blob_name} is gone; it cannot be packaged", code="BlobNotFound"
            ) from None
        return await downloaded.readall()
