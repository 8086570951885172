"""Blob intake: a dropped document (or manifest) starts one job, however often it is delivered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from api.intake import intake_job_id
from tests.e2e.conftest import AppStack, sample

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def upload(stack: AppStack, name: str, data: bytes) -> str:
    """Upload into the intake container; returns the blob's ETag."""
    container = stack.storage.get_container_client(stack.intake)
    if not await container.exists():
        await container.create_container()
    uploaded = await container.get_blob_client(name).upload_blob(data, overwrite=True)
    return str(uploaded["etag"])


async def wait_for_instance(stack: AppStack, job_id: str) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while (await stack.http.get(f"/api/analyses/{job_id}")).status_code == 404:  # noqa: ASYNC110 - polling the API
            await asyncio.sleep(0.05)
    return await stack.wait(job_id)


def blob_created(container: str, name: str) -> list[dict[str, Any]]:
    return [
        {
            "id": "e1",
            "eventType": "Microsoft.Storage.BlobCreated",
            "subject": f"/blobServices/default/containers/{container}/blobs/{name}",
            "data": {"url": f"http://127.0.0.1/devstoreaccount1/{container}/{name}"},
        }
    ]


async def test_a_dropped_document_starts_a_job(stack: AppStack) -> None:
    etag = await upload(stack, "2026/invoice-contoso.txt", sample("invoice-contoso.txt"))
    job_id = intake_job_id(stack.intake, "2026/invoice-contoso.txt", etag)

    status = await wait_for_instance(stack, job_id)  # the Event Grid stand-in delivers it

    assert status["status"] == "succeeded", status
    assert status["summary"]["inputs"][0]["name"] == "invoice-contoso.txt"
    assert status["summary"]["analyzerId"] == "prebuilt-document"


async def test_duplicate_event_grid_deliveries_start_one_job(start_stack: Any) -> None:
    async with start_stack() as stack:
        etag = await upload(stack, "dup.pdf", sample("invoice-fabrikam.pdf"))
        url = f"{stack.host.base_url}/runtime/webhooks/blobs?functionName=Host.Functions.blob_intake"
        headers = {"aeg-event-type": "Notification"}
        responses = await asyncio.gather(
            *(
                stack.http.post(url, json=blob_created(stack.intake, "dup.pdf"), headers=headers)
                for _ in range(3)
            )
        )
        job_id = intake_job_id(stack.intake, "dup.pdf", etag)
        status = await wait_for_instance(stack, job_id)
        await asyncio.sleep(0.5)  # let every delivery (ours and the stand-in's) finish

        assert [r.status_code for r in responses] == [202, 202, 202]
        assert status["status"] == "succeeded"
        assert [i for i in await stack.instance_ids() if i.startswith("intake-") and ":" not in i] == [job_id]
        assert stack.emulator.stats()["analysesStarted"]["prebuilt-document"] == 1

        # A new version of the same blob is a new document: a second job.
        new_etag = await upload(stack, "dup.pdf", sample("invoice-contoso-msa.pdf"))
        await stack.http.post(url, json=blob_created(stack.intake, "dup.pdf"), headers=headers)
        second = await wait_for_instance(stack, intake_job_id(stack.intake, "dup.pdf", new_etag))
        assert second["status"] == "succeeded"


async def test_a_manifest_starts_a_multi_document_job(stack: AppStack) -> None:
    await upload(stack, "_batch/a.txt", sample("invoice-contoso.txt"))
    await upload(stack, "_batch/b.md", sample("invoice-litware.md"))
    manifest = {"inputs": [{"blob": f"{stack.intake}/_batch/a.txt"}, {"blob": f"{stack.intake}/_batch/b.md"}]}
    etag = await upload(stack, "batch.job.json", json.dumps(manifest).encode())

    status = await wait_for_instance(stack, intake_job_id(stack.intake, "batch.job.json", etag))

    assert status["status"] == "succeeded", status
    assert [fate["name"] for fate in status["summary"]["inputs"]] == ["a.txt", "b.md"]
    # Blobs under "_" folders started nothing of their own.
    assert len([i for i in await stack.instance_ids() if i.startswith("intake-") and ":" not in i]) == 1


async def test_an_invalid_manifest_starts_nothing_and_says_why(
    stack: AppStack, caplog: pytest.LogCaptureFixture
) -> None:
    await upload(stack, "broken.job.json", b'{"inputs": [], "mode": "sideways"}')
    async with asyncio.timeout(10):
        while "starts no job" not in caplog.text:  # noqa: ASYNC110 - polling the API
            await asyncio.sleep(0.05)

    assert "mode must be one of" in caplog.text
    assert await stack.instance_ids() == []
