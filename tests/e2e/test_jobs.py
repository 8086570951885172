"""Analysis jobs end to end: HTTP API -> orchestrations on devhost -> Azurite + CU emulator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import AppStack, sample
from tests.support.loopback import file_server

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

INVOICES = ["invoice-contoso.txt", "invoice-fabrikam.pdf", "invoice-litware.md"]


def fields_of(result_entry: dict[str, Any]) -> dict[str, Any]:
    return dict(result_entry["result"]["contents"][0]["fields"])


async def test_a_multipart_job_analyses_every_document(stack: AppStack) -> None:
    await stack.register("invoice-fields")
    job_id = await stack.submit(
        [("files", name, sample(name)) for name in INVOICES], {"analyzerId": "invoice-fields"}
    )

    status = await stack.wait(job_id)

    assert status["status"] == "succeeded", status
    assert status["stage"] == "completed"
    assert status["progress"] == {"total": 3, "ingested": 3, "failed": 0, "analyzing": 0, "done": 3}
    summary = status["summary"]
    assert [fate["name"] for fate in summary["inputs"]] == INVOICES
    assert {fate["status"] for fate in summary["inputs"]} == {"succeeded"}
    assert all(len(fate["sha256"]) == 64 and fate["operationId"] for fate in summary["inputs"])
    assert status["createdAt"] <= status["updatedAt"]

    response = await stack.http.get(f"/api/analyses/{job_id}/result")
    assert response.status_code == 200
    result = response.json()
    assert (result["id"], result["analyzerId"], result["mode"]) == (job_id, "invoice-fields", "per-document")
    by_input = {entry["inputs"][0]: entry for entry in result["results"]}
    assert set(by_input) == set(INVOICES)
    assert fields_of(by_input["invoice-fabrikam.pdf"])["InvoiceNumber"]["valueString"] == "FAB-2044"
    assert fields_of(by_input["invoice-contoso.txt"])["TotalAmount"]["valueNumber"] == 1250.0
    assert stack.emulator.stats()["analysesStarted"].get("invoice-fields") == 3

    # The job cleaned up after itself: no staged upload and no grant (signed URL) is left.
    assert not [name for name in await stack.blob_names("staging") if name.startswith(f"{job_id}/")]
    assert not [name for name in await stack.blob_names("grants") if name.startswith(f"{job_id}/")]
    assert [name for name in await stack.blob_names("inputs") if name.startswith(f"{job_id}/")]


async def test_a_json_job_with_blob_references(stack: AppStack) -> None:
    intake = stack.storage.get_container_client(stack.intake)
    await intake.create_container()
    # Under a "_" folder, so that blob intake does not also start a job for each of them.
    await intake.upload_blob("_e2e/contoso.txt", sample("invoice-contoso.txt"), overwrite=True)
    await intake.upload_blob("_e2e/fabrikam.pdf", sample("invoice-fabrikam.pdf"), overwrite=True)

    response = await stack.http.post(
        "/api/analyses",
        json={
            "inputs": [
                {"blob": f"{stack.intake}/_e2e/contoso.txt"},
                {"blob": f"{stack.intake}/_e2e/fabrikam.pdf"},
            ]
        },
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert response.headers["Location"] == accepted["statusUrl"] == f"/api/analyses/{accepted['id']}"
    assert accepted["resultUrl"] == f"/api/analyses/{accepted['id']}/result"

    status = await stack.wait(accepted["id"])
    assert status["status"] == "succeeded", status
    assert status["summary"]["analyzerId"] == "prebuilt-document"  # DEFAULT_ANALYZER_ID
    result = (await stack.http.get(accepted["resultUrl"])).json()
    markdown = {entry["inputs"][0]: entry["result"]["contents"][0]["markdown"] for entry in result["results"]}
    assert "INV-1001" in markdown["contoso.txt"]
    assert "FAB-2044" in markdown["fabrikam.pdf"]


async def test_a_url_input(stack: AppStack) -> None:
    async with file_server() as files:
        files.files["litware.md"] = sample("invoice-litware.md")
        response = await stack.http.post(
            "/api/analyses",
            json={"analyzerId": "prebuilt-document", "inputs": [{"url": files.url("files/litware.md")}]},
        )
        assert response.status_code == 202, response.text
        status = await stack.wait(response.json()["id"])
    assert status["status"] == "succeeded", status
    (fate,) = status["summary"]["inputs"]
    assert fate["name"] == "litware.md"
    assert fate["contentType"] == "text/markdown"


async def test_a_combined_pro_mode_job_with_a_reference_knowledge_base(stack: AppStack) -> None:
    await stack.register("invoice-contract-check")
    job_id = await stack.submit(
        [
            ("files", "invoice-contoso-msa.pdf", sample("invoice-contoso-msa.pdf")),
            ("references", "contract-msa-77.pdf", sample("contract-msa-77.pdf")),
        ],
        {"analyzerId": "invoice-contract-check", "mode": "combined"},
    )

    status = await stack.wait(job_id)

    assert status["status"] == "succeeded", status
    summary = status["summary"]
    assert (summary["mode"], summary["apiVersion"]) == ("combined", "2025-05-01-preview")
    assert [op["key"] for op in summary["operations"]] == ["combined"]
    result = (await stack.http.get(f"/api/analyses/{job_id}/result")).json()
    (entry,) = result["results"]
    assert entry["inputs"] == ["invoice-contoso-msa.pdf"]
    fields = fields_of(entry)
    assert fields["TermsConsistent"]["valueBoolean"] is False
    assert fields["PaymentTerms"]["valueString"] == "Net 30"
    # Found only in the contract: the knowledge base reached the analysis (no span: not in the input).
    assert fields["AgreedPaymentTerms"] == {"type": "string", "valueString": "Net 45"}
    assert fields["ContractNumber"]["valueString"] == "MSA-77"
    # The knowledge base was built as the reference describes, and the analyzer created from it.
    kb = sorted(await stack.blob_names("references"))
    assert any(name.endswith("/contract-msa-77.pdf") for name in kb)
    assert any(name.endswith("/contract-msa-77.pdf.result.json") for name in kb)
    assert any(name.endswith("/sources.jsonl") for name in kb)
    analyzer = (await stack.http.get("/api/analyzers/invoice-contract-check")).json()
    assert analyzer["service"]["status"] == "ready"
    (source,) = analyzer["service"]["knowledgeSources"]
    assert "sig=" not in source["containerUrl"]
    stats = stack.emulator.stats()
    assert stats["analysesStarted"].get("prebuilt-documentAnalyzer") == 1
    assert stats["analysesStarted"].get("invoice-contract-check") == 1


async def test_a_second_combined_job_reuses_the_analyzer(stack: AppStack) -> None:
    await stack.register("invoice-contract-check")
    files = [
        ("files", "invoice-contoso-msa.pdf", sample("invoice-contoso-msa.pdf")),
        ("references", "contract-msa-77.pdf", sample("contract-msa-77.pdf")),
    ]
    request = {"analyzerId": "invoice-contract-check", "mode": "combined"}
    first = await stack.wait(await stack.submit(files, request))
    second = await stack.wait(await stack.submit(files, request))

    assert (first["status"], second["status"]) == ("succeeded", "succeeded")
    stats = stack.emulator.stats()
    assert stats["analysesStarted"].get("prebuilt-documentAnalyzer") == 1  # the knowledge base was built once
    assert stats["analysesStarted"].get("invoice-contract-check") == 2
