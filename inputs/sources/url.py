"""URL sources, ``{"url": "https://..."}``: a document downloaded behind the SSRF guard.

``inputs.url_fetch`` is the transport: the URL is checked when the request arrives (https, no
credentials or signature, no private address literal) and again at ingest, where every
connection and redirect is checked against the address it actually reaches.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import unquote, urlsplit

from azure.storage.blob import BlobProperties
from pydantic import BaseModel, ConfigDict, Field

from core.jobs import InputSource
from core.naming import sanitize_name
from core.redact import display_url
from core.settings import Settings, get_settings
from inputs.destination import Destination
from inputs.sources.base import ByteStream, write_stream
from inputs.url_fetch import check_url_input, open_url

logger = logging.getLogger(__name__)


class UrlSource(BaseModel):
    """``{"url": "https://..."}`` in a request or manifest."""

    model_config = ConfigDict(extra="forbid", strict=True)
    url: str = Field(min_length=1, description="an https URL", json_schema_extra={"format": "uri"})


class UrlKind:
    key = "url"
    request_model: type[BaseModel] | None = UrlSource
    required_fields: frozenset[str] = frozenset()

    def from_request(self, value: str, settings: Settings) -> InputSource:
        check_url_input(value, allow_local=settings.allow_local_urls)
        # Kept in history as given, less its fragment: a fragment is never sent to the server (so
        # it is never needed) and is where OAuth puts tokens. The query stays: it is part of what
        # the server serves, and credential parameters were refused above (docs/api.md).
        return {"url": value.partition("#")[0]}

    def default_name(self, source: InputSource) -> str:
        path = unquote(urlsplit(source["url"]).path)
        return sanitize_name(path.rstrip("/").rpartition("/")[2])

    async def check_available(self, source: InputSource) -> None:
        """Nothing to check before ingest: the URL is fetched once, and checked as it is."""

    async def ingest(self, source: InputSource, destination: Destination) -> BlobProperties:
        async with self.open(source) as stream:
            properties = await write_stream(stream, destination)
        logger.info("Downloaded %s into %s", display_url(source["url"]), destination.blob.blob_name)
        return properties

    @contextlib.asynccontextmanager
    async def open(self, source: InputSource) -> AsyncIterator[ByteStream]:
        """The response's bytes (its declared length, if any, as the size)."""
        url = source["url"]
        allow_local = get_settings().allow_local_urls
        check_url_input(url, allow_local=allow_local)
        async with open_url(url, allow_local=allow_local) as download:
            yield ByteStream(size=download.content_length, chunks=download.chunks())

    async def release(self, source: InputSource) -> None:
        """A URL holds nothing of ours."""


KIND = UrlKind()
