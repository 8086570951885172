"""The CU pacer's ledger in a blob: shared by every job of the app and by every instance of it.

The rules are in ``core/pacing.py``; this module keeps their state in one small JSON blob per CU
resource (``core.layout.pacing_ledger_blob``) and changes it with optimistic concurrency: read
it with its ETag, apply the change, write it back ``If-Match`` that ETag (``If-None-Match: *``
for the first write); another writer in between makes the write fail with 412/409 and the change
is tried again on the fresh state. So the pacing survives restarts (the state is in storage) and
holds across instances (they all write the same blob). Within one process a lock serialises the
writers, so conflicts only come from other instances.

429s: ``note_throttled`` (``content_understanding.client`` calls it for every throttled answer, as
``activities/batch_steps.py`` registers it) keeps them until the next ledger write of the process,
which applies them for everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import random
import time
from collections.abc import Iterator
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import ContentSettings

from core import pacing
from core.errors import TransientError
from core.layout import pacing_ledger_blob
from core.pacing import PacingLimits, Reservation
from core.settings import get_settings
from storage.client import blob_client
from storage.errors import translated

logger = logging.getLogger(__name__)

MAX_WRITE_ATTEMPTS = 12
# The ledger's calls are not retried by the storage client: a pacer that cannot reach its ledger
# steps aside at once (see ``reserve``) instead of holding every CU call for the client's retries.
_NO_RETRY: dict[str, Any] = {"retry_total": 0}
_lock: asyncio.Lock | None = None
_lock_loop: asyncio.AbstractEventLoop | None = None
_throttled: list[tuple[float, float | None]] = []  # 429s seen by this process, not yet in the ledger
_background: set[asyncio.Task[None]] = set()
# Set while an activity makes paced calls (``paced_calls``): only their 429s reach the ledger.
_paced: contextvars.ContextVar[bool] = contextvars.ContextVar("cu_paced_calls", default=False)


@contextlib.contextmanager
def paced_calls() -> Iterator[None]:
    """Mark the CU calls made in this block (and the tasks it starts) as paced by this ledger."""
    token = _paced.set(True)
    try:
        yield
    finally:
        _paced.reset(token)


def note_throttled(retry_after: float | None) -> None:
    """CU answered 429 (``Retry-After``: ``retry_after`` seconds): tell the ledger, soon.

    Written by the next reservation of this process, or by a write of its own started now, so
    that every job (on every instance) slows down at once, not when this one next calls CU.
    """
    if not _paced.get():
        return  # a call the pacer does not manage (an analyzer's creation, a test of the client)
    _throttled.append((time.time(), retry_after))
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no event loop: the next reservation writes it
    task = loop.create_task(_write_throttled())
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _write_throttled() -> None:
    if not _throttled or not limits().enabled:
        return
    try:
        await _update(lambda ledger, now: Reservation())
    except TransientError as error:
        logger.warning("The CU pacer could not record a 429 now: %s", error)


def limits() -> PacingLimits:
    settings = get_settings().pacing
    return PacingLimits(settings.operations_per_minute, settings.pages_per_minute)


async def reserve(job_id: str, pages: list[int], *, extra_pages: int = 0) -> Reservation:
    """Slots for ``len(pages)`` CU calls of ``job_id`` (``pages[i]``: pages of call ``i``, 0 for a poll).

    ``extra_pages``: pages used beyond earlier reservations (finished analyses' real counts).
    """
    quotas = limits()
    if not quotas.enabled:
        return Reservation(send_at=[time.time()] * len(pages))

    def change(ledger: dict[str, Any], now: float) -> Reservation:
        pacing.charge_pages(ledger, now, extra_pages, quotas)
        return pacing.reserve(ledger, now, job_id, len(pages), pages, quotas)

    try:
        return await _update(change)
    except TransientError as error:
        # The pacer is a courtesy to the quota, not a gate: without its ledger (storage down, or too
        # busy) the calls go ahead, and CU's own 429s, which the client honours, remain the backstop.
        logger.warning("CU pacing skipped for %d call(s) of job %s: %s", len(pages), job_id, error)
        return Reservation(send_at=[time.time()] * len(pages))


async def ledger_state(endpoint: str | None = None) -> dict[str, Any] | None:
    """The ledger of the CU resource at ``endpoint`` (default: the app's), as stored."""
    ledger, _ = await _read(endpoint)
    return ledger


async def wait_until(moment: float) -> None:
    """Sleep until ``moment`` (epoch seconds) if it is in the future."""
    delay = moment - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _update(change: Any) -> Reservation:
    async with _process_lock():
        for attempt in range(MAX_WRITE_ATTEMPTS):
            ledger, etag = await _read()
            state = ledger if ledger is not None else pacing.empty_ledger()
            now = time.time()
            seen, _throttled[:] = list(_throttled), []
            for at, retry_after in seen:
                pacing.note_throttled(state, at, retry_after)
            result: Reservation = change(state, now)
            if await _write(state, etag):
                if seen:
                    logger.warning("CU answered 429 %d time(s): every job slows down", len(seen))
                return result
            _throttled[:0] = seen  # not written: keep them for the next try
            await asyncio.sleep(random.uniform(0.01, 0.05 * (attempt + 1)))
    raise TransientError("The CU pacing ledger kept changing under this writer", code="PacingContention")


async def _read(endpoint: str | None = None) -> tuple[dict[str, Any] | None, str | None]:
    blob = blob_client(pacing_ledger_blob(_resource_key(endpoint)))
    with translated("Reading the CU pacing ledger"):
        try:
            downloaded = await blob.download_blob(**_NO_RETRY)
        except ResourceNotFoundError:
            return None, None
        data = await downloaded.readall()
        etag = downloaded.properties.etag
    try:
        ledger: dict[str, Any] = json.loads(data)
    except ValueError:
        logger.warning("The CU pacing ledger was not JSON; starting a new one")
        return None, etag
    return ledger, etag


async def _write(ledger: dict[str, Any], etag: str | None) -> bool:
    """Write the ledger if nobody else did since it was read; False if someone did."""
    blob = blob_client(pacing_ledger_blob(_resource_key()))
    data = json.dumps(ledger, separators=(",", ":")).encode()
    conditions: dict[str, Any] = (
        {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        if etag is not None
        else {"match_condition": MatchConditions.IfMissing}
    )
    with translated("Writing the CU pacing ledger"):
        try:
            await blob.upload_blob(
                data,
                overwrite=True,
                content_settings=ContentSettings(content_type="application/json"),
                **conditions,
                **_NO_RETRY,
            )
        except (ResourceModifiedError, ResourceExistsError):
            return False
    return True


def _resource_key(endpoint: str | None = None) -> str:
    """One ledger per CU resource: a digest of its endpoint (jobs on other resources do not share)."""
    endpoint = (endpoint or get_settings().content_understanding.endpoint).rstrip("/").lower()
    return hashlib.sha256(endpoint.encode()).hexdigest()[:16]


def _process_lock() -> asyncio.Lock:
    global _lock, _lock_loop
    loop = asyncio.get_running_loop()
    if _lock is None or _lock_loop is not loop:
        _lock, _lock_loop = asyncio.Lock(), loop
    return _lock
