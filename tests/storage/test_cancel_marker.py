"""The cancel marker against Azurite, and its reads shared by the items of one activity."""

from __future__ import annotations

import asyncio

import pytest
from azure.storage.blob.aio import BlobServiceClient

from storage.cancellation import SharedCancelCheck, cancel_requested, request_cancel

pytestmark = pytest.mark.integration


async def test_items_asking_together_share_one_read(storage: BlobServiceClient, job_id: str) -> None:
    check = SharedCancelCheck(job_id)

    answers = await asyncio.gather(*(check.requested() for _ in range(10)))

    assert answers == [False] * 10
    assert check.reads == 1


async def test_a_later_item_reads_again_and_sees_a_cancel(storage: BlobServiceClient, job_id: str) -> None:
    check = SharedCancelCheck(job_id, share_seconds=0.05)
    assert await check.requested() is False

    await request_cancel(job_id)
    await asyncio.sleep(0.1)  # past the window: the first read's answer is too old

    assert await check.requested() is True
    assert await cancel_requested(job_id) is True
    assert check.reads == 2
    assert await check.requested() is True  # a cancel is final: no third read
    assert check.reads == 2
