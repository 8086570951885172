"""The emulator's protocol, checked with raw HTTP requests written from the reference alone
(shared reference content-understanding-api.md, sections 2-8), not through our client."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from emulators.content_understanding import Emulator

pytestmark = pytest.mark.integration

GA, PREVIEW = "2025-11-01", "2025-05-01-preview"
TEXT = base64.b64encode(b"Company: CONTOSO\nAmount: 12\n").decode()
SCHEMA = {"fields": {"company": {"type": "string"}, "amount": {"type": "integer"}}}
UUID = r"[0-9a-f-]{36}"


@pytest.fixture
async def http(cu_emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Ocp-Apim-Subscription-Key": cu_emulator.key}
    async with httpx.AsyncClient(
        base_url=f"{cu_emulator.endpoint}/contentunderstanding", headers=headers
    ) as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The error shape of both specs: {"error": {"code", "message", ...}} plus x-ms-error-code."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert response.headers["x-ms-error-code"] == error["code"]
    if code is not None:
        assert error["code"] == code
    return error


async def poll(http: httpx.AsyncClient, location: str) -> dict[str, Any]:
    """GET the Operation-Location verbatim until a terminal status, as the official sample does."""
    seen = []
    async with asyncio.timeout(10):
        while True:
            response = await http.get(location)
            assert response.status_code == 200
            body: dict[str, Any] = response.json()
            seen.append(body["status"])
            assert body["status"] in ("NotStarted", "Running", "Succeeded", "Failed", "Canceled")
            if body["status"] in ("Succeeded", "Failed", "Canceled"):
                assert "Retry-After" not in response.headers
                return body
            assert float(response.headers["Retry-After"]) > 0
            await asyncio.sleep(0.05)


async def create(
    http: httpx.AsyncClient, analyzer_id: str, body: dict[str, Any], version: str
) -> dict[str, Any]:
    response = await http.put(f"/analyzers/{analyzer_id}", params={"api-version": version}, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "creating"
    location = response.headers["Operation-Location"]
    assert re.fullmatch(
        rf"http://.+/contentunderstanding/analyzers/{analyzer_id}/operations/{UUID}\?api-version={version}",
        location,
    )
    return await poll(http, location)


async def test_auth_is_required(cu_emulator: Emulator) -> None:
    async with httpx.AsyncClient(base_url=f"{cu_emulator.endpoint}/contentunderstanding") as anonymous:
        assert_error(await anonymous.get("/analyzers", params={"api-version": GA}), 401)
        wrong = {"Ocp-Apim-Subscription-Key": "nope"}
        assert_error(await anonymous.get("/analyzers", params={"api-version": GA}, headers=wrong), 401)
        bearer = {"Authorization": "Bearer eyJ.fake.token"}
        assert_error(await anonymous.get("/analyzers", params={"api-version": GA}, headers=bearer), 401)


async def test_api_version_is_required_and_checked(http: httpx.AsyncClient) -> None:
    assert_error(await http.get("/analyzers"), 400)
    assert_error(await http.get("/analyzers", params={"api-version": "2024-12-01-preview"}), 400)


@pytest.mark.parametrize(
    ("version", "prebuilt"), [(GA, "prebuilt-document"), (PREVIEW, "prebuilt-documentAnalyzer")]
)
async def test_list_and_get_prebuilt_analyzers(http: httpx.AsyncClient, version: str, prebuilt: str) -> None:
    listed = (await http.get("/analyzers", params={"api-version": version})).json()
    assert prebuilt in [analyzer["analyzerId"] for analyzer in listed["value"]]
    got = (await http.get(f"/analyzers/{prebuilt}", params={"api-version": version})).json()
    assert got["status"] == "ready"
    assert_error(await http.get("/analyzers/nope", params={"api-version": version}), 404)


@pytest.mark.parametrize(
    ("version", "base", "extra"),
    [
        (GA, "prebuilt-document", {"modelDeployments": {"gpt-4.1": "my-gpt"}}),
        (PREVIEW, "prebuilt-documentAnalyzer", {}),
    ],
)
async def test_analyzer_lifecycle_and_analysis(
    http: httpx.AsyncClient, version: str, base: str, extra: dict[str, Any]
) -> None:
    v = {"api-version": version}
    created = await create(http, "receipts", {"baseAnalyzerId": base, "fieldSchema": SCHEMA}, version)
    assert created["status"] == "Succeeded"
    assert created["result"]["analyzerId"] == "receipts"
    analyzer = (await http.get("/analyzers/receipts", params=v)).json()
    assert (analyzer["status"], analyzer["baseAnalyzerId"]) == ("ready", base)
    assert {"createdAt", "lastModifiedAt"} <= analyzer.keys()

    body = {"inputs": [{"data": TEXT}], **extra} if version == GA else {"data": TEXT}
    started = await http.post("/analyzers/receipts:analyze", params=v, json=body)
    assert started.status_code == 202, started.text
    location = started.headers["Operation-Location"]
    assert re.fullmatch(
        rf"http://.+/contentunderstanding/analyzerResults/{UUID}\?api-version={version}", location
    )
    assert started.json() == {"id": location.split("/")[-1].split("?")[0], "status": "NotStarted"}

    done = await poll(http, location)
    assert done["status"] == "Succeeded"
    result = done["result"]
    assert (result["analyzerId"], result["apiVersion"]) == ("receipts", version)
    assert {"createdAt", "warnings", "contents"} <= result.keys()
    content = result["contents"][0]
    assert (content["kind"], content["mimeType"]) == ("document", "text/plain")
    company = content["fields"]["company"]
    assert company == {"type": "string", "valueString": "CONTOSO", "spans": [{"offset": 9, "length": 7}]}
    assert content["markdown"][9:16] == "CONTOSO"
    assert content["fields"]["amount"]["valueInteger"] == 12

    patched = await http.patch(
        "/analyzers/receipts", params=v, content=b'{"description": "patched"}',
        headers={"Content-Type": "application/merge-patch+json"},
    )  # fmt: skip
    assert patched.json()["description"] == "patched"
    deleted = await http.delete("/analyzers/receipts", params=v)
    assert deleted.status_code == 204
    assert_error(await http.get("/analyzers/receipts", params=v), 404)


async def test_put_of_an_existing_id(http: httpx.AsyncClient) -> None:
    await create(http, "dup", {"baseAnalyzerId": "prebuilt-documentAnalyzer"}, PREVIEW)
    again = await http.put(
        "/analyzers/dup",
        params={"api-version": PREVIEW},
        json={"baseAnalyzerId": "prebuilt-documentAnalyzer"},
    )
    assert_error(again, 409)
    ga = {"baseAnalyzerId": "prebuilt-document"}
    assert_error(await http.put("/analyzers/dup", params={"api-version": GA}, json=ga), 409)
    replaced = await http.put("/analyzers/dup", params={"api-version": GA, "allowReplace": "true"}, json=ga)
    assert replaced.status_code == 200
    assert replaced.json()["status"] == "creating"


@pytest.mark.parametrize(
    ("version", "body", "target"),
    [
        (GA, {"baseAnalyzerId": "prebuilt-document", "mode": "pro"}, "mode"),
        (GA, {"baseAnalyzerId": "prebuilt-document", "trainingData": {"kind": "blob"}}, "trainingData"),
        (
            GA,
            {
                "baseAnalyzerId": "prebuilt-document",
                "knowledgeSources": [
                    {"kind": "reference", "containerUrl": "https://a/b", "fileListPath": "s.jsonl"}
                ],
            },
            "knowledgeSources[0].kind",
        ),
        (
            PREVIEW,
            {
                "baseAnalyzerId": "prebuilt-documentAnalyzer",
                "mode": "pro",
                "knowledgeSources": [{"kind": "reference", "containerUrl": "https://a/b", "prefix": "p/"}],
            },
            "knowledgeSources[0].fileListPath",
        ),
        (
            PREVIEW,
            {"baseAnalyzerId": "prebuilt-documentAnalyzer", "models": {"completion": "gpt-4.1"}},
            "models",
        ),
        (PREVIEW, {"baseAnalyzerId": "prebuilt-documentAnalyzer", "colour": "red"}, "colour"),
        (PREVIEW, {"baseAnalyzerId": "prebuilt-document"}, "baseAnalyzerId"),
        (GA, {"baseAnalyzerId": "prebuilt-document", "config": {"tableFormat": "csv"}}, "config"),
        (
            PREVIEW,
            {
                "baseAnalyzerId": "prebuilt-documentAnalyzer",
                "mode": "pro",
                "fieldSchema": {"fields": {"x": {"type": "string", "method": "extract"}}},
            },
            "fieldSchema.fields.x.method",
        ),
        (
            GA,
            {"baseAnalyzerId": "prebuilt-document", "fieldSchema": {"fields": {"x": {"type": "colour"}}}},
            "fieldSchema.fields.x.type",
        ),
    ],
)
async def test_analyzers_the_service_rejects(
    http: httpx.AsyncClient, version: str, body: dict[str, Any], target: str
) -> None:
    response = await http.put("/analyzers/bad", params={"api-version": version}, json=body)
    assert assert_error(response, 400)["target"] == target
    assert_error(
        await http.get("/analyzers/bad", params={"api-version": version}), 404
    )  # nothing left behind


@pytest.mark.parametrize(
    ("version", "body"),
    [
        (GA, {"url": "https://host.com/doc.pdf"}),  # top-level url is preview-only
        (GA, {"inputs": []}),
        (GA, {"inputs": [{"url": "https://h/a.pdf", "data": TEXT}]}),
        (GA, {"inputs": [{"data": "***not base64***"}]}),
        (GA, {"inputs": [{"data": TEXT}, {"data": TEXT}], "modelDeployments": {"gpt-4.1": "x"}}),
        (PREVIEW, {"inputs": [{"data": TEXT}, {"data": TEXT}]}),  # inputs need a pro-mode analyzer
        (PREVIEW, {"data": TEXT, "modelDeployments": {"gpt-4.1": "x"}}),
        (PREVIEW, {"inputs": [{"data": TEXT, "mimeType": "text/plain"}]}),
    ],
)
async def test_analyze_requests_the_service_rejects(
    http: httpx.AsyncClient, version: str, body: dict[str, Any]
) -> None:
    analyzer = "prebuilt-document" if version == GA else "prebuilt-documentAnalyzer"
    assert_error(
        await http.post(f"/analyzers/{analyzer}:analyze", params={"api-version": version}, json=body), 400
    )


async def test_ga_defaults_binary_analysis_and_result_deletion(http: httpx.AsyncClient) -> None:
    v = {"api-version": GA}
    no_deployment = await http.post(
        "/analyzers/prebuilt-document:analyzeBinary", params=v, content=b"Amount: 3"
    )
    assert_error(no_deployment, 400)
    patch = await http.patch(
        "/defaults", params=v, content=b'{"modelDeployments": {"gpt-4.1": "my-gpt", "gpt-4.1-mini": null}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )  # fmt: skip
    assert patch.json() == {"modelDeployments": {"gpt-4.1": "my-gpt"}}
    assert (await http.get("/defaults", params=v)).json() == {"modelDeployments": {"gpt-4.1": "my-gpt"}}
    started = await http.post(
        "/analyzers/prebuilt-document:analyzeBinary", params=v, content=b"Amount: 3",
        headers={"Content-Type": "text/plain"},
    )  # fmt: skip
    assert started.status_code == 202
    location = started.headers["Operation-Location"]
    done = await poll(http, location)
    assert done["result"]["contents"][0]["markdown"] == "Amount: 3"
    assert (await http.delete(location)).status_code == 204
    assert_error(await http.get(location), 404)
    assert_error(await http.get("/defaults", params={"api-version": PREVIEW}), 404)


async def test_preview_raw_bytes_to_analyze(http: httpx.AsyncClient) -> None:
    started = await http.post(
        "/analyzers/prebuilt-documentAnalyzer:analyze", params={"api-version": PREVIEW}, content=b"Hello",
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert started.status_code == 202
    assert (await poll(http, started.headers["Operation-Location"]))["result"]["contents"][0][
        "markdown"
    ] == "Hello"
    binary = await http.post(
        "/analyzers/prebuilt-documentAnalyzer:analyzeBinary", params={"api-version": PREVIEW}
    )
    assert_error(binary, 404)


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
