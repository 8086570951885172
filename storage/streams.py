"""Streaming bytes into a blob while sniffing, size-checking and hashing them, all in one pass.

Nothing becomes visible until the whole stream has been read and accepted: small files go up in one
``Put Blob`` at the end, larger ones as uncommitted blocks that are committed only at the end. A
stream that turns out too large, empty or of the wrong type therefore leaves no blob behind (the
service discards uncommitted blocks by itself). Memory use is one block, whatever the file size.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass

from azure.storage.blob import BlobBlock, ContentSettings
from azure.storage.blob.aio import BlobClient, StorageStreamDownloader

from core.content_types import SNIFF_BYTES, too_large
from core.errors import InputError
from storage.errors import translated

BLOCK_SIZE = 4 * 1024 * 1024
# Larger bodies go as blocks, streamed: the SDK sends a single Put Blob as one bytes body, which
# aiohttp writes in one go (blocking the event loop; it warns above 1 MiB).
SINGLE_PUT_MAX_BYTES = 1024 * 1024

TypeCheck = Callable[[bytes], tuple[str, int]]
"""Given a file's first bytes, its content type and largest accepted size (``InputError`` if refused)."""


@dataclass(frozen=True)
class WrittenBlob:
    size: int
    sha256: str
    content_type: str
    etag: str


async def write_checked_stream(
    blob: BlobClient,
    chunks: AsyncIterable[bytes],
    *,
    name: str,
    check: TypeCheck,
    max_bytes: int,
    metadata: dict[str, str],
) -> WrittenBlob:
    """Write ``chunks`` to ``blob`` if they pass ``check`` and fit in ``max_bytes``.

    ``name`` is the file's display name, for error messages. The SHA-256 goes into the blob's
    metadata as ``sha256``.
    """
    hasher = hashlib.sha256()
    buffer = bytearray()
    blocks: list[BlobBlock] = []
    run = uuid.uuid4().hex[:16]  # block ids of concurrent writers of the same blob never collide
    size = 0
    content_type: str | None = None
    limit = max_bytes
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(name, limit)
        hasher.update(chunk)
        buffer += chunk
        if content_type is None and len(buffer) >= SNIFF_BYTES:
            content_type, limit = _checked(check, bytes(buffer[:SNIFF_BYTES]), max_bytes)
            if size > limit:
                raise too_large(name, limit)
        while content_type is not None and len(buffer) >= BLOCK_SIZE:
            blocks.append(await _stage(blob, run, len(blocks), bytes(buffer[:BLOCK_SIZE])))
            del buffer[:BLOCK_SIZE]
    if size == 0:
        raise InputError(f"File {name!r} is empty", code="EmptyInput", input_name=name)
    if content_type is None:
        content_type, limit = _checked(check, bytes(buffer), max_bytes)
        if size > limit:
            raise too_large(name, limit)
    settings = ContentSettings(content_type=content_type)
    metadata = {**metadata, "sha256": hasher.hexdigest()}
    with translated(f"Writing blob {blob.container_name}/{blob.blob_name}"):
        if not blocks and size <= SINGLE_PUT_MAX_BYTES:
            result = await blob.upload_blob(
                bytes(buffer), overwrite=True, content_settings=settings, metadata=metadata
            )
        else:
            if buffer:
                blocks.append(await _stage(blob, run, len(blocks), bytes(buffer)))
            result = await blob.commit_block_list(blocks, content_settings=settings, metadata=metadata)
    return WrittenBlob(
        size=size, sha256=metadata["sha256"], content_type=content_type, etag=str(result["etag"])
    )


async def blob_chunks(downloader: StorageStreamDownloader[bytes], action: str) -> AsyncIterator[bytes]:
    """The chunks of a download, with storage errors translated (``action`` names the read)."""
    iterator = downloader.chunks()
    while True:
        try:
            with translated(action):
                chunk = await iterator.__anext__()
        except StopAsyncIteration:
            return
        yield chunk


async def as_chunks(data: bytes | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """``data`` as an async iterable of non-empty chunks, whether it came whole or streamed."""
    if isinstance(data, bytes | bytearray):
        for start in range(0, len(data), BLOCK_SIZE):
            yield bytes(data[start : start + BLOCK_SIZE])
        return
    async for chunk in data:
        if chunk:
            yield bytes(chunk)


def _checked(check: TypeCheck, head: bytes, max_bytes: int) -> tuple[str, int]:
    content_type, limit = check(head)
    return content_type, min(limit, max_bytes)


async def _stage(blob: BlobClient, run: str, index: int, data: bytes) -> BlobBlock:
    block_id = f"{run}-{index:08d}"
    with translated(f"Writing blob {blob.container_name}/{blob.blob_name}"):
        # A stream, not bytes: aiohttp sends large bytes bodies in one go, blocking the event loop.
        await blob.stage_block(block_id, io.BytesIO(data), length=len(data))
    return BlobBlock(block_id)
