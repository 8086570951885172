"""Documents of real size: 50 MB through POST /api/analyses and through blob intake; the host's 413.

devhost refuses bodies over the Functions host's limit (104,857,600 bytes) exactly as the host
does: an empty 413 before the function runs. The app's own limits agree with it (MAX_JOB_BYTES is
at most the body limit), so everything the app accepts can actually arrive.
"""

from __future__ import annotations

import pytest

from api.intake import intake_job_id
from tests.e2e.conftest import AppStack, all_blobs
from tests.e2e.test_blob_intake import upload, wait_for_instance
from tests.support import documents

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

FIFTY_MB = 50 * 1000 * 1000
HOST_BODY_LIMIT = 104_857_600


def big_pdf(size: int) -> bytes:
    """A one-page PDF of about ``size`` bytes (a comment pads it)."""
    data = documents.pdf("Invoice INV-5050", padding=size - len(documents.pdf("Invoice INV-5050")))
    assert abs(len(data) - size) < 100
    return data


async def test_a_50_mb_upload_is_analysed(stack: AppStack) -> None:
    data = big_pdf(FIFTY_MB)
    job_id = await stack.submit([("files", "big.pdf", data)])

    status = await stack.wait(job_id, within=120)

    assert status["status"] == "succeeded", status["summary"]["inputs"][0].get("error")
    (fate,) = status["summary"]["inputs"]
    assert fate["size"] == len(data)
    assert fate["contentType"] == "application/pdf"


# The test's own upload into Azurite (one 50 MB Put Blob) makes aiohttp warn; the app's code never does.
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
async def test_a_50_mb_blob_dropped_into_intake_is_analysed(stack: AppStack) -> None:
    data = big_pdf(FIFTY_MB)
    etag = await upload(stack, "big.pdf", data)  # the Event Grid stand-in delivers it

    status = await wait_for_instance(stack, intake_job_id(stack.intake, "big.pdf", etag))

    assert status["status"] == "succeeded", status
    assert status["summary"]["inputs"][0]["size"] == len(data)


async def test_a_body_over_the_host_limit_gets_an_empty_413_before_the_app_runs(
    stack: AppStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="devhost")
    before = await all_blobs(stack.storage)
    body = b"x" * (HOST_BODY_LIMIT + 1)

    response = await stack.http.post(
        "/api/analyses", content=body, headers={"Content-Type": "application/octet-stream"}
    )

    assert response.status_code == 413
    assert response.content == b""
    assert "Executing 'Functions.start_analysis'" not in caplog.text  # the function never ran
    assert await all_blobs(stack.storage) == before
    assert await stack.instance_ids() == []


async def test_a_body_at_the_host_limit_reaches_the_app(stack: AppStack) -> None:
    # Exactly 104,857,600 bytes passes the host; the app then answers with its own problem.
    response = await stack.http.post(
        "/api/analyses", content=b"x" * HOST_BODY_LIMIT, headers={"Content-Type": "application/octet-stream"}
    )

    assert response.status_code in (400, 413, 415), response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
