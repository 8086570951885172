"""Input sources as plug-ins: the registry of every place a job's documents can come from.

Each kind is one module here implementing ``base.SourceKind``: ``staged`` (HTTP uploads),
``blob`` (a blob in the intake or references container) and ``url`` (a download behind the SSRF
guard). Request parsing, the HTTP contract and its OpenAPI document, submission and ingest all
go through the functions below, never through a kind's name. To add a source, write its module
and add it to ``SOURCE_KINDS``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from azure.storage.blob import BlobProperties
from pydantic import BaseModel

from core.errors import InputError
from core.jobs import InputSource
from core.naming import sanitize_name
from core.settings import Settings
from inputs.destination import Destination
from inputs.sources import blob, staged, url
from inputs.sources.base import SourceKind

SOURCE_KINDS: tuple[SourceKind, ...] = (staged.KIND, blob.KIND, url.KIND)

NAME_FIELD = "name"
FALLBACK_NAME = "download"
# Sources checked at once when a request arrives. Each check holds a storage client (or an HTTP
# request) while it waits: a request naming 1,000 blobs held 1,000 at once and took the worker
# from 102 to 156 MB in 3 s (bench/memory_bench.py). 16 at a time: 1,000 blobs cost about 63
# round trips to storage, a small part of such a request.
CHECK_CONCURRENCY = 16
_BY_KEY: dict[str, SourceKind] = {kind.key: kind for kind in SOURCE_KINDS}


def request_models() -> tuple[type[BaseModel], ...]:
    """How users may write a source in a request or manifest, one model per user-facing kind."""
    return tuple(kind.request_model for kind in SOURCE_KINDS if kind.request_model is not None)


def request_keys() -> tuple[str, ...]:
    """The members that name a user-facing kind (``blob``, ``url``)."""
    return tuple(kind.key for kind in SOURCE_KINDS if kind.request_model is not None)


def request_examples() -> str:
    """The user-facing kinds' shapes, for messages: ``{"blob": ...} or {"url": ...}``."""
    return " or ".join(f'{{"{key}": ...}}' for key in request_keys())


def source_from_request(item: Mapping[str, str], settings: Settings) -> InputSource:
    """A user's ``{kind: value}`` (shape already validated by the request model), checked as a source."""
    ((key, value),) = item.items()
    return _BY_KEY[key].from_request(value, settings)


def parse_source(value: object) -> InputSource:
    """A source read back from history or an activity's input, or ``InputError`` saying what is wrong."""
    if not isinstance(value, dict):
        raise InputError('An input must be an object such as {"url": "https://..."}', code="InvalidSource")
    keys = [key for key in _BY_KEY if key in value]
    unknown = set(value) - set(_BY_KEY) - {NAME_FIELD}
    if len(keys) != 1 or unknown:
        raise InputError(
            f"An input must have exactly one of {', '.join(repr(key) for key in _BY_KEY)}"
            + (f"; unknown fields: {', '.join(sorted(unknown))}" if unknown else ""),
            code="InvalidSource",
        )
    if not all(isinstance(field, str) and field for field in value.values()):
        raise InputError("Every field of an input must be a non-empty string", code="InvalidSource")
    missing = _BY_KEY[keys[0]].required_fields - set(value)
    if missing:
        raise InputError(f"A {keys[0]} input needs {', '.join(sorted(missing))}", code="InvalidSource")
    source: dict[str, Any] = value
    return source


def kind_of(source: InputSource) -> SourceKind:
    """The kind of a parsed source."""
    return next(kind for key, kind in _BY_KEY.items() if key in source)


def display_name(source: InputSource) -> str:
    """The document's sanitised name: the one it carries, else its kind's (``download`` if none fits)."""
    if NAME_FIELD in source:
        return sanitize_name(source[NAME_FIELD])
    try:
        return kind_of(source).default_name(source)
    except InputError:
        return FALLBACK_NAME


def named(source: InputSource) -> InputSource:
    """``source`` carrying its display name, as jobs keep their sources: the orchestrator, which
    knows no kinds, reads the name from it (to grant access to where the input will be stored)."""
    if NAME_FIELD in source:
        return source
    return {**source, NAME_FIELD: display_name(source)}


async def check_available(sources: Sequence[InputSource]) -> None:
    """At request time, every source must be readable now (ingest checks again, and records it)."""
    limit = asyncio.Semaphore(CHECK_CONCURRENCY)

    async def check(source: InputSource) -> None:
        async with limit:
            await kind_of(source).check_available(source)

    await asyncio.gather(*(check(source) for source in sources))


async def ingest_source(source: InputSource, destination: Destination) -> BlobProperties:
    """Bring ``source``'s bytes into ``destination`` through its kind."""
    return await kind_of(source).ingest(source, destination)


async def release(sources: Sequence[InputSource]) -> None:
    """Free what the sources hold (staged uploads) once ingested, or when their job will not start."""
    await asyncio.gather(*(kind_of(source).release(source) for source in sources))
