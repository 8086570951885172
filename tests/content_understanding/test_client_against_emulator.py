"""The client against the emulator over real loopback HTTP, under both live API versions."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from content_understanding import (
    AnalyzeInput,
    AnalyzerConflictError,
    ContentUnderstandingClient,
    ContentUnderstandingPermanentError,
    ContentUnderstandingRequestError,
    ContentUnderstandingTransientError,
)
from content_understanding.errors import operation_error_info
from emulators.content_understanding import Emulator
from inputs.package import package_limits
from inputs.packaging import Part, build_package
from samples.pdf import make_pdf
from tests.support.cu_emulator import DEPLOYMENTS, GA, PREVIEW, emulator_client, wait_for_operation

pytestmark = pytest.mark.integration

FIELDS = {
    "fields": {
        "invoiceNumber": {"type": "string", "method": "generate", "description": "The invoice number"},
        "total": {"type": "number", "method": "generate"},
    }
}
INVOICE = b"Invoice number: INV-7\nTotal: 99.50\n"


@pytest.mark.parametrize(
    ("api_version", "definition", "deployments"),
    [
        (GA, {"baseAnalyzerId": "prebuilt-document", "fieldSchema": FIELDS}, DEPLOYMENTS),
        (PREVIEW, {"baseAnalyzerId": "prebuilt-document", "fieldSchema": FIELDS}, DEPLOYMENTS),
    ],
)
async def test_create_use_delete_an_analyzer(
    cu_emulator: Emulator, api_version: str, definition: dict[str, Any], deployments: dict[str, str] | None
) -> None:
    async with emulator_client(cu_emulator, api_version) as client:
        assert await client.get_analyzer("invoices") is None
        location = await client.begin_create_analyzer("invoices", definition)
        analyzer = await client.get_analyzer("invoices")
        assert analyzer is not None
        assert analyzer["status"] == "creating"
        created = await wait_for_operation(client, location)
        assert created.status == "Succeeded"
        assert created.result is not None
        assert created.result["status"] == "ready"

        operation = await client.begin_analyze(
            "invoices", [AnalyzeInput(data=INVOICE, name="invoice.txt")], model_deployments=deployments
        )
        assert operation.operation_location.endswith(
            f"/analyzerResults/{operation.operation_id}?api-version={api_version}"
        )
        done = await wait_for_operation(client, operation.operation_location)
        assert done.status == "Succeeded"
        assert done.result is not None
        content = done.result["contents"][0]
        assert content["markdown"] == INVOICE.decode()
        assert content["fields"]["invoiceNumber"]["valueString"] == "INV-7"
        assert content["fields"]["total"]["valueNumber"] == 99.5
        assert done.result["apiVersion"] == api_version

        assert "invoices" in [a["analyzerId"] for a in await client.list_analyzers()]
        await client.delete_analyzer("invoices")
        assert await client.get_analyzer("invoices") is None
    assert cu_emulator.stats()["analysesStarted"] == {"invoices": 1}


async def test_existing_analyzer_conflicts_unless_replaced(cu_emulator: Emulator) -> None:
    definition = {"baseAnalyzerId": "prebuilt-document", "description": "v1"}
    async with emulator_client(cu_emulator) as client:
        await wait_for_operation(client, await client.begin_create_analyzer("a", definition))
        with pytest.raises(AnalyzerConflictError) as caught:
            await client.begin_create_analyzer("a", definition)
        assert caught.value.status_code == 409
        replaced = await client.begin_create_analyzer(
            "a", {**definition, "description": "v2"}, allow_replace=True
        )
        await wait_for_operation(client, replaced)
        analyzer = await client.get_analyzer("a")
        assert analyzer is not None
        assert analyzer["description"] == "v2"
        # Pro mode's retired version: refused before anything is sent, by a client or by a call.
        requests = cu_emulator.stats()["requests"]
        with pytest.raises(ContentUnderstandingRequestError, match="retired"):
            await client.begin_create_analyzer("a", definition, api_version="2025-05-01-preview")
        assert cu_emulator.stats()["requests"] == requests
    with pytest.raises(ContentUnderstandingRequestError, match="retired"):
        emulator_client(cu_emulator, "2025-05-01-preview")


async def test_ga_analysis_needs_model_deployments(cu_emulator: Emulator) -> None:
    async with emulator_client(cu_emulator) as client:
        with pytest.raises(ContentUnderstandingPermanentError) as caught:
            await client.begin_analyze("prebuilt-document", [AnalyzeInput(data=INVOICE)])
    assert caught.value.status_code == 400
    assert caught.value.target == "modelDeployments"
    assert "prebuilt-analyzer-completion" in str(caught.value)  # prebuilts name the model aliases
    assert cu_emulator.stats()["analysesStarted"] == {}


AGENTIC = {
    "baseAnalyzerId": "prebuilt-document",
    "config": {"workflow": "agentic"},
    "fieldSchema": {
        "fields": {
            "invoiceNumber": {"type": "string", "method": "generate", "description": "The invoice number"},
            "agreedTerms": {"type": "string", "method": "generate", "description": "The contract's terms"},
        }
    },
}


async def test_an_agentic_analyzer_reads_every_document_of_one_package(cu_emulator: Emulator) -> None:
    package = build_package(
        [
            Part("invoice.pdf", "input", "application/pdf", make_pdf([["Invoice number: INV-9"]])),
            Part("contract.md", "reference", "text/markdown", b"# Contract\n\nAgreed terms: Net 45\n"),
        ],
        package_limits(PREVIEW),
    )
    async with emulator_client(cu_emulator, PREVIEW) as client:
        await wait_for_operation(client, await client.begin_create_analyzer("agentic", AGENTIC))
        created = await client.get_analyzer("agentic")
        assert created is not None
        assert created["config"]["workflow"] == "agentic.2026-06-01-preview"  # resolved, as Azure reports it
        operation = await client.begin_analyze(
            "agentic", [AnalyzeInput(data=package.data, name="package.pdf")], model_deployments=DEPLOYMENTS
        )
        done = await wait_for_operation(client, operation.operation_location)
    assert done.status == "Succeeded", done.error
    assert done.result is not None
    [content] = done.result["contents"]
    assert content["fields"]["invoiceNumber"]["valueString"] == "INV-9"
    assert content["fields"]["agreedTerms"]["valueString"] == "Net 45"
    assert content["endPageNumber"] == package.pages == 3


async def test_agentic_mode_takes_one_file_and_is_preview_only(cu_emulator: Emulator) -> None:
    async with emulator_client(cu_emulator, PREVIEW) as client:
        await wait_for_operation(client, await client.begin_create_analyzer("agentic", AGENTIC))
        two = [AnalyzeInput(data=INVOICE, name="a.txt"), AnalyzeInput(data=INVOICE, name="b.txt")]
        with pytest.raises(ContentUnderstandingRequestError, match="one input per request"):
            await client.begin_analyze("agentic", two)
    async with emulator_client(cu_emulator) as client:
        with pytest.raises(ContentUnderstandingRequestError, match="agentic mode, which exists only in"):
            await client.begin_create_analyzer("agentic", AGENTIC)


async def test_injected_429_and_5xx_are_survived_within_bounds(cu_emulator: Emulator) -> None:
    cu_emulator.set_faults(rate_429=0.25, rate_5xx=0.25, retry_after=0.01)
    async with emulator_client(cu_emulator, max_retries=8) as client:
        location = await client.begin_create_analyzer("a", {"baseAnalyzerId": "prebuilt-document"})
        await wait_for_operation(client, location)
        operations = [
            await client.begin_analyze("a", [AnalyzeInput(data=INVOICE)], model_deployments=DEPLOYMENTS)
            for _ in range(6)
        ]
        results = [await wait_for_operation(client, op.operation_location) for op in operations]
    stats = cu_emulator.stats()
    assert all(result.status == "Succeeded" for result in results)
    assert stats["faultsServed"]["429"] > 0
    assert stats["faultsServed"]["503"] > 0
    assert stats["analysesStarted"] == {"a": 6}  # no analysis started twice by a retry
    # Every request was a fault or a useful call (1 PUT, 6 POSTs, the polls): each fault cost
    # exactly one retry, and nothing else was sent.
    polls = sum(poll["count"] for poll in stats["polls"].values())
    assert stats["requests"] == stats["faultsServed"]["total"] + 1 + 6 + polls


async def test_retries_give_up_after_max_retries(cu_emulator: Emulator) -> None:
    cu_emulator.set_faults(rate_429=1.0, retry_after=0.01)
    async with emulator_client(cu_emulator, max_retries=2) as client:
        with pytest.raises(ContentUnderstandingTransientError) as caught:
            await client.get_analyzer("prebuilt-document")
    assert caught.value.status_code == 429
    assert caught.value.retry_after_seconds == 0.01
    assert cu_emulator.stats()["faultsServed"]["429"] == 3


async def test_analyze_is_not_resent_after_a_500(cu_emulator: Emulator) -> None:
    cu_emulator.set_faults(rate_5xx=1.0, status_5xx=500)
    async with emulator_client(cu_emulator) as client:
        with pytest.raises(ContentUnderstandingTransientError):
            await client.begin_analyze(
                "prebuilt-document", [AnalyzeInput(data=INVOICE)], model_deployments=DEPLOYMENTS
            )
    assert cu_emulator.stats()["faultsServed"] == {"500": 1, "total": 1}


async def test_polls_honour_retry_after(cu_emulator: Emulator) -> None:
    cu_emulator.set_faults(analysis_seconds=1.0, retry_after=0.3)
    async with emulator_client(cu_emulator) as client:
        operation = await client.begin_analyze(
            "prebuilt-document", [AnalyzeInput(data=INVOICE)], model_deployments=DEPLOYMENTS
        )
        status = await wait_for_operation(client, operation.operation_location)
    assert status.status == "Succeeded"
    times = cu_emulator.stats()["polls"][operation.operation_id]["times"]
    assert len(times) >= 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.29


async def test_failed_and_never_ending_operations_can_be_injected(cu_emulator: Emulator) -> None:
    cu_emulator.set_faults(fail_input_names=["broken.txt"], hang_analyzer_ids=["prebuilt-layout"])
    async with emulator_client(cu_emulator, PREVIEW) as client:
        hanging = await client.begin_analyze(
            "prebuilt-layout", [AnalyzeInput(data=INVOICE)], model_deployments=DEPLOYMENTS
        )
        await asyncio.sleep(0.5)  # more than analysis_seconds
        assert (await client.get_operation(hanging.operation_location)).status == "Running"
    async with emulator_client(cu_emulator) as client:
        failed = await wait_for_operation(
            client,
            (
                await client.begin_analyze(
                    "prebuilt-document",
                    [AnalyzeInput(data=INVOICE, name="broken.txt")],
                    model_deployments=DEPLOYMENTS,
                )
            ).operation_location,
        )
    assert failed.status == "Failed"
    assert failed.error == {"code": "InternalServerError", "message": "An unexpected error occurred."}


async def test_an_unreadable_input_fails_with_the_detail_in_innererror(cu_emulator: Emulator) -> None:
    """Azure's shape: a generic outer error, the detail inside; the app keeps and tells both."""
    async with emulator_client(cu_emulator) as client:
        operation = await client.begin_analyze(
            "prebuilt-document",
            [AnalyzeInput(url="http://127.0.0.1:9/gone.pdf?sig=SECRET", name="gone.pdf")],
            model_deployments=DEPLOYMENTS,
        )
        failed = await wait_for_operation(client, operation.operation_location)
    assert failed.status == "Failed"
    assert failed.error is not None
    assert (failed.error["code"], failed.error["message"]) == ("InvalidRequest", "Invalid Request.")
    assert failed.error["innererror"]["code"] == "ContentSourceNotAccessible"
    info = operation_error_info(failed.error)
    assert info["innerError"]["code"] == "ContentSourceNotAccessible"
    assert info["message"].startswith("Invalid Request. (ContentSourceNotAccessible: ")
    assert "SECRET" not in str(info)


async def test_wrong_key_is_a_permanent_401(cu_emulator: Emulator) -> None:
    async with ContentUnderstandingClient(cu_emulator.endpoint, key="wrong") as client:
        with pytest.raises(ContentUnderstandingPermanentError) as caught:
            await client.list_analyzers()
    assert caught.value.status_code == 401


async def test_list_follows_pages(cu_emulator: Emulator) -> None:
    async with emulator_client(cu_emulator) as client:
        prebuilt = [a["analyzerId"] for a in await client.list_analyzers()]
        for index in range(25):
            await client.begin_create_analyzer(f"a{index:02d}", {"baseAnalyzerId": "prebuilt-document"})
        analyzers = await client.list_analyzers()
    ids = [a["analyzerId"] for a in analyzers]
    assert all(analyzer_id.startswith("prebuilt-") for analyzer_id in prebuilt)
    assert len(ids) == len(set(ids)) == len(prebuilt) + 25  # the prebuilt analyzers and ours, over pages
