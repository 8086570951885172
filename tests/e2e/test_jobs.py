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


AGENTIC_FILES = [
    ("files", "invoice-contoso-msa.pdf", sample("invoice-contoso-msa.pdf")),
    ("references", "contract-msa-77.pdf", sample("contract-msa-77.pdf")),
]


async def test_an_agentic_job_with_a_reference_document(stack: AppStack) -> None:
    await stack.register("invoice-contract-check")
    job_id = await stack.submit(AGENTIC_FILES, {"analyzerId": "invoice-contract-check", "mode": "agentic"})

    status = await stack.wait(job_id)

    assert status["status"] == "succeeded", status
    summary = status["summary"]
    assert (summary["mode"], summary["apiVersion"]) == ("agentic", "2026-06-01-preview")
    assert [op["key"] for op in summary["operations"]] == ["agentic"]
    assert [(line["name"], line["status"]) for line in summary["inputs"]] == [
        ("invoice-contoso-msa.pdf", "succeeded")
    ]
    assert [line["name"] for line in summary["references"]] == ["contract-msa-77.pdf"]
    package = summary["package"]
    assert (package["name"], package["pages"]) == ("package.pdf", 3)  # contents, invoice, contract
    assert [(part["name"], part["role"], part["firstPage"]) for part in package["parts"]] == [
        ("invoice-contoso-msa.pdf", "input", 2),
        ("contract-msa-77.pdf", "reference", 3),
    ]
    # The result document: one entry naming every packaged document in order, CU's result as returned.
    result = (await stack.http.get(f"/api/analyses/{job_id}/result")).json()
    assert result["mode"] == "agentic"
    (entry,) = result["results"]
    assert entry["inputs"] == ["invoice-contoso-msa.pdf", "contract-msa-77.pdf"]
    assert entry["result"]["apiVersion"] == "2026-06-01-preview"
    (content,) = entry["result"]["contents"]
    assert (content["startPageNumber"], content["endPageNumber"]) == (1, 3)
    assert "Contents" in content["markdown"]
    fields = fields_of(entry)
    assert fields["PaymentTerms"]["valueString"] == "Net 30"  # from the invoice
    assert fields["AgreedPaymentTerms"]["valueString"] == "Net 45"  # from the contract, a reference
    assert fields["ContractNumber"]["valueString"] == "MSA-77"
    assert fields["TermsConsistent"]["valueBoolean"] is False
    # One analysis of one file: the package CU read is the one in storage, behind a SAS.
    stats = stack.emulator.stats()
    assert stats["analysesStarted"] == {"invoice-contract-check": 1}
    assert f"{job_id}/package.pdf" in await stack.blob_names(stack.settings["INPUTS_CONTAINER"])
    analyzer = (await stack.http.get("/api/analyzers/invoice-contract-check")).json()
    assert analyzer["apiVersion"] == "2026-06-01-preview"
    assert analyzer["service"]["config"]["workflow"] == "agentic.2026-06-01-preview"


async def test_a_second_agentic_job_reuses_the_analyzer(stack: AppStack) -> None:
    await stack.register("invoice-contract-check")
    request = {"analyzerId": "invoice-contract-check", "mode": "agentic"}
    first = await stack.wait(await stack.submit(AGENTIC_FILES, request))
    second = await stack.wait(await stack.submit(AGENTIC_FILES, request))

    assert (first["status"], second["status"]) == ("succeeded", "succeeded")
    assert stack.emulator.stats()["analysesStarted"] == {"invoice-contract-check": 2}


async def test_an_agentic_job_of_json_references_packages_text_and_markdown(stack: AppStack) -> None:
    await stack.register("invoice-contract-check")
    intake = stack.storage.get_container_client(stack.intake)
    await intake.upload_blob("_e2e/invoice.md", sample("invoice-litware.md"), overwrite=True)
    await intake.upload_blob(
        "_e2e/terms.txt", b"Agreed Payment Terms: Net 60\nContract Number: LIT-9\n", overwrite=True
    )
    response = await stack.http.post(
        "/api/analyses",
        json={
            "analyzerId": "invoice-contract-check",
            "mode": "agentic",
            "inputs": [{"blob": f"{stack.intake}/_e2e/invoice.md"}],
            "references": [{"blob": f"{stack.intake}/_e2e/terms.txt"}],
        },
    )
    assert response.status_code == 202, response.text

    status = await stack.wait(response.json()["id"])

    assert status["status"] == "succeeded", status
    result = (await stack.http.get(response.json()["resultUrl"])).json()
    (entry,) = result["results"]
    assert entry["inputs"] == ["invoice.md", "terms.txt"]
    fields = fields_of(entry)
    assert (fields["AgreedPaymentTerms"]["valueString"], fields["ContractNumber"]["valueString"]) == (
        "Net 60",
        "LIT-9",
    )
