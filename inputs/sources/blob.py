"""Blob sources, ``{"blob": "<container>/<path>"}``: a blob already in the app's storage account.

Users may name blobs in the intake and references containers only (``core.layout.USER_READABLE``):
the others hold other jobs' data, the grants, or (locally, in the same account) the Functions
host's own secrets. A reference is parsed into container and blob name as data and refused
unless it is a plain path: no ``.``, ``..`` or empty segments, no backslashes or control
characters, none of them percent-encoded either (they would be decoded by some layer between
here and the storage service, which then removes dot segments). The storage request is built
from the checked parts. Ingest reads exactly the version it verified (ETag condition).
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobProperties
from pydantic import BaseModel, ConfigDict, Field

from core.errors import InputError
from core.jobs import InputSource
from core.layout import USER_READABLE
from core.naming import sanitize_name
from core.redact import shorten
from core.settings import Settings, get_settings
from inputs.destination import Destination
from inputs.sources.base import ByteStream, write_stream
from storage.client import get_blob_service_client
from storage.errors import translated
from storage.streams import blob_chunks

# Percent-decoding rounds checked: enough for any double encoding a proxy chain might undo.
_DECODE_ROUNDS = 3
# Azure's limits on a blob name: 1,024 characters, at most 254 path segments
# (https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata).
MAX_BLOB_NAME_LENGTH = 1024
MAX_BLOB_SEGMENTS = 254


class BlobSource(BaseModel):
    """``{"blob": "container/path"}`` in a request or manifest."""

    model_config = ConfigDict(extra="forbid", strict=True)
    blob: str = Field(min_length=1, description="container/path of an existing blob")


@dataclass(frozen=True)
class BlobReference:
    """A checked blob reference: a user-readable container and a plain blob name in it."""

    container: str
    name: str

    def __str__(self) -> str:
        return f"{self.container}/{self.name}"


def parse_blob_reference(reference: str, allowed: Sequence[str]) -> BlobReference:
    """``reference`` (``container/path``) as data, or ``InputError`` (``BlobNotAllowed``)."""
    forms = _decoded_forms(reference)
    if not all(_is_plain_path(form) for form in forms):
        raise InputError(
            f"Blob {reference!r} must be a plain container/path: no '.', '..' or empty segments, "
            "backslashes or control characters, nor percent-encoded forms of them",
            code="BlobNotAllowed",
            input_name=reference,
        )
    container, _, name = reference.partition("/")
    if len(name) > MAX_BLOB_NAME_LENGTH or name.count("/") >= MAX_BLOB_SEGMENTS:
        raise InputError(
            f"Blob {shorten(repr(reference), 120)} is longer than a blob name can be "
            f"({MAX_BLOB_NAME_LENGTH} characters, {MAX_BLOB_SEGMENTS} segments)",
            code="BlobNotAllowed",
            input_name=reference,
        )
    # Checked in every decoded form: an encoded container name must not slip past the allow list.
    if not name or any(form.partition("/")[0] != container for form in forms) or container not in allowed:
        raise InputError(
            f"Blob {reference!r} must be a blob in one of the containers {', '.join(allowed)}",
            code="BlobNotAllowed",
            input_name=reference,
        )
    return BlobReference(container, name)


def allowed_containers(settings: Settings) -> tuple[str, ...]:
    return tuple(settings.storage.container(role) for role in USER_READABLE)


def _decoded_forms(reference: str) -> list[str]:
    """``reference`` as each layer might read it: percent-decoded, and compatibility-normalised
    (NFKC turns the fullwidth dots and slash U+FF0E U+FF0E U+FF0F into ``../``, as a server's
    Unicode handling might)."""
    forms = [reference]
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    return forms + [unicodedata.normalize("NFKC", form) for form in forms]


def _is_plain_path(path: str) -> bool:
    if "\\" in path or any(unicodedata.category(ch) == "Cc" for ch in path):
        return False
    # A trailing "/" (an empty last segment) names a folder, not a blob.
    return all(segment not in ("", ".", "..") for segment in path.split("/"))


class BlobKind:
    key = "blob"
    request_model: type[BaseModel] | None = BlobSource
    required_fields: frozenset[str] = frozenset()

    def from_request(self, value: str, settings: Settings) -> InputSource:
        parse_blob_reference(value, allowed_containers(settings))
        return {"blob": value}

    def default_name(self, source: InputSource) -> str:
        return sanitize_name(source["blob"].rstrip("/").rpartition("/")[2])

    async def check_available(self, source: InputSource) -> None:
        reference = parse_blob_reference(source["blob"], allowed_containers(get_settings()))
        blob = get_blob_service_client().get_blob_client(reference.container, reference.name)
        with translated(f"Checking blob {reference}"):
            try:
                await blob.get_blob_properties()
            except ResourceNotFoundError:
                raise InputError(
                    f"Blob {str(reference)!r} does not exist", code="BlobNotFound", input_name=str(reference)
                ) from None

    async def ingest(self, source: InputSource, destination: Destination) -> BlobProperties:
        async with self.open(source) as stream:
            return await write_stream(stream, destination)

    @contextlib.asynccontextmanager
    async def open(self, source: InputSource) -> AsyncIterator[ByteStream]:
        """The blob's bytes, of the version whose size is declared (a later overwrite fails the read)."""
        reference = parse_blob_reference(source["blob"], allowed_containers(get_settings()))
        blob = get_blob_service_client().get_blob_client(reference.container, reference.name)
        action = f"Reading blob {reference}"
        with translated(action):
            try:
                properties = await blob.get_blob_properties()
            except ResourceNotFoundError:
                raise InputError(
                    f"Blob {reference} does not exist", code="BlobNotFound", input_name=str(reference)
                ) from None

        async def chunks() -> AsyncIterator[bytes]:
            # Started on first read, after the declared size was checked. Read exactly the version
            # just verified: if it is overwritten meanwhile the read fails (transiently; a retry
            # ingests the new version) instead of mixing two versions.
            with translated(action):
                download = await blob.download_blob(
                    etag=properties.etag, match_condition=MatchConditions.IfNotModified
                )
            async for chunk in blob_chunks(download, action):
                yield chunk

        yield ByteStream(size=properties.size, chunks=chunks())

    async def release(self, source: InputSource) -> None:
        """The user's blob stays where it is."""


KIND = BlobKind()
