"""Analysis jobs end to end: HTTP API -> orchestrations on devhost -> Azurite + CU emulator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import AppStack, sample

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
    assert await stack.blob_names("staging") == []
    assert await stack.blob_names("grants") == []
