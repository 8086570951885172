"""The emulator's protocol, checked with raw HTTP requests written from the reference alone
(shared reference content-understanding-api.md, sections 2-8 and 15), not through our client."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from emulators.content_understanding import Emulator
from tests.emulators.cu_http import (
    ALIAS_DEPLOYMENTS,
    GA,
    MERGE_PATCH,
    PREVIEW,
    RETIRED,
    analyze,
    assert_error,
    b64,
    create,
    poll,
)

pytestmark = pytest.mark.integration

TEXT = b64(b"Company: CONTOSO\nAmount: 12\n")
SCHEMA = {"fields": {"company": {"type": "string"}, "amount": {"type": "integer"}}}
BOTH = pytest.mark.parametrize("version", [GA, PREVIEW])


async def test_auth_is_required(cu_emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=f"{cu_emulator.endpoint}/contentunderstanding") as anonymous:
        assert_error(await anonymous.get("/analyzers", params={"api-version": GA}), 401)
        wrong = {"Ocp-Apim-Subscription-Key": "nope"}
        assert_error(await anonymous.get("/analyzers", params={"api-version": GA}, headers=wrong), 401)
        bearer = {"Authorization": "Bearer eyJ.fake.token"}
        assert_error(await anonymous.get("/analyzers", params={"api-version": GA}, headers=bearer), 401)


async def test_api_version_is_required_and_must_be_live(http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/analyzers"), 400, "MissingApiVersionParameter")
    assert_error(
        await http.get("/analyzers", params={"api-version": "2030-01-01"}), 400, "UnsupportedApiVersion"
    )
    for retired in RETIRED:
        for call in (
            http.get("/analyzers", params={"api-version": retired}),
            http.post(
                "/analyzers/prebuilt-documentAnalyzer:analyze", params={"api-version": retired}, json={}
            ),
        ):
            error = assert_error(await call, 400, "UnsupportedApiVersion")
            assert f"'{retired}' has been retired" in error["message"]
            assert error["target"] == "api-version"


@BOTH
async def test_prebuilt_analyzers_name_model_aliases(http: httpx.AsyncClient, version: str) -> None:
    listed = (await http.get("/analyzers", params={"api-version": version})).json()
    names = [analyzer["analyzerId"] for analyzer in listed["value"]]
    listed_all = list(names)
    while "nextLink" in listed:
        listed = (await http.get(listed["nextLink"])).json()
        listed_all += [analyzer["analyzerId"] for analyzer in listed["value"]]
    expected = {"prebuilt-read", "prebuilt-layout", "prebuilt-document", "prebuilt-invoice",
                "prebuilt-documentSearch", "prebuilt-image", "prebuilt-audio", "prebuilt-video"}  # fmt: skip
    assert expected <= set(listed_all)
    invoice = (await http.get("/analyzers/prebuilt-invoice", params={"api-version": version})).json()
    assert invoice["status"] == "ready"
    assert invoice["models"] == {
        "completion": "prebuilt-analyzer-completion",
        "embedding": "prebuilt-analyzer-embedding",
    }
    assert "gpt-4.1" in invoice["supportedModels"]["completion"]
    assert "text-embedding-3-large" in invoice["supportedModels"]["embedding"]
    search = (await http.get("/analyzers/prebuilt-documentSearch", params={"api-version": version})).json()
    assert search["models"]["completion"] == "prebuilt-analyzer-completion-mini"
    read = (await http.get("/analyzers/prebuilt-read", params={"api-version": version})).json()
    assert "models" not in read
    assert_error(await http.get("/analyzers/nope", params={"api-version": version}), 404)


@BOTH
async def test_analyzer_lifecycle_and_analysis(http: httpx.AsyncClient, version: str) -> None:
    v = {"api-version": version}
    created = await create(
        http, "receipts", {"baseAnalyzerId": "prebuilt-document", "fieldSchema": SCHEMA}, version
    )
    assert created["status"] == "Succeeded"
    assert created["result"]["analyzerId"] == "receipts"
    analyzer = (await http.get("/analyzers/receipts", params=v)).json()
    assert (analyzer["status"], analyzer["baseAnalyzerId"]) == ("ready", "prebuilt-document")
    assert {"createdAt", "lastModifiedAt"} <= analyzer.keys()
    if version == PREVIEW:  # the creation-time selector is stored resolved (concepts/agentic-mode.md)
        assert analyzer["config"] == {"workflow": "standard.2026-06-01-preview"}

    done = await analyze(
        http, "receipts", {"inputs": [{"data": TEXT}], "modelDeployments": ALIAS_DEPLOYMENTS}, version
    )
    assert done["status"] == "Succeeded"
    result = done["result"]
    assert (result["analyzerId"], result["apiVersion"]) == ("receipts", version)
    assert {"createdAt", "warnings", "contents"} <= result.keys()
    content = result["contents"][0]
    assert (content["kind"], content["mimeType"], content["analyzerId"]) == (
        "document",
        "text/plain",
        "receipts",
    )
    company = content["fields"]["company"]
    assert company == {"type": "string", "valueString": "CONTOSO", "spans": [{"offset": 9, "length": 7}]}
    assert content["markdown"][9:16] == "CONTOSO"
    assert content["fields"]["amount"]["valueInteger"] == 12
    usage = done["usage"]
    assert usage["documentPagesMinimal"] == 1  # plain text: nothing to recognise
    assert usage["contextualizationTokens"] == 1000
    assert set(usage["tokens"]) == {
        "prebuilt-analyzer-completion-input",
        "prebuilt-analyzer-completion-output",
    }

    patched = await http.patch(
        "/analyzers/receipts", params=v, content=b'{"description": "patched"}', headers=MERGE_PATCH
    )
    assert patched.json()["description"] == "patched"
    fields = await http.patch(
        "/analyzers/receipts", params=v, json={"fieldSchema": SCHEMA}, headers=MERGE_PATCH
    )
    assert assert_error(fields, 400)["target"] == "fieldSchema"
    deleted = await http.delete("/analyzers/receipts", params=v)
    assert deleted.status_code == 204
    assert_error(await http.get("/analyzers/receipts", params=v), 404)
    assert_error(await http.delete("/analyzers/receipts", params=v), 404)


@BOTH
async def test_put_of_an_existing_id_conflicts_unless_replaced(http: httpx.AsyncClient, version: str) -> None:
    body = {"baseAnalyzerId": "prebuilt-document"}
    await create(http, "dup", body, version)
    again = await http.put("/analyzers/dup", params={"api-version": version}, json=body)
    assert_error(again, 409)
    replaced = await http.put(
        "/analyzers/dup", params={"api-version": version, "allowReplace": "true"}, json=body
    )
    assert replaced.status_code == 200
    assert replaced.json()["status"] == "creating"
    while_creating = await http.put(
        "/analyzers/dup", params={"api-version": version, "allowReplace": "true"}, json=body
    )
    assert_error(while_creating, 409)


DOC = {"baseAnalyzerId": "prebuilt-document"}


def _schema(**field: Any) -> dict[str, Any]:
    return {"fieldSchema": {"fields": {"x": {"type": "string", **field}}}}


@pytest.mark.parametrize(
    ("version", "body", "target"),
    [
        (GA, {**DOC, "mode": "pro"}, "mode"),  # pro mode went with 2025-05-01-preview
        (GA, {**DOC, "trainingData": {"kind": "blob"}}, "trainingData"),
        (GA, {**DOC, "colour": "red"}, "colour"),
        (GA, {"baseAnalyzerId": "prebuilt-documentAnalyzer"}, "baseAnalyzerId"),  # the retired name
        (GA, {"baseAnalyzerId": "prebuilt-invoice"}, "baseAnalyzerId"),  # not a base analyzer
        (
            GA,
            {
                **DOC,
                "knowledgeSources": [
                    {"kind": "reference", "containerUrl": "https://a/b", "fileListPath": "s"}
                ],
            },
            "knowledgeSources[0].kind",
        ),
        (
            GA,
            {**DOC, "knowledgeSources": [{"kind": "labeledData", "containerUrl": "https://a/b"}]},
            "knowledgeSources[0].fileListPath",
        ),
        (GA, {**DOC, "models": {"completion": "my-deployment"}}, "models.completion"),
        (GA, {**DOC, "config": {"tableFormat": "csv"}}, "config.tableFormat"),
        (GA, {**DOC, "config": {"workflow": "agentic"}}, "config.workflow"),  # 2026-06-01-preview only
        (GA, {**DOC, "config": {"enableFace": True}}, "config.enableFace"),  # a 2025-05-01-preview key
        (GA, {**DOC, "fieldSchema": {"fields": {"x": {"type": "colour"}}}}, "fieldSchema.fields.x.type"),
        (GA, {**DOC, **_schema(method="extract")}, "fieldSchema.fields.x.estimateSourceAndConfidence"),
        (GA, {**DOC, **_schema(method="classify")}, "fieldSchema.fields.x.enum"),
        (PREVIEW, {**DOC, "config": {"workflow": "clever"}}, "config.workflow"),
        (
            PREVIEW,
            {
                **DOC,
                "config": {"workflow": "agentic"},
                **_schema(method="extract", estimateSourceAndConfidence=True),
            },
            "fieldSchema.fields.x.method",
        ),
        (PREVIEW, {"baseAnalyzerId": "prebuilt-image", "config": {"workflow": "agentic"}}, "baseAnalyzerId"),
        (
            PREVIEW,
            {
                **DOC,
                "config": {"workflow": "agentic"},
                "knowledgeSources": [
                    {"kind": "labeledData", "containerUrl": "https://a/b", "fileListPath": "f"}
                ],
            },
            "knowledgeSources",
        ),
    ],
)
async def test_analyzers_the_service_rejects(
    http: httpx.AsyncClient, version: str, body: dict[str, Any], target: str
) -> None:
    response = await http.put("/analyzers/bad", params={"api-version": version}, json=body)
    assert assert_error(response, 400, "InvalidRequest")["target"] == target
    assert_error(
        await http.get("/analyzers/bad", params={"api-version": version}), 404
    )  # nothing left behind


@pytest.mark.parametrize(
    ("version", "body"),
    [
        (GA, {}),  # baseAnalyzerId is optional
        (
            GA,
            {
                **DOC,
                "knowledgeSources": [
                    {"kind": "labeledData", "containerUrl": "https://a/b", "fileListPath": "f"}
                ],
            },
        ),
        (
            GA,
            {
                **DOC,
                "config": {"enableBarcode": False, "enableAnnotations": True, "annotationFormat": "markdown"},
            },
        ),
        (GA, {**DOC, "models": {"completion": "gpt-5.2", "embedding": "prebuilt-analyzer-embedding"}}),
        (GA, {**DOC, **_schema(method="extract"), "config": {"estimateFieldSourceAndConfidence": True}}),
        (GA, {**DOC, **_schema(method="extract", estimateSourceAndConfidence=True)}),
        (PREVIEW, {**DOC, "config": {"workflow": "agentic.2026-06-01-preview"}}),  # a GET result sent back
    ],
)
async def test_optional_and_documented_properties_are_accepted(
    http: httpx.AsyncClient, version: str, body: dict[str, Any]
) -> None:
    assert (await create(http, "fine", body, version))["status"] == "Succeeded"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://host.com/doc.pdf"},  # top-level url was 2025-05-01-preview's
        {"inputs": []},
        {"inputs": [{"url": "https://h/a.pdf", "data": TEXT}]},
        {"inputs": [{"data": "***not base64***"}]},
        {"inputs": [{"data": TEXT}, {"data": TEXT}]},  # one input per request
        {"inputs": [{"data": TEXT, "colour": "red"}]},
    ],
)
@BOTH
async def test_analyze_requests_the_service_rejects(
    http: httpx.AsyncClient, version: str, body: dict[str, Any]
) -> None:
    body = {**body, "modelDeployments": ALIAS_DEPLOYMENTS}
    response = await http.post(
        "/analyzers/prebuilt-document:analyze", params={"api-version": version}, json=body
    )
    assert_error(response, 400, "InvalidRequest")


@BOTH
async def test_defaults_binary_analysis_and_result_deletion(http: httpx.AsyncClient, version: str) -> None:
    v = {"api-version": version}
    no_deployment = await http.post(
        "/analyzers/prebuilt-invoice:analyzeBinary", params=v, content=b"Amount: 3"
    )
    assert (
        assert_error(no_deployment, 400, "InvalidRequest")["innererror"]["code"] == "ModelDeploymentNotFound"
    )
    patch = {"modelDeployments": {**ALIAS_DEPLOYMENTS, "gpt-4.1-mini": None}}
    assert (await http.patch("/defaults", params=v, json=patch, headers=MERGE_PATCH)).json() == {
        "modelDeployments": ALIAS_DEPLOYMENTS
    }
    assert (await http.get("/defaults", params=v)).json() == {"modelDeployments": ALIAS_DEPLOYMENTS}
    started = await http.post(
        "/analyzers/prebuilt-invoice:analyzeBinary", params=v, content=b"Invoice total: 3",
        headers={"Content-Type": "text/plain"},
    )  # fmt: skip
    assert started.status_code == 202
    location = started.headers["Operation-Location"]
    done = await poll(http, location)
    content = done["result"]["contents"][0]
    assert content["markdown"] == "Invoice total: 3"
    total = content["fields"]["InvoiceTotal"]  # prebuilt-invoice estimates source and confidence
    assert (total["valueNumber"], total["confidence"]) == (3, 0.9)  # found by its name's words
    assert total["source"].startswith("D(1,")
    assert (await http.delete(location)).status_code == 204
    assert_error(await http.get(location), 404)


async def test_a_failed_operation_has_a_generic_error_with_the_detail_inside(
    http: httpx.AsyncClient, cu_emulator: Emulator
) -> None:
    """Azure answers "Invalid Request." outside, the cause in innererror (Azure/azure-sdk-for-net#56192)."""
    url = f"{cu_emulator.endpoint}/nothing-here/invoice.pdf?sig=secret"
    done = await analyze(http, "prebuilt-read", {"inputs": [{"url": url}]}, GA)
    assert done["status"] == "Failed"
    assert "result" not in done
    assert "usage" not in done
    error = done["error"]
    assert (error["code"], error["message"]) == ("InvalidRequest", "Invalid Request.")
    assert error["innererror"]["code"] == "ContentSourceNotAccessible"
    assert "invoice.pdf" in error["innererror"]["message"]
    assert "secret" not in error["innererror"]["message"]


async def test_fields_report_confidence_and_source_when_asked(http: httpx.AsyncClient) -> None:
    from samples.pdf import make_pdf

    schema = {
        "fields": {
            "invoiceNumber": {"type": "string", "estimateSourceAndConfidence": False},
            "total": {"type": "number", "description": "Amount due"},
            "items": {"type": "array", "items": {"type": "string"}},
        }
    }
    body = {**DOC, "config": {"estimateFieldSourceAndConfidence": True}, "fieldSchema": schema}
    await create(http, "grounded", body, GA)
    pdf = make_pdf([["Invoice number: 7"], ["Header", "Amount due: 9.99", "Items: a; b"]])
    request = {"inputs": [{"data": b64(pdf)}], "modelDeployments": ALIAS_DEPLOYMENTS}
    fields = (await analyze(http, "grounded", request, GA))["result"]["contents"][0]["fields"]
    assert "confidence" not in fields["invoiceNumber"]  # the field's own setting wins
    assert fields["total"]["confidence"] == 0.8  # found by its description
    assert fields["total"]["source"].startswith("D(2,")
    assert len(fields["total"]["source"].split(",")) == 9
    assert [item["source"].split(",")[0] for item in fields["items"]["valueArray"]] == ["D(2", "D(2"]


async def test_test_hooks(http: httpx.AsyncClient, cu_emulator: Emulator) -> None:
    faults = await http.post("/../_emulator/faults", json={"rate429": 1.0, "retryAfter": 2})
    assert faults.json()["rate429"] == 1.0
    throttled = await http.get("/analyzers", params={"api-version": GA})
    assert_error(throttled, 429)
    assert throttled.headers["Retry-After"] == "2"
    stats = (await http.get("/../_emulator/stats")).json()
    assert stats["faultsServed"] == {"429": 1, "total": 1}
    assert_error(await http.post("/../_emulator/faults", json={"rate429": 7}), 400)
    assert (await http.post("/../_emulator/reset")).status_code == 204
    assert (await http.get("/analyzers", params={"api-version": GA})).status_code == 200
    assert cu_emulator.stats()["faultsServed"] == {"total": 0}


async def test_latency_is_added_to_api_calls(http: httpx.AsyncClient, cu_emulator: Emulator) -> None:
    cu_emulator.set_faults(latency_ms=200)
    started = time.monotonic()
    assert (await http.get("/analyzers", params={"api-version": GA})).status_code == 200
    assert time.monotonic() - started >= 0.2
