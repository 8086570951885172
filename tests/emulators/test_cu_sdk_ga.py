"""The official SDK as the judge of the emulator's GA API (2025-11-01).

``azure-ai-contentunderstanding`` 1.1.0 (a dev dependency; its async client) drives every GA
operation it has that the emulator emulates: defaults, analyzer create/replace/get/list/update/
delete, analyze by URL and by bytes, results and their deletion, and the errors 401, 404, 409 and
429 with Retry-After. Every answer the SDK received is then read strictly against the SDK's model
for it (``tests/support/sdk_models.py``): no property the model lacks, none it requires missing,
every value of the declared type. Copying analyzers is not emulated (see the emulator's doc).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from azure.ai.contentunderstanding import models
from azure.ai.contentunderstanding.aio import ContentUnderstandingClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ResponseNotReadError,
)
from azure.core.pipeline.transport import AioHttpTransport
from azure.core.rest import AsyncHttpResponse, HttpRequest

from emulators.content_understanding import Emulator, running_emulator
from samples.pdf import make_pdf
from tests.support.sdk_models import answer_problems

pytestmark = pytest.mark.integration

BASE = "/contentunderstanding"
DEPLOYMENTS = {
    "prebuilt-analyzer-completion": "my-gpt",
    "prebuilt-analyzer-completion-mini": "my-gpt-mini",
    "prebuilt-analyzer-embedding": "my-embedding",
    "gpt-4.1": "my-gpt",
}
INVOICE = make_pdf([["Invoice number: INV-7", "Vendor name: Contoso"], ["Total amount: 1,250.00"]])


class Recorder:
    """Every answer the SDK received, through any number of clients."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str, int, Any]] = []

    def problems(self) -> list[str]:
        return [problem for answer in self.answers for problem in answer_problems(models, *answer)]


class RecordingTransport(AioHttpTransport):  # type: ignore[misc]  # azure-core's transports are untyped
    """The SDK's own transport, keeping every answer it receives (bodies read in full)."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.answers = recorder.answers

    async def send(self, request: HttpRequest, **kwargs: Any) -> AsyncHttpResponse:
        response: AsyncHttpResponse = await super().send(request, **kwargs)
        try:
            text = response.text()
        except ResponseNotReadError:  # a streamed response (the first answer of an LRO): read it now
            text = (await response.read()).decode()
        path = request.url.split(BASE, 1)[1].split("?", 1)[0]
        self.answers.append((request.method, path, response.status_code, json.loads(text) if text else None))
        return response


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    # Pages of 5 analyzers, so that listing follows nextLink.
    async with running_emulator(
        key="sdk-key", seed=3, analysis_seconds=0.2, retry_after=0.05, page_size=5
    ) as e:
        yield e
        assert e.stats()["emulatorErrors"] == 0


@pytest.fixture
async def document_url() -> AsyncIterator[str]:
    """A loopback web server with one PDF, for analysis by URL."""

    async def invoice(_: web.Request) -> web.Response:
        return web.Response(body=INVOICE, content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/invoice.pdf", invoice)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/invoice.pdf"
    await runner.cleanup()


def client(
    emulator: Emulator, recorder: Recorder, key: str | None = None, **options: Any
) -> ContentUnderstandingClient:
    return ContentUnderstandingClient(
        emulator.endpoint, AzureKeyCredential(key or emulator.key), polling_interval=0.05,
        transport=RecordingTransport(recorder), retry_backoff_factor=0.01, **options,
    )  # fmt: skip


ANALYZER = models.ContentAnalyzer(
    base_analyzer_id="prebuilt-document",
    description="Invoice header",
    config=models.ContentAnalyzerConfig(return_details=True, estimate_field_source_and_confidence=True),
    field_schema=models.ContentFieldSchema(
        fields={
            "InvoiceNumber": models.ContentFieldDefinition(type="string", method="extract"),
            "VendorName": models.ContentFieldDefinition(type="string", method="generate"),
            "TotalAmount": models.ContentFieldDefinition(type="number", description="Total amount"),
        }
    ),
    models={"completion": "gpt-4.1"},
    tags={"team": "finance"},
)


async def test_every_ga_operation_through_the_sdk(emulator: Emulator, document_url: str) -> None:
    recorder = Recorder()
    async with client(emulator, recorder) as sdk:
        defaults = await sdk.update_defaults(model_deployments=DEPLOYMENTS)
        assert defaults.model_deployments == DEPLOYMENTS
        assert (await sdk.get_defaults()).model_deployments == DEPLOYMENTS

        created = await (await sdk.begin_create_analyzer("invoices", ANALYZER)).result()
        assert (created.analyzer_id, created.status) == ("invoices", "ready")
        with pytest.raises(ResourceExistsError):
            await sdk.begin_create_analyzer("invoices", ANALYZER)
        replaced = await (await sdk.begin_create_analyzer("invoices", ANALYZER, allow_replace=True)).result()
        assert replaced.status == "ready"
        got = await sdk.get_analyzer("invoices")
        assert got.field_schema is not None
        assert got.field_schema.fields["InvoiceNumber"].method == "extract"
        assert got.tags == {"team": "finance"}
        invoice = await sdk.get_analyzer("prebuilt-invoice")
        assert invoice.models == {
            "completion": "prebuilt-analyzer-completion",
            "embedding": "prebuilt-analyzer-embedding",
        }
        assert invoice.supported_models is not None
        assert "gpt-4.1" in (invoice.supported_models.completion or [])
        updated = await sdk.update_analyzer(
            "invoices", models.ContentAnalyzer(description="Invoice header v2")
        )
        assert updated.description == "Invoice header v2"
        listed = [analyzer.analyzer_id async for analyzer in sdk.list_analyzers()]
        assert {"invoices", "prebuilt-read", "prebuilt-layout", "prebuilt-invoice"} <= set(listed)
        assert len(listed) == len(set(listed)) > 5  # several pages, nothing twice

        by_url = await sdk.begin_analyze("invoices", inputs=[models.AnalysisInput(url=document_url)])
        result = await by_url.result()
        content = result.contents[0]
        assert isinstance(content, models.DocumentContent)
        assert (content.start_page_number, content.end_page_number) == (1, 2)
        assert content.fields is not None
        number = content.fields["InvoiceNumber"]
        assert isinstance(number, models.StringField)
        assert number.value_string == "INV-7"
        assert number.confidence is not None
        assert number.source is not None
        assert number.source.startswith("D(1,")
        total = content.fields["TotalAmount"]
        assert isinstance(total, models.NumberField)
        assert total.value_number == 1250
        assert by_url.usage is not None
        assert by_url.usage.document_pages_standard == 2
        assert by_url.usage.tokens is not None
        assert set(by_url.usage.tokens) == {"gpt-4.1-input", "gpt-4.1-output"}

        by_bytes = await sdk.begin_analyze_binary("prebuilt-read", INVOICE)
        read = await by_bytes.result()
        assert read.contents[0].markdown is not None
        assert "INV-7" in read.contents[0].markdown
        await sdk.delete_result(by_bytes.operation_id)
        with pytest.raises(ResourceNotFoundError):
            await sdk.delete_result(by_bytes.operation_id)
        with pytest.raises(ResourceNotFoundError):  # result files are not emulated
            await sdk.get_result_file(by_url.operation_id, "contents/0/figures/1.1")

        await sdk.delete_analyzer("invoices")
        with pytest.raises(ResourceNotFoundError):
            await sdk.get_analyzer("invoices")
    assert recorder.problems() == []
    assert len(recorder.answers) > 20


async def test_a_failed_analysis_raises_with_the_inner_error(emulator: Emulator) -> None:
    recorder = Recorder()
    async with client(emulator, recorder) as sdk:
        poller = await sdk.begin_analyze(
            "prebuilt-read", inputs=[models.AnalysisInput(url=f"{emulator.endpoint}/missing.pdf?sig=secret")]
        )
        with pytest.raises(HttpResponseError) as caught:
            await poller.result()
    assert caught.value.error is not None
    assert (caught.value.error.code, caught.value.error.message) == ("InvalidRequest", "Invalid Request.")
    assert caught.value.error.innererror["code"] == "ContentSourceNotAccessible"
    assert "secret" not in str(caught.value)
    assert recorder.problems() == []


async def test_errors_map_to_the_sdk_exceptions(emulator: Emulator) -> None:
    recorder = Recorder()
    async with client(emulator, recorder, key="wrong-key") as sdk:
        with pytest.raises(ClientAuthenticationError) as unauthorized:
            await sdk.get_analyzer("prebuilt-read")
    assert unauthorized.value.status_code == 401
    async with client(emulator, recorder) as sdk:
        with pytest.raises(ResourceNotFoundError):
            await sdk.get_analyzer("nope")
        with pytest.raises(HttpResponseError) as bad:  # prebuilt-document needs model deployments
            await sdk.begin_analyze("prebuilt-document", inputs=[models.AnalysisInput(data=INVOICE)])
        assert bad.value.status_code == 400
        assert bad.value.error is not None
        assert bad.value.error.innererror["code"] == "ModelDeploymentNotFound"
    assert recorder.problems() == []


async def test_429_with_retry_after_is_retried_then_surfaced(emulator: Emulator) -> None:
    recorder = Recorder()
    emulator.set_faults(rate_429=1.0, retry_after=0.05)
    async with client(emulator, recorder, retry_total=2) as sdk:
        with pytest.raises(HttpResponseError) as throttled:
            await sdk.get_analyzer("prebuilt-read")
    assert throttled.value.status_code == 429
    assert throttled.value.response is not None
    assert getattr(throttled.value.response, "headers", {})["Retry-After"] == "0.05"
    assert emulator.stats()["faultsServed"]["429"] == 3  # azure-core retried twice, honouring Retry-After
    emulator.set_faults(rate_429=0.5)
    async with client(emulator, recorder, retry_total=10) as sdk:
        for _ in range(5):
            assert (await sdk.get_analyzer("prebuilt-read")).status == "ready"
    assert recorder.problems() == []
