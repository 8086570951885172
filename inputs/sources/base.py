"""What an input source is: the protocol every kind in ``inputs/sources/`` implements.

A source is JSON that travels through a request, a manifest and orchestration history: one
member naming its kind and holding its value (``{"url": "https://..."}``), plus, once the job is
planned, ``name``, the document's display name. A kind knows how users write it (``request_model``,
which the HTTP contract and its OpenAPI document are generated from), how to check a user's value
without I/O (``from_request``), what to call the document when no name was given
(``default_name``), what to check against the world when the request arrives (``check_available``),
how to bring its bytes into the job's destination blob (``ingest``), and what to free once that
is done (``release``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from azure.storage.blob import BlobProperties
from pydantic import BaseModel

from core.jobs import InputSource
from core.settings import Settings
from inputs.destination import Destination


class SourceKind(Protocol):
    """One place documents can come from (see the module docstring)."""

    key: str  # the JSON member that names a source of this kind: "blob", "url", ...
    request_model: type[BaseModel] | None  # how users write one; None: only the app makes them
    required_fields: frozenset[str]  # members besides ``key`` a source of this kind must carry

    def from_request(self, value: str, settings: Settings) -> InputSource:
        """A user's value checked without I/O (allowed containers, the SSRF guard), as a source."""
        ...

    def default_name(self, source: InputSource) -> str:
        """The document's sanitised name when the source carries none (``InputError`` if none fits)."""
        ...

    async def check_available(self, source: InputSource) -> None:
        """At request time: ``InputError`` if the source cannot be read now (a missing blob)."""
        ...

    async def ingest(self, source: InputSource, destination: Destination) -> BlobProperties:
        """Bring the source's bytes into ``destination``; the written blob's properties."""
        ...

    async def release(self, source: InputSource) -> None:
        """Free what the source holds once its content is ingested, or its job will not start."""
        ...


@dataclass
class ByteStream:
    """A source opened for reading: its declared size, if known, and its bytes."""

    size: int | None
    chunks: AsyncIterator[bytes]


async def write_stream(stream: ByteStream, destination: Destination) -> BlobProperties:
    """Write an opened source: refused on its declared size alone when possible, else checked as read."""
    if stream.size is not None:
        destination.check_size(stream.size)
    return await destination.write(stream.chunks)
