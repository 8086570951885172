"""Renewing an expired grant at the last moment: same scope and name, a fresh lifetime."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob.aio import BlobClient, BlobServiceClient

from core.settings import get_settings
from inputs.ingest import ingest_input, stage_upload
from storage.grants import (
    RENEW_MARGIN,
    GrantExpired,
    create_input_grant,
    resolve_grant,
)
from storage.sas import utc_now
from tests.support import documents

pytestmark = pytest.mark.integration


def expiry_of(url: str) -> datetime:
    return datetime.fromisoformat(parse_qs(urlsplit(url).query)["se"][0].replace("Z", "+00:00"))


async def grant_record(storage: BlobServiceClient, name: str) -> dict[str, str]:
    blob = storage.get_blob_client(get_settings().storage.grants_container, name)
    record: dict[str, str] = json.loads(await (await blob.download_blob()).readall())
    return record


async def test_an_expired_input_grant_is_renewed_for_the_same_blob(
    storage: BlobServiceClient, job_id: str
) -> None:
    staged = await stage_upload(job_id, "a.pdf", documents.pdf("a.pdf"), max_bytes=10**6)
    blob = (await ingest_input(job_id, 0, staged.source())).blob
    grant = await create_input_grant(job_id, blob, ttl=timedelta(minutes=-1))  # expired a minute ago
    expired_url = (await grant_record(storage, grant["grant"]))["url"]
    with pytest.raises(GrantExpired):
        await resolve_grant(grant["grant"])

    url = await resolve_grant(grant["grant"], renew=True)

    async with BlobClient.from_blob_url(url) as renewed:
        assert await (await renewed.download_blob()).readall() == documents.pdf("a.pdf")
    async with BlobClient.from_blob_url(expired_url) as old:
        with pytest.raises(HttpResponseError) as refused:
            await old.download_blob()
    assert refused.value.status_code == 403
    lifetime = expiry_of(url) - utc_now()
    assert timedelta(minutes=get_settings().sas_ttl_minutes - 1) < lifetime
    assert parse_qs(urlsplit(url).query)["sp"] == ["r"]  # still read-only, on the same blob
    record = await grant_record(storage, grant["grant"])
    assert record["url"] == url
    assert record["blob"] == blob
    assert await resolve_grant(grant["grant"]) == url  # valid again without renewing


async def test_a_grant_about_to_expire_is_renewed_and_a_fresh_one_is_not(
    storage: BlobServiceClient, job_id: str
) -> None:
    package = f"{job_id}/package.pdf"
    await storage.get_container_client("inputs").upload_blob(package, documents.pdf(), overwrite=True)
    soon = await create_input_grant(job_id, package, ttl=RENEW_MARGIN / 2)
    soon_url = (await grant_record(storage, soon["grant"]))["url"]

    renewed = await resolve_grant(soon["grant"], renew=True)

    assert renewed != soon_url
    assert parse_qs(urlsplit(renewed).query)["sp"] == ["r"]
    async with BlobClient.from_blob_url(renewed) as blob:
        assert await (await blob.download_blob()).readall() == documents.pdf()
    assert await resolve_grant(soon["grant"], renew=True) == renewed  # fresh now: left alone
