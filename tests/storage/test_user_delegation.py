"""The managed-identity path for real: Azurite with ``--oauth basic`` over HTTPS.

The app's storage client authenticates with a bearer token (an unsigned stand-in for Entra ID,
the one thing that cannot run here), uploads, copies and grants with it, and signs SAS with a
user-delegation key that Azurite really issues.

What Azurite cannot do: validate the SAS exactly as signed. azure-storage-blob 12.31 signs
version 2026-10-06, whose string-to-sign has two lines (signed request headers and query
parameters) that Azurite 3.35.0 does not know. So these tests (1) verify the SDK-made signature
independently, against the documented layout and the key Azurite derived, and (2) re-sign the same
fields in Azurite's layout to have Azurite enforce the grant (read, no write, no other blob) for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import UserDelegationKey
from azure.storage.blob.aio import BlobClient, BlobServiceClient

from core.errors import SettingsError
from inputs.ingest import ingest_input, stage_upload
from storage.client import close_blob_service_client, ensure_containers, use_blob_service_client
from storage.grants import create_input_grant, resolve_grant
from storage.sas import DELEGATION_KEY_LIFETIME, SasSigner, get_signer, utc_now
from tests.support import documents
from tests.support.azurite import ACCOUNT_NAME, Azurite, running_azurite
from tests.support.entra import OBJECT_ID, TENANT_ID, UnsignedEntraCredential
from tests.support.sas_check import resigned, sas_fields, signature, string_to_sign
from tests.support.tls import Certificate, loopback_certificate

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return loopback_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def oauth_azurite(certificate: Certificate) -> Iterator[Azurite]:
    with running_azurite(
        "--oauth", "basic", "--cert", str(certificate.cert_path), "--key", str(certificate.key_path)
    ) as azurite:
        yield azurite


def endpoint(azurite: Azurite) -> str:
    return f"https://127.0.0.1:{azurite.blob_port}/{ACCOUNT_NAME}"


class CountingServiceClient(BlobServiceClient):
    """The real client, counting the user-delegation keys it asks for."""

    key_requests = 0

    async def get_user_delegation_key(self, *args: Any, **kwargs: Any) -> UserDelegationKey:
        self.key_requests += 1
        return await super().get_user_delegation_key(*args, **kwargs)


@pytest.fixture
async def identity_storage(
    oauth_azurite: Azurite, certificate: Certificate
) -> AsyncIterator[CountingServiceClient]:
    """The app's storage client authenticating as a managed identity would: with a token."""
    credential = UnsignedEntraCredential()
    service = CountingServiceClient(
        endpoint(oauth_azurite), credential=credential, connection_verify=str(certificate.cert_path)
    )
    use_blob_service_client(service, credential)
    try:
        await ensure_containers()
        yield service
    finally:
        await close_blob_service_client()


async def read_with(url: str, certificate: Certificate) -> bytes:
    async with BlobClient.from_blob_url(url, connection_verify=str(certificate.cert_path)) as blob:
        data: bytes = await (await blob.download_blob()).readall()
        return data


async def delegation_key_value(service: BlobServiceClient, url: str) -> str:
    """The key Azurite derived for this SAS (it derives the same key for the same identity and times)."""
    fields = sas_fields(url)
    key = await service.get_user_delegation_key(
        datetime.fromisoformat(fields["skt"]), datetime.fromisoformat(fields["ske"])
    )
    assert key.value is not None
    return key.value


async def test_an_input_grant_is_a_user_delegation_sas_that_azurite_enforces(
    identity_storage: CountingServiceClient, certificate: Certificate, job_id: str
) -> None:
    # Upload, server-side copy and grant, all authorised by the identity's token.
    staged = await stage_upload(job_id, "a.pdf", documents.pdf("identity"), max_bytes=10**6)
    ingested = await ingest_input(job_id, 0, staged.source())
    other = await ingest_input(
        job_id, 1, (await stage_upload(job_id, "b.pdf", documents.pdf(), max_bytes=10**6)).source()
    )

    grant = await create_input_grant(job_id, ingested.blob)
    url = await resolve_grant(grant["grant"])

    assert get_signer().mode == "userDelegation"
    fields = sas_fields(url)
    assert (fields["sp"], fields["sr"], fields["spr"]) == ("r", "b", "https")
    assert (fields["skoid"], fields["sktid"]) == (OBJECT_ID, TENANT_ID)
    assert datetime.fromisoformat(fields["se"]) <= datetime.fromisoformat(fields["ske"])
    key = await delegation_key_value(identity_storage, url)
    assert fields["sig"] == signature(key, string_to_sign(url, with_request_fields=True))

    enforced = resigned(url, key, with_request_fields=False)
    assert await read_with(enforced, certificate) == documents.pdf("identity")
    with pytest.raises(HttpResponseError) as other_blob:
        await read_with(enforced.replace("/0-a.pdf?", "/1-b.pdf?"), certificate)
    assert other_blob.value.status_code == 403
    async with BlobClient.from_blob_url(enforced, connection_verify=str(certificate.cert_path)) as blob:
        with pytest.raises(HttpResponseError) as write:
            await blob.upload_blob(b"overwritten", overwrite=True)
    assert write.value.status_code == 403
    assert other.blob == f"{job_id}/1-b.pdf"


async def test_the_delegation_key_is_cached_and_renewed_before_it_stops_covering_grants(
    identity_storage: CountingServiceClient,
) -> None:
    now = [utc_now()]
    signer = SasSigner(identity_storage, clock=lambda: now[0])

    await asyncio.gather(
        *(signer.sign_blob("inputs", f"x/{i}.pdf", now[0] + timedelta(hours=2)) for i in range(20))
    )
    first_expiry = signer.delegation_key_expiry
    now[0] += DELEGATION_KEY_LIFETIME - timedelta(hours=3)  # the key still covers a 2-hour grant
    await signer.sign_blob("inputs", "x/late.pdf", now[0] + timedelta(hours=2))
    assert (identity_storage.key_requests, signer.delegation_key_expiry) == (1, first_expiry)

    now[0] += timedelta(hours=2)  # now it would not: renewed
    await signer.sign_blob("inputs", "x/later.pdf", now[0] + timedelta(hours=2))

    assert identity_storage.key_requests == 2
    assert first_expiry is not None
    assert signer.delegation_key_expiry is not None
    assert signer.delegation_key_expiry > first_expiry


async def test_a_grant_longer_than_a_delegation_key_may_live_is_refused(
    identity_storage: CountingServiceClient,
) -> None:
    signer = SasSigner(identity_storage)
    with pytest.raises(SettingsError, match="SAS_TTL_MINUTES"):
        await signer.sign_blob("inputs", "x.pdf", utc_now() + timedelta(days=8))
