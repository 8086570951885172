"""kill -9 devhost at every stage of a job, restart it on the same state: every job still finishes,
with the right results, and Content Understanding analyses every document exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from services.analysis import MAX_ANALYSIS_ATTEMPTS
from tests.e2e.conftest import sample
from tests.reliability.conftest import KillStack
from tests.reliability.kill_points import AtRequest, KillPoint, When, run_with_kills

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
    AtRequest("writing the result document", "PUT", r"/result\.json$", forward=True),
    AtRequest("deleting the grants", "DELETE", r"/grants/job-", forward=False),
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
    print(f"per-document: {len(report.kills)} kills, recovery {report.recovery_seconds:.2f} s")


async def _analyzer_creating(stack: KillStack) -> bool:
    created: dict[str, int] = stack.emulator.stats()["analyzersCreated"]
    return created.get("invoice-contract-check", 0) >= 1


async def _combined_analysis_running(stack: KillStack) -> bool:
    (job_id,) = stack.jobs
    recorded = await stack.operation_recorded(job_id, "combined")
    return recorded and not await stack.operation_saved(job_id, "combined")


COMBINED_KILL_POINTS: list[KillPoint] = [
    AtRequest(
        "copying the reference into the knowledge base",
        "PUT",
        r"/references/invoice-contract-check/job-[^/]+/contract-msa-77\.pdf$",
        forward=True,
    ),
    AtRequest(
        "recording the reference's analysis",
        "PUT",
        r"/operation-reference-0\.started\.json$",
        forward=True,
        body=OPERATION_RECORD,
    ),
    AtRequest("writing sources.jsonl", "PUT", r"/sources\.jsonl$", forward=False),
    When("while CU creates the analyzer", _analyzer_creating),
    When("while CU analyses the combined input", _combined_analysis_running),
    AtRequest("writing the result document", "PUT", r"/result\.json$", forward=False),
]


async def test_a_combined_pro_mode_job_survives_kill_9_at_every_stage(stack: KillStack) -> None:
    await stack.register("invoice-contract-check")

    async def start() -> list[str]:
        files = [
            ("files", "invoice-contoso-msa.pdf", sample("invoice-contoso-msa.pdf")),
            ("references", "contract-msa-77.pdf", sample("contract-msa-77.pdf")),
        ]
        return [await stack.submit(files, {"analyzerId": "invoice-contract-check", "mode": "combined"})]

    (job_id,), report = await run_with_kills(stack, start, COMBINED_KILL_POINTS)

    status = await stack.status(job_id)
    assert status["status"] == "succeeded", status
    assert report.kills == [point.label for point in COMBINED_KILL_POINTS]
    (entry,) = (await stack.result(job_id))["results"]
    assert fields_of(entry)["TermsConsistent"]["valueBoolean"] is False
    assert fields_of(entry)["PaymentTerms"]["valueString"] == "Net 30"
    stats = stack.emulator.stats()
    assert stats["analysesStarted"] == {"prebuilt-documentAnalyzer": 1, "invoice-contract-check": 1}
    assert stats["analyzersCreated"] == {"invoice-contract-check": 1}
    knowledge_base = await stack.blob_names("references", prefix=f"invoice-contract-check/{job_id}/")
    assert sorted(name.rsplit("/", 1)[1] for name in knowledge_base) == [
        "contract-msa-77.pdf",
        "contract-msa-77.pdf.result.json",
        "sources.jsonl",
    ]
    print(f"combined: {len(report.kills)} kills, recovery {report.recovery_seconds:.2f} s")


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
