"""Drives the emulator with the pre-release SDK (2026-06-01-preview): agentic analyzers and inline
analysis. Run by tests/emulators/test_cu_sdk_preview.py under ``.tools/cu-sdk-preview/bin/python``
(azure-ai-contentunderstanding 1.2.0b3; .venv holds the GA 1.1.0), not collected by pytest.

    python tests/emulators/sdk_preview_driver.py ENDPOINT KEY DOCUMENT_URL

Prints one JSON object: what each step saw (``checks``) and every problem found reading the
answers strictly against the SDK's models (``problems``, from tests/support/sdk_models.py). The SDK
is reached through ``importlib`` and ``Any``, since type-checking runs against the GA SDK.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for tests.support

from tests.support.sdk_models import answer_problems

BASE = "/contentunderstanding"
PDF_PAGES = ["Contract number: C-77", "Agreed payment terms: Net 30"], ["Payment terms: Net 60"]


def pdf(pages: tuple[list[str], ...]) -> bytes:
    """A PDF with a text layer (the same construction as samples/pdf.py, which needs .venv)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for lines in pages:
        text = "".join(f"({line}) Tj T* " for line in lines)
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {text}ET".encode("latin-1")
        kids.append(len(objects) + 1)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objects) + 2} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects[1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    )
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


async def drive(endpoint: str, key: str, document_url: str) -> dict[str, Any]:
    sdk: Any = importlib.import_module("azure.ai.contentunderstanding.aio")
    models: Any = importlib.import_module("azure.ai.contentunderstanding.models")
    core: Any = importlib.import_module("azure.core.exceptions")
    transports: Any = importlib.import_module("azure.core.pipeline.transport")
    credentials: Any = importlib.import_module("azure.core.credentials")
    answers: list[tuple[str, str, int, Any]] = []

    class Recording(transports.AioHttpTransport):  # type: ignore[misc]
        async def send(self, request: Any, **kwargs: Any) -> Any:
            response = await super().send(request, **kwargs)
            try:
                text = response.text()
            except core.ResponseNotReadError:
                text = (await response.read()).decode()
            path = request.url.split(BASE, 1)[1].split("?", 1)[0]
            answers.append((request.method, path, response.status_code, json.loads(text) if text else None))
            return response

    checks: dict[str, Any] = {}
    client = sdk.ContentUnderstandingClient(
        endpoint, credentials.AzureKeyCredential(key), polling_interval=0.05, transport=Recording()
    )
    async with client:
        checks["apiVersion"] = client._config.api_version
        await client.update_defaults(model_deployments={"gpt-5.2": "my-gpt"})
        fields = {
            "ContractNumber": models.ContentFieldDefinition(type="string", method="generate"),
            "AgreedPaymentTerms": models.ContentFieldDefinition(type="string"),
            "PaymentTerms": models.ContentFieldDefinition(type="string", description="Payment terms"),
        }
        agentic = models.ContentAnalyzer(
            base_analyzer_id="prebuilt-document",
            models={"completion": "gpt-5.2"},
            config=models.ContentAnalyzerConfig(workflow=models.ContentAnalyzerWorkflow.AGENTIC),
            field_schema=models.ContentFieldSchema(fields=fields),
        )
        created = await (await client.begin_create_analyzer("agentic-check", agentic)).result()
        checks["workflow"] = created.config.workflow
        checks["gotWorkflow"] = (await client.get_analyzer("agentic-check")).config.workflow

        poller = await client.begin_analyze(
            "agentic-check", inputs=[models.AnalysisInput(data=pdf(PDF_PAGES))]
        )
        result = await poller.result()
        content = result.contents[0]
        checks["contents"] = len(result.contents)
        checks["fields"] = {name: field.value for name, field in content.fields.items()}
        checks["advancedTokens"] = poller.usage.advanced_contextualization_tokens

        extract = models.ContentAnalyzer(
            base_analyzer_id="prebuilt-document",
            config=models.ContentAnalyzerConfig(workflow="agentic"),
            field_schema=models.ContentFieldSchema(
                fields={"X": models.ContentFieldDefinition(type="string", method="extract")}
            ),
        )
        try:
            await client.begin_create_analyzer("agentic-extract", extract)
        except core.HttpResponseError as error:
            checks["extractRefused"] = [error.status_code, error.error.code]

        inline = await client.analyze_binary_inline("prebuilt-read", pdf(PDF_PAGES))
        checks["inlineBinary"] = [inline.status, inline.result.contents[0].markdown, dict(inline.usage)]
        url_input = [models.AnalysisInput(url=document_url)]
        try:
            await client.analyze_inline("prebuilt-layout", inputs=url_input)
        except core.HttpResponseError as error:
            checks["inlineTooLong"] = [error.status_code, error.error.innererror["code"]]
        by_url = await client.analyze_inline("prebuilt-layout", inputs=url_input, allow_input_truncation=True)
        checks["inlineUrl"] = [
            by_url.status, by_url.result.contents[0].end_page_number,
            [warning.code for warning in by_url.result.warnings], dict(by_url.usage),
        ]  # fmt: skip
        try:
            await client.analyze_inline("prebuilt-invoice", inputs=url_input)
        except core.HttpResponseError as error:
            checks["inlineRefused"] = error.status_code
        await client.delete_analyzer("agentic-check")
    problems = [problem for answer in answers for problem in answer_problems(models, *answer)]
    return {"checks": checks, "problems": problems, "answers": len(answers)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(drive(*sys.argv[1:4]))))
