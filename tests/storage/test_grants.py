"""SAS grants against Azurite: exactly the granted access, for exactly as long as granted."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob.aio import BlobClient, BlobServiceClient, ContainerClient

from core.errors import InputError
from inputs.ingest import ingest_input, stage_upload
from storage.grants import (
    Grant,
    GrantExpired,
    GrantNotFound,
    create_input_grant,
    resolve_grant,
)
from storage.sas import CLOCK_SKEW, utc_now
from tests.support import documents
from tests.support.blobs import read_blob

pytestmark = pytest.mark.integration


async def ingested_blob(job_id: str, name: str = "a.pdf") -> str:
    staged = await stage_upload(job_id, name, documents.pdf(name), max_bytes=10**6)
    return (await ingest_input(job_id, 0 if name == "a.pdf" else 1, staged.source())).blob


async def read_with(url: str) -> bytes:
    async with BlobClient.from_blob_url(url) as blob:
        data: bytes = await (await blob.download_blob()).readall()
        return data


def sas_fields(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def test_an_input_grant_reads_its_blob_and_nothing_else(
    storage: BlobServiceClient, job_id: str
) -> None:
    blob = await ingested_blob(job_id)
    other = await ingested_blob(job_id, "b.pdf")
    assert (blob, other) == (f"{job_id}/0-a.pdf", f"{job_id}/1-b.pdf")

    grant = await create_input_grant(job_id, blob)
    url = await resolve_grant(grant["grant"])

    assert await read_with(url) == await read_blob(storage, "inputs", blob)
    fields = sas_fields(url)
    assert (fields["sp"], fields["sr"], fields["spr"]) == ("r", "b", "https,http")  # http: Azurite's endpoint
    assert datetime.fromisoformat(fields["st"]) <= utc_now() - CLOCK_SKEW + timedelta(seconds=5)
    assert datetime.fromisoformat(fields["se"]) == datetime.fromisoformat(grant["expiresAt"])

    async with BlobClient.from_blob_url(url) as client:
        with pytest.raises(HttpResponseError) as refused_write:
            await client.upload_blob(b"overwritten", overwrite=True)
    assert refused_write.value.status_code == 403
    with pytest.raises(HttpResponseError) as refused_other:
        await read_with(url.replace("/0-a.pdf?", "/1-b.pdf?"))
    assert refused_other.value.status_code == 403
    container_url = url.split(f"/{job_id}/", 1)[0] + "?" + urlsplit(url).query
    async with ContainerClient.from_container_url(container_url) as container:
        with pytest.raises(HttpResponseError) as refused_list:
            [name async for name in container.list_blob_names()]
    assert refused_list.value.status_code == 403


async def test_an_input_grant_ends_when_it_expires(storage: BlobServiceClient, job_id: str) -> None:
    blob = await ingested_blob(job_id)
    grant = await create_input_grant(job_id, blob, ttl=timedelta(seconds=2))
    url = await resolve_grant(grant["grant"])
    assert await read_with(url)

    await asyncio.sleep(2.5)

    with pytest.raises(HttpResponseError) as expired:
        await read_with(url)
    assert expired.value.status_code == 403
    with pytest.raises(GrantExpired):
        await resolve_grant(grant["grant"])


async def test_granting_again_refreshes_the_same_grant(storage: BlobServiceClient, job_id: str) -> None:
    blob = await ingested_blob(job_id)
    first = await create_input_grant(job_id, blob, ttl=timedelta(minutes=10))
    second = await create_input_grant(job_id, blob, ttl=timedelta(minutes=20))

    assert first["grant"] == second["grant"]
    assert second["expiresAt"] > first["expiresAt"]
    assert sas_fields(await resolve_grant(second["grant"]))["se"] == second["expiresAt"].replace(
        "+00:00", "Z"
    )


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda job: create_input_grant(job, "other-job/0-a.pdf"), "GrantNotAllowed"),
        (lambda job: create_input_grant(job, f"{job}/"), "GrantNotAllowed"),
        (lambda job: create_input_grant(job, f"{job}/0-missing.pdf"), "BlobNotFound"),
    ],
)
async def test_grants_beyond_least_privilege_are_refused(
    storage: BlobServiceClient, job_id: str, make: Callable[[str], Awaitable[Grant]], code: str
) -> None:
    with pytest.raises(InputError) as caught:
        await make(job_id)
    assert caught.value.code == code


async def test_unknown_grants_do_not_resolve(storage: BlobServiceClient, job_id: str) -> None:
    with pytest.raises(GrantNotFound):
        await resolve_grant(f"{job_id}/blob-00000000000000000000000000000000.json")
    with pytest.raises(GrantNotFound):
        await resolve_grant("../inputs/a.pdf")
