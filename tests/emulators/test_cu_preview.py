"""2026-06-01-preview in the emulator: agentic analyzers over a file of several documents, and
inline analysis (``:analyzeInline``, ``:analyzeBinaryInline``) for prebuilt-read and prebuilt-layout.
Raw HTTP, written from the reference (section 15) and Learn's agentic-mode and synchronous-API pages."""

from __future__ import annotations

import httpx
import pytest

from emulators.content_understanding import Emulator
from samples.pdf import make_pdf
from tests.emulators.cu_http import ALIAS_DEPLOYMENTS, GA, PREVIEW, analyze, assert_error, b64, create

pytestmark = pytest.mark.integration

AGENTIC = {
    "description": "An invoice checked against its contract, both in one file",
    "baseAnalyzerId": "prebuilt-document",
    "models": {"completion": "gpt-5.2"},
    "config": {"workflow": "agentic"},
    "fieldSchema": {
        "fields": {
            "ContractNumber": {"type": "string", "method": "generate"},
            "AgreedPaymentTerms": {"type": "string", "description": "Agreed payment terms"},
            "PaymentTerms": {"type": "string", "method": "generate"},
            "InvoiceTotal": {"type": "number"},
            "DocumentKind": {"type": "string", "method": "classify", "enum": ["Invoice", "Contract"]},
        }
    },
}
# One PDF, three logical documents: a contract, its appendix, an invoice (one page each).
PACKAGE = make_pdf(
    [
        ["Master services agreement", "Contract number: C-2025-17", "Agreed payment terms: Net 30"],
        ["Appendix A", "Document kind: Contract"],
        ["Invoice INV-9", "Payment terms: Net 45", "Invoice total: 1,200.00"],
    ]
)


async def test_an_agentic_analyzer_answers_over_a_file_of_several_documents(http: httpx.AsyncClient) -> None:
    created = await create(http, "contract-check", AGENTIC, PREVIEW)
    assert created["result"]["config"]["workflow"] == "agentic.2026-06-01-preview"
    got = (await http.get("/analyzers/contract-check", params={"api-version": PREVIEW})).json()
    assert got["config"] == {"workflow": "agentic.2026-06-01-preview"}

    request = {
        "inputs": [{"data": b64(PACKAGE), "name": "package.pdf"}],
        "modelDeployments": {"gpt-5.2": "my-gpt"},
    }
    done = await analyze(http, "contract-check", request, PREVIEW)
    assert done["status"] == "Succeeded", done
    [content] = done["result"]["contents"]  # one file, one content
    assert (content["startPageNumber"], content["endPageNumber"]) == (1, 3)
    fields = content["fields"]
    assert fields["ContractNumber"]["valueString"] == "C-2025-17"  # page 1
    assert fields["AgreedPaymentTerms"]["valueString"] == "Net 30"
    assert fields["PaymentTerms"]["valueString"] == "Net 45"  # page 3
    assert fields["InvoiceTotal"]["valueNumber"] == 1200
    assert fields["DocumentKind"]["valueString"] == "Contract"  # page 2
    usage = done["usage"]
    assert usage["documentPagesStandard"] == 3
    assert usage["advancedContextualizationTokens"] == 3000  # billed at the advanced rate
    assert "contextualizationTokens" not in usage
    assert set(usage["tokens"]) == {"gpt-5.2-input", "gpt-5.2-output"}


async def test_agentic_analysis_takes_one_file_on_its_own_version(http: httpx.AsyncClient) -> None:
    await create(http, "agent", AGENTIC, PREVIEW)
    deployments = {"gpt-5.2": "my-gpt"}
    two = {"inputs": [{"data": b64(PACKAGE)}, {"data": b64(PACKAGE)}], "modelDeployments": deployments}
    v = {"api-version": PREVIEW}
    assert (
        assert_error(await http.post("/analyzers/agent:analyze", params=v, json=two), 400)["target"]
        == "inputs"
    )
    one = {"inputs": [{"data": b64(PACKAGE)}], "modelDeployments": deployments}
    on_ga = await http.post("/analyzers/agent:analyze", params={"api-version": GA}, json=one)
    assert "2026-06-01-preview" in assert_error(on_ga, 400)["message"]
    assert_error(
        await http.post("/analyzers/agent:analyze", params=v, json={"inputs": [{"data": b64(PACKAGE)}]}), 400
    )


async def test_a_file_over_300_pages_fails_the_operation(http: httpx.AsyncClient) -> None:
    await create(http, "agent", AGENTIC, PREVIEW)
    huge = make_pdf([[f"Page {number}"] for number in range(301)])
    request = {"inputs": [{"data": b64(huge)}], "modelDeployments": {"gpt-5.2": "my-gpt"}}
    done = await analyze(http, "agent", request, PREVIEW)
    assert done["status"] == "Failed"
    assert done["error"]["message"] == "Invalid Request."
    assert done["error"]["innererror"]["code"] == "InputExceededLimit"


@pytest.mark.parametrize("analyzer", ["prebuilt-read", "prebuilt-layout"])
async def test_inline_analysis_answers_at_once(
    http: httpx.AsyncClient, cu_emulator: Emulator, analyzer: str
) -> None:
    v = {"api-version": PREVIEW}
    binary = await http.post(
        f"/analyzers/{analyzer}:analyzeBinaryInline", params=v, content=make_pdf([["Total: 5"]]),
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert binary.status_code == 200, binary.text
    assert "Operation-Location" not in binary.headers
    body = binary.json()
    assert body["status"] == "Succeeded"
    assert body["result"]["analyzerId"] == analyzer
    assert body["result"]["contents"][0]["markdown"] == "Total: 5"
    level = "Basic" if analyzer == "prebuilt-read" else "Standard"
    assert body["usage"] == {f"documentPages{level}Inline": 1}
    # by URL: the emulator reads it like an input of :analyze (here from itself: 401 without a key)
    by_url = await http.post(
        f"/analyzers/{analyzer}:analyzeInline",
        params=v,
        json={"inputs": [{"url": f"{cu_emulator.endpoint}/x.pdf"}]},
    )
    error = assert_error(by_url, 400, "InvalidRequest")
    assert error["message"] == "Invalid Request."
    assert error["innererror"]["code"] == "ContentSourceNotAccessible"
    assert cu_emulator.stats()["polls"] == {}  # nothing to poll


async def test_inline_analysis_limits(http: httpx.AsyncClient) -> None:
    v = {"api-version": PREVIEW}
    six_pages = make_pdf([[f"Page {number}"] for number in range(1, 7)])
    too_long = await http.post("/analyzers/prebuilt-layout:analyzeBinaryInline", params=v, content=six_pages)
    assert assert_error(too_long, 400)["innererror"]["code"] == "InputExceededLimit"
    truncated = await http.post(
        "/analyzers/prebuilt-layout:analyzeBinaryInline", params={**v, "allowInputTruncation": "true"},
        content=six_pages,
    )  # fmt: skip
    result = truncated.json()["result"]
    assert result["contents"][0]["endPageNumber"] == 5
    assert result["warnings"][0]["code"] == "InputExceededLimit"
    not_inline = await http.post(
        "/analyzers/prebuilt-document:analyzeInline", params=v,
        json={"inputs": [{"data": b64(b"x")}], "modelDeployments": ALIAS_DEPLOYMENTS},
    )  # fmt: skip
    assert "prebuilt-read" in assert_error(not_inline, 400)["message"]
    on_ga = await http.post(
        "/analyzers/prebuilt-read:analyzeBinaryInline", params={"api-version": GA}, content=b"x"
    )
    assert_error(on_ga, 404)
