"""kill -9 devhost at every stage of a job, restart it on the same state: every job still finishes,
with the right results, and Content Understanding analyses every document exactly once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from azure.storage.blob import BlobSasPermissions, generate_blob_sas

from activities.cu_steps import MAX_ANALYSIS_ATTEMPTS
from api.intake import intake_job_id
from tests.e2e.conftest import sample
from tests.reliability.conftest import KillStack
from tests.reliability.kill_points import AtRequest, KillPoint, When, run_with_kills
from tests.support.azurite import ACCOUNT_KEY, ACCOUNT_NAME

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

OPERATION_RECORD = rb'"operationLocation"'  # the record written once CU accepted the analysis
INVOICES = ["invoice-contoso.txt", "invoice-fabrikam.pdf", "invoice-litware.md"]


def fields_of(entry: dict[str, Any]) -> dict[str, Any]:
    return dict(entry["result"]["contents"][0]["fields"])


async def _all_analyses_running(stack: KillStack) -> bool:
    """Every analysis was started and recorded, none has finished: the job is polling."""
    (job_id,) = stack.jobs
    keys = [str(index) for index in range(len(INVOICES))]
    recorded = [await stack.operation_recorded(job_id, key) for key in keys]
    saved = [await stack.operation_saved(job_id, key) for key in keys]
    return all(recorded) and not any(saved)


async def _submitted(stack: KillStack) -> bool:
    return True


PER_DOCUMENT_KILL_POINTS: list[KillPoint] = [
    When("right after the 202", _submitted),
    AtRequest("copying an input into inputs/", "PUT", r"/inputs/job-[^/]+/\d+-", forward=True),
    AtRequest("writing a SAS grant", "PUT", r"/grants/job-", forward=False),
    AtRequest("counting an attempt to analyse", "PUT", r"/operation-\d+\.started\.json$", forward=True),
    # Every analysis was accepted by CU; their records are being written (and land).
    AtRequest(
        "recording the started analyses",
        "PUT",
        r"/operation-\d+\.started\.json$",
        forward=True,
        count=len(INVOICES),
        body=OPERATION_RECORD,
    ),
    When("while CU analyses", _all_analyses_running),
    AtRequest("saving a finished analysis", "PUT", r"/operation-\d+\.json$", forward=False),
    # save_results and cleanup_job run side by side: one kill covers the job's end (the cleanup may
    # or may not have deleted the grants by then; none may remain at the end either way).
    AtRequest("writing the result index", "PUT", r"/result-index-\d+\.json$", forward=True),
]


async def test_a_per_document_job_survives_kill_9_at_every_stage(stack: KillStack) -> None:
    await stack.register("invoice-fields")

    async def start() -> list[str]:
        files = [("files", name, sample(name)) for name in INVOICES]
        return [await stack.submit(files, {"analyzerId": "invoice-fields"})]

    (job_id,), report = await run_with_kills(stack, start, PER_DOCUMENT_KILL_POINTS)

    status = await stack.status(job_id)
    assert status["status"] == "succeeded", status
    assert status["progress"] == {"total": 3, "ingested": 3, "failed": 0, "analyzing": 0, "done": 3}
    assert report.kills == [point.label for point in PER_DOCUMENT_KILL_POINTS]
    assert stack.devhost.kills == len(PER_DOCUMENT_KILL_POINTS)
    # Each document analysed exactly once, although begin_analysis ran again after some kills.
    assert stack.analyses_started()["invoice-fields"] == len(INVOICES)
    result = await stack.result(job_id)
    by_input = {entry["inputs"][0]: entry for entry in result["results"]}
    assert set(by_input) == set(INVOICES)
    assert fields_of(by_input["invoice-fabrikam.pdf"])["InvoiceNumber"]["valueString"] == "FAB-2044"
    assert fields_of(by_input["invoice-contoso.txt"])["TotalAmount"]["valueNumber"] == 1250.0
    operation_ids = {fate["operationId"] for fate in status["summary"]["inputs"]}
    assert len(operation_ids) == len(INVOICES)
    assert {entry["operationId"] for entry in result["results"]} == operation_ids
    # Nothing left behind: no staged upload, no grant (signed URL).
    for container in ("STAGING_CONTAINER", "GRANTS_CONTAINER"):
        assert await stack.blob_names(stack.settings[container], prefix=f"{job_id}/") == []
    print(f"\nper-document job: {report.job_seconds:.2f} s in all; {stack.restart_summary()}")


async def _analyzer_creating(stack: KillStack) -> bool:
    created: dict[str, int] = stack.emulator.stats()["analyzersCreated"]
    return created.get("invoice-contract-check", 0) >= 1


async def _agentic_analysis_running(stack: KillStack) -> bool:
    (job_id,) = stack.jobs
    recorded = await stack.operation_recorded(job_id, "agentic")
    return recorded and not await stack.operation_saved(job_id, "agentic")


AGENTIC_KILL_POINTS: list[KillPoint] = [
    AtRequest(
        "copying the reference into the job's inputs",
        "PUT",
        r"/inputs/job-[^/]+/1-contract-msa-77\.pdf$",
        forward=True,
    ),
    AtRequest("writing the package", "PUT", r"/inputs/job-[^/]+/package\.pdf$", forward=False),
    AtRequest("granting CU read access to the package", "PUT", r"/grants/job-", forward=True),
    When("while CU creates the analyzer", _analyzer_creating),
    AtRequest(
        "recording the agentic analysis",
        "PUT",
        r"/operation-agentic\.started\.json$",
        forward=True,
        body=OPERATION_RECORD,
    ),
    When("while CU analyses the package", _agentic_analysis_running),
    AtRequest("writing the result index's header", "PUT", r"/result-index\.json$", forward=False),
]


async def test_an_agentic_job_survives_kill_9_at_every_stage(stack: KillStack) -> None:
    await stack.register("invoice-contract-check")

    async def start() -> list[str]:
        files = [
            ("files", "invoice-contoso-msa.pdf", sample("invoice-contoso-msa.pdf")),
            ("references", "contract-msa-77.pdf", sample("contract-msa-77.pdf")),
        ]
        return [await stack.submit(files, {"analyzerId": "invoice-contract-check", "mode": "agentic"})]

    (job_id,), report = await run_with_kills(stack, start, AGENTIC_KILL_POINTS)

    status = await stack.status(job_id)
    assert status["status"] == "succeeded", status
    assert report.kills == [point.label for point in AGENTIC_KILL_POINTS]
    (entry,) = (await stack.result(job_id))["results"]
    assert entry["inputs"] == ["invoice-contoso-msa.pdf", "contract-msa-77.pdf"]
    assert fields_of(entry)["TermsConsistent"]["valueBoolean"] is False
    assert fields_of(entry)["PaymentTerms"]["valueString"] == "Net 30"
    assert fields_of(entry)["AgreedPaymentTerms"]["valueString"] == "Net 45"
    stats = stack.emulator.stats()
    assert stats["analysesStarted"] == {"invoice-contract-check": 1}  # one package, analysed once
    assert stats["analyzersCreated"] == {"invoice-contract-check": 1}
    assert status["summary"]["package"]["pages"] == 3
    print(f"\nagentic job: {report.job_seconds:.2f} s in all; {stack.restart_summary()}")


async def _start_one_document(stack: KillStack) -> list[str]:
    files = [("files", "invoice-contoso.txt", sample("invoice-contoso.txt"))]
    return [await stack.submit(files, {"analyzerId": "prebuilt-document"})]


LOST_RECORD = AtRequest(
    "CU accepted the analysis, its record is lost",
    "PUT",
    r"/operation-0\.started\.json$",
    forward=False,
    body=OPERATION_RECORD,
)


async def test_a_kill_between_cu_accepting_an_analysis_and_its_record_costs_one_more_analysis(
    stack: KillStack,
) -> None:
    """The one window no app can close: CU has no idempotency key and no way to list operations.

    The job still succeeds; the second attempt is counted and reported in the summary.
    """
    (job_id,), _ = await run_with_kills(stack, lambda: _start_one_document(stack), [LOST_RECORD])

    status = await stack.status(job_id)
    assert status["status"] == "succeeded", status
    assert stack.analyses_started() == {"prebuilt-document": 2}
    (fate,) = status["summary"]["inputs"]
    assert fate["analysisAttempts"] == 2
    assert "submitting analysis 0 again (attempt 2)" in stack.log_text()


async def test_attempts_to_analyse_an_input_whose_record_keeps_being_lost_are_bounded(
    stack: KillStack,
) -> None:
    (job_id,), _ = await run_with_kills(stack, lambda: _start_one_document(stack), [LOST_RECORD] * 3)

    status = await stack.status(job_id)
    assert status["status"] == "failed", status
    assert stack.analyses_started() == {"prebuilt-document": MAX_ANALYSIS_ATTEMPTS}
    (fate,) = status["summary"]["inputs"]
    assert fate["error"]["code"] == "AnalysisNotRecorded"
    assert "attempted 3 times without its operation ever being recorded" in fate["error"]["message"]


async def _expire_grants(stack: KillStack) -> None:
    """What hours of downtime do to a job's grants: their signatures and recorded expiry lie in the past."""
    (job_id,) = stack.jobs
    grants = stack.storage.get_container_client(stack.settings["GRANTS_CONTAINER"])
    past = datetime.now(UTC) - timedelta(hours=1)
    async for name in grants.list_blob_names(name_starts_with=f"{job_id}/"):
        record = json.loads(await (await grants.download_blob(name)).readall())
        signature = generate_blob_sas(
            ACCOUNT_NAME, record["container"], record["blob"], account_key=ACCOUNT_KEY,
            permission=BlobSasPermissions(read=True), start=past - timedelta(hours=2), expiry=past,
        )  # fmt: skip
        record["url"] = f"{stack.proxy.blob_endpoint}/{record['container']}/{record['blob']}?{signature}"
        record["expiresAt"] = past.isoformat()
        await grants.upload_blob(name, json.dumps(record).encode(), overwrite=True)


async def test_a_job_resumed_after_its_grants_expired_renews_them(stack: KillStack) -> None:
    # "fail": every input is prepared (and granted) before any analysis starts, in another
    # activity, so the grants can expire in between (a per-document pipeline grants and begins in
    # one activity: a kill there signs the grant again when the activity runs again).
    async def start() -> list[str]:
        files = [("files", name, sample(name)) for name in INVOICES[:2]]
        return [await stack.submit(files, {"analyzerId": "prebuilt-document", "partialFailure": "fail"})]

    before_analysis = AtRequest(
        "about to analyse, down for longer than SAS_TTL_MINUTES",
        "PUT",
        r"/operation-\d+\.started\.json$",
        forward=False,
        while_down=_expire_grants,
    )
    (job_id,), _ = await run_with_kills(stack, start, [before_analysis])

    status = await stack.status(job_id)
    assert status["status"] == "succeeded", status
    assert stack.analyses_started() == {"prebuilt-document": 2}
    assert stack.log_text().count("had expired (or nearly)") == 2


async def test_a_request_retried_after_a_kill_during_its_upload_starts_one_job(stack: KillStack) -> None:
    files = [("files", ("invoice-contoso.txt", sample("invoice-contoso.txt")))]
    key = f"order-{uuid.uuid4().hex}"  # job ids derive from it, and the session's Azurite is shared
    request = ("request", (None, json.dumps({"idempotencyKey": key}), "application/json"))
    staging = stack.proxy.hold("PUT", r"/staging/job-")
    first = asyncio.create_task(stack.http.post("/api/analyses", files=[*files, request]))
    async with asyncio.timeout(20):
        await staging.arrived.wait()
    await stack.devhost.kill()  # the client never hears back
    staging.release(forward=True)  # ... but the staged upload lands: an orphan of the lost request
    with pytest.raises(httpx.HTTPError):
        await first
    await stack.devhost.start()

    retried = await stack.http.post("/api/analyses", files=[*files, request])
    assert retried.status_code == 202, retried.text
    status = await stack.wait(retried.json()["id"])

    assert status["status"] == "succeeded", status
    assert stack.analyses_started() == {"prebuilt-document": 1}
    # The lost request's staged upload is under the same job id, so the job's clean-up removed it.
    staged = await stack.blob_names(stack.settings["STAGING_CONTAINER"], prefix=f"{status['id']}/")
    assert len(staging.paths) == 1
    assert staged == []


async def test_a_blob_intake_delivery_interrupted_by_kill_9_starts_one_job(stack: KillStack) -> None:
    intake = stack.settings["INTAKE_CONTAINER"]

    async def drop_a_document() -> list[str]:
        container = stack.storage.get_container_client(intake)
        await container.create_container()
        uploaded = await container.get_blob_client("scan.pdf").upload_blob(sample("invoice-fabrikam.pdf"))
        job_id = intake_job_id(intake, "scan.pdf", str(uploaded["etag"]))
        stack.jobs.append(job_id)
        return [job_id]

    points: list[KillPoint] = [
        # devhost downloads the blob to call the trigger (the Event Grid delivery is queued): no job yet.
        AtRequest("delivering the blob to the trigger", "GET", rf"/{intake}/scan\.pdf$", forward=True),
        # The job started (the delivery may or may not be marked done): it is delivered again.
        AtRequest("ingesting the dropped document", "PUT", r"/inputs/intake-[^/]+/0-", forward=False),
    ]
    (job_id,), _ = await run_with_kills(stack, drop_a_document, points)

    status = await stack.status(job_id)
    assert status["status"] == "succeeded", status
    assert "FAB-2044" in (await stack.result(job_id))["results"][0]["result"]["contents"][0]["markdown"]
    assert stack.analyses_started() == {"prebuilt-document": 1}
    response = await stack.http.get("/runtime/webhooks/durabletask/instances")
    jobs = [i["instanceId"] for i in response.json() if i["name"] == "analysis_job"]
    assert jobs == [job_id]
