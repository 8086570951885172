"""The emulator fetches inputs and knowledge sources through SAS URLs from real storage (Azurite),
so a bad or expired SAS fails the operation as it would in Azure."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import (
    BlobSasPermissions,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from content_understanding import AnalyzeInput, OperationStatus
from emulators.content_understanding import Emulator
from samples.pdf import make_pdf
from tests.support.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite
from tests.support.cu_emulator import DEPLOYMENTS, PREVIEW, emulator_client, wait_for_operation

pytestmark = pytest.mark.integration


@pytest.fixture
async def container(azurite: Azurite) -> AsyncIterator[ContainerClient]:
    async with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        client = service.get_container_client(f"cu-{uuid.uuid4().hex[:12]}")
        await client.create_container()
        yield client
        await client.delete_container()


def blob_sas_url(container: ContainerClient, name: str, *, expires_in: timedelta = timedelta(hours=1)) -> str:
    now = datetime.now(UTC)
    sas = generate_blob_sas(
        ACCOUNT_NAME, container.container_name, name, account_key=ACCOUNT_KEY,
        permission=BlobSasPermissions(read=True), start=now - timedelta(minutes=5), expiry=now + expires_in,
    )  # fmt: skip
    return f"{container.url}/{name}?{sas}"


def container_sas_url(container: ContainerClient) -> str:
    sas = generate_container_sas(
        ACCOUNT_NAME, container.container_name, account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )  # fmt: skip
    return f"{container.url}?{sas}"


async def analyze_url(emulator: Emulator, url: str) -> OperationStatus:
    async with emulator_client(emulator) as client:
        operation = await client.begin_analyze(
            "prebuilt-document", [AnalyzeInput(url=url)], model_deployments=DEPLOYMENTS
        )
        return await wait_for_operation(client, operation.operation_location)


async def test_a_valid_sas_url_is_read(cu_emulator: Emulator, container: ContainerClient) -> None:
    await container.upload_blob("notes.md", b"# Notes\n\nOwner: Ada\n")
    status = await analyze_url(cu_emulator, blob_sas_url(container, "notes.md"))
    assert status.status == "Succeeded"
    assert status.result is not None
    content = status.result["contents"][0]
    assert content["markdown"] == "# Notes\n\nOwner: Ada\n"
    assert content["mimeType"] == "text/markdown"


@pytest.mark.parametrize("problem", ["tampered", "expired", "unsigned"])
async def test_a_bad_sas_fails_the_operation(
    cu_emulator: Emulator, container: ContainerClient, problem: str
) -> None:
    await container.upload_blob("secret.txt", b"Owner: Ada\n")
    url = blob_sas_url(
        container, "secret.txt", expires_in=timedelta(minutes=-1 if problem == "expired" else 60)
    )
    signature = url.rpartition("sig=")[2]
    if problem == "tampered":
        url = url.replace(f"sig={signature}", f"sig={'A' if signature[0] != 'A' else 'B'}{signature[1:]}")
    if problem == "unsigned":
        url = url.partition("?")[0]
    status = await analyze_url(cu_emulator, url)
    assert status.status == "Failed"
    assert status.error is not None
    assert status.error["innererror"]["code"] == "ContentSourceNotAccessible"
    assert "HTTP 403" in status.error["message"] or "HTTP 404" in status.error["message"]
    assert signature not in json.dumps(status.raw)  # the SAS never comes back in the error


async def reference_knowledge_base(emulator: Emulator, container: ContainerClient, *, break_it: bool) -> str:
    """Build a knowledge base as the sample does (section 10 of the reference); return the prefix."""
    prefix = "kb/"
    document = make_pdf([["Policy: collision damage is covered up to 5000 EUR"]])
    async with emulator_client(emulator, PREVIEW) as client:
        operation = await client.begin_analyze("prebuilt-documentAnalyzer", [AnalyzeInput(data=document)])
        analysis = await wait_for_operation(client, operation.operation_location)
    assert analysis.status == "Succeeded"
    await container.upload_blob(f"{prefix}policy.pdf", document)
    await container.upload_blob(f"{prefix}policy.pdf.result.json", json.dumps(analysis.raw).encode())
    result_file = "missing.result.json" if break_it else "policy.pdf.result.json"
    await container.upload_blob(
        f"{prefix}sources.jsonl",
        json.dumps({"file": "policy.pdf", "resultFile": result_file}).encode() + b"\n",
    )
    return prefix


@pytest.mark.parametrize("break_it", [False, True])
async def test_pro_mode_knowledge_base_is_checked_at_creation(
    cu_emulator: Emulator, container: ContainerClient, break_it: bool
) -> None:
    prefix = await reference_knowledge_base(cu_emulator, container, break_it=break_it)
    source = {
        "kind": "reference",
        "containerUrl": container_sas_url(container),
        "prefix": prefix,
        "fileListPath": "sources.jsonl",
    }
    definition = {
        "baseAnalyzerId": "prebuilt-documentAnalyzer",
        "mode": "pro",
        "fieldSchema": {"fields": {"covered": {"type": "boolean", "method": "generate"}}},
        "knowledgeSources": [source],
    }
    async with emulator_client(cu_emulator, PREVIEW) as client:
        created = await wait_for_operation(client, await client.begin_create_analyzer("claims", definition))
        analyzer = await client.get_analyzer("claims")
    assert analyzer is not None
    if break_it:
        assert created.status == "Failed"
        assert created.error is not None
        assert created.error["innererror"]["code"] == "KnowledgeSourceNotAccessible"
        assert "missing.result.json" in created.error["message"]
        assert "sig=" not in created.error["message"] or "sig=REDACTED" in created.error["message"]
        assert analyzer["status"] == "failed"
    else:
        assert created.status == "Succeeded"
        assert analyzer["status"] == "ready"
