"""Blob references cannot leave their containers, whatever signs the storage requests (issue 10).

Locally, Shared Key signing hid the hole: a reference with dot segments was signed for one path
and sent (after the HTTP stack removed the dot segments) to another, so Azurite answered 403. In
Azure the app signs with a token, which covers no path, and the same reference read another
job's grant (a live SAS) or the Functions host's keys. So this runs the real storage client
(azure-storage-blob aio) with a token credential, and again with the account key, against a TLS
endpoint standing in for storage (``tests/support/recording_proxy.py``, in front of Azurite with
``--oauth basic``) that records every path it receives, and drives the app's own code with
hostile references: request parsing, the request-time availability check, ingest (as a forged
activity input would reach it), and the blob trigger's planning of intake blobs and manifests.
No request may reach a container other than intake and references (read) and the job's own
folder in inputs (write). A control request made with the SDK directly shows that the recorder
does see an escape when one happens.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob.aio import BlobServiceClient

from api.intake import plan_job
from api.job_request import parse_job_request
from core.errors import InputError, PermanentError
from core.layout import Role
from core.settings import get_settings
from inputs import sources
from inputs.ingest import ingest_input
from storage.client import (
    close_blob_service_client,
    ensure_containers,
    get_blob_service_client,
    use_blob_service_client,
)
from tests.support import documents
from tests.support.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite, running_azurite
from tests.support.entra import UnsignedEntraCredential
from tests.support.recording_proxy import RecordedRequest, RecordingProxy, reached, recording_proxy
from tests.support.tls import Certificate, loopback_certificate

pytestmark = pytest.mark.integration

SECRETS_CONTAINER = "azure-webjobs-secrets"  # where the Functions host keeps its keys (same account locally)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return loopback_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_azurite(certificate: Certificate) -> Iterator[Azurite]:
    with running_azurite(
        "--oauth", "basic", "--cert", str(certificate.cert_path), "--key", str(certificate.key_path)
    ) as azurite:
        yield azurite


@pytest.fixture(params=["token", "shared key"])
async def proxy(
    request: pytest.FixtureRequest, tls_azurite: Azurite, certificate: Certificate, job_id: str
) -> AsyncIterator[RecordingProxy]:
    """The recorder, with the app's storage client talking to it, and the victims' blobs in place."""
    async with recording_proxy(f"https://127.0.0.1:{tls_azurite.blob_port}", certificate) as recorder:
        token = UnsignedEntraCredential()
        credential: Any = (
            token if request.param == "token" else {"account_name": ACCOUNT_NAME, "account_key": ACCOUNT_KEY}
        )
        service = BlobServiceClient(
            f"{recorder.url}/{ACCOUNT_NAME}",
            credential=credential,
            connection_verify=str(certificate.cert_path),
        )
        use_blob_service_client(service, token if request.param == "token" else None)
        try:
            await ensure_containers()
            await seed(service, job_id)
            recorder.requests.clear()  # set-up done: from here on, only what the app does
            yield recorder
        finally:
            await close_blob_service_client()


async def seed(service: BlobServiceClient, job_id: str) -> None:
    storage = get_settings().storage
    with contextlib.suppress(HttpResponseError):
        await service.create_container(SECRETS_CONTAINER)
    await service.get_blob_client(SECRETS_CONTAINER, "app/host.json").upload_blob(
        b'{"masterKey": "x"}', overwrite=True
    )
    await service.get_blob_client(storage.container(Role.GRANTS), "victim/x.json").upload_blob(
        b'{"url": "https://signed"}', overwrite=True
    )
    intake = service.get_container_client(storage.container(Role.INTAKE))
    await intake.upload_blob(f"{job_id}/doc.pdf", documents.pdf("mine"), overwrite=True)
    await intake.upload_blob(f"{job_id}/m.job.json", b"{}", overwrite=True)


def hostile_references() -> list[str]:
    intake = get_settings().storage.intake_container
    grants = get_settings().storage.container(Role.GRANTS)
    return [
        f"{intake}/../{grants}/victim/x.json",
        f"{intake}/_a/../../{SECRETS_CONTAINER}/app/host.json",
        f"references/../{grants}/victim/x.json",
        f"{intake}/./../{grants}/victim/x.json",
        f"{intake}//../{grants}/victim/x.json",
        f"{intake}/x/..",
        f"{intake}/%2e%2e/{grants}/victim/x.json",
        f"{intake}/%2E%2E%2F{grants}%2Fvictim%2Fx.json",
        f"{intake}/%252e%252e/{grants}/victim/x.json",
        f"{intake}%2f..%2f{grants}/victim/x.json",
        f"{intake}/a\\..\\..\\{grants}\\victim\\x.json",
        f"{intake}/\uff0e\uff0e/{grants}/victim/x.json",
        f"{grants}/victim/x.json",
        f"{SECRETS_CONTAINER}/app/host.json",
    ]


def escapes(requests: list[RecordedRequest], job_id: str) -> list[str]:
    """The recorded paths (in any reading a server might make of them) outside what is allowed."""
    storage = get_settings().storage
    readable = {storage.container(Role.INTAKE), storage.container(Role.REFERENCES)}
    inputs = storage.container(Role.INPUTS)
    found = []
    for request in requests:
        for path in [request.raw_path, *([request.copy_source] if request.copy_source else [])]:
            for form in reached(path):
                account, _, rest = form.lstrip("/").partition("/")
                container, _, name = rest.partition("/")
                allowed = account == ACCOUNT_NAME and (
                    (container in readable and request.method in ("GET", "HEAD"))
                    or (container == inputs and name.startswith(f"{job_id}/"))
                )
                if not allowed:
                    found.append(f"{request.method} {form}")
    return found


async def drive(reference: str, job_id: str, index: int) -> list[str]:
    """Run ``reference`` through every app path that turns user input into a blob request; each
    must refuse it as bad input. Returns the paths that did not."""
    settings = get_settings()
    intake = settings.storage.intake_container
    accepted = []
    body = json.dumps({"inputs": [{"blob": reference}]}).encode()
    try:
        parse_job_request(body, "application/json", settings)
        accepted.append("request parsing")
    except InputError:
        pass
    try:
        await sources.check_available([{"blob": reference}])
        accepted.append("availability check")
    except InputError:
        pass
    try:
        # As a forged orchestration input would reach the activity, past the request's checks.
        await ingest_input(job_id, index, {"blob": reference, "name": "x.pdf"})
        accepted.append("ingest")
    except PermanentError:
        pass
    # The blob trigger: a blob of that name, and a manifest naming it.
    if await plan_job(reference, read_manifest=lambda: b"{}") is not None:
        accepted.append("intake blob")
    manifest = json.dumps({"inputs": [{"blob": reference}]}).encode()
    if await plan_job(f"{intake}/{job_id}/m.job.json", read_manifest=lambda: manifest) is not None:
        accepted.append("intake manifest")
    return accepted


async def test_hostile_references_never_leave_the_allowed_containers(
    proxy: RecordingProxy, job_id: str
) -> None:
    refused_everywhere = {
        reference: await drive(reference, job_id, index)
        for index, reference in enumerate(hostile_references())
    }

    assert refused_everywhere == {reference: [] for reference in hostile_references()}
    assert escapes(proxy.requests, job_id) == []


async def test_a_plain_reference_is_read_and_ingested_inside_the_allowed_containers(
    proxy: RecordingProxy, job_id: str
) -> None:
    intake = get_settings().storage.intake_container
    reference = f"{intake}/{job_id}/doc.pdf"
    body = json.dumps({"inputs": [{"blob": reference}]}).encode()
    request = parse_job_request(body, "application/json", get_settings())
    await sources.check_available(request.inputs)

    ingested = await ingest_input(job_id, 0, sources.named(request.inputs[0]))

    assert ingested.blob == f"{job_id}/0-doc.pdf"
    paths = [r.raw_path for r in proxy.requests]
    assert f"/{ACCOUNT_NAME}/{intake}/{job_id}/doc.pdf" in paths  # the recorder sees the app's requests
    assert escapes(proxy.requests, job_id) == []


async def test_the_recorder_sees_an_escape_when_the_sdk_is_handed_dot_segments(
    proxy: RecordingProxy, job_id: str
) -> None:
    # The hazard itself: the SDK signs and sends whatever name it gets, and the HTTP stack
    # removes the dot segments on the way, so the request lands in another container.
    storage = get_settings().storage
    with contextlib.suppress(HttpResponseError):
        await (
            get_blob_service_client()
            .get_blob_client(
                storage.container(Role.INTAKE), f"../{storage.container(Role.GRANTS)}/victim/x.json"
            )
            .get_blob_properties()
        )

    assert escapes(proxy.requests, job_id) != []
