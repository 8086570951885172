"""Raw HTTP helpers for the emulator's protocol tests, written from the reference alone (shared
reference content-understanding-api.md), not through the app's client."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import httpx

GA, PREVIEW = "2025-11-01", "2026-06-01-preview"
RETIRED = ("2024-12-01-preview", "2025-05-01-preview")
UUID = r"[0-9a-f-]{36}"
# What prebuilt analyzers name (concepts/models-deployments.md), mapped to made-up deployments.
ALIAS_DEPLOYMENTS = {
    "prebuilt-analyzer-completion": "my-gpt",
    "prebuilt-analyzer-completion-mini": "my-gpt-mini",
    "prebuilt-analyzer-embedding": "my-embedding",
}
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The error shape of the specs: {"error": {"code", "message", ...}} plus x-ms-error-code."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert response.headers["x-ms-error-code"] == error["code"]
    if code is not None:
        assert error["code"] == code
    return error


async def poll(http: httpx.AsyncClient, location: str) -> dict[str, Any]:
    """GET the Operation-Location verbatim until a terminal status, honouring Retry-After."""
    async with asyncio.timeout(10):
        while True:
            response = await http.get(location)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            assert body["status"] in ("NotStarted", "Running", "Succeeded", "Failed", "Canceled")
            if body["status"] in ("Succeeded", "Failed", "Canceled"):
                assert "Retry-After" not in response.headers
                return body
            assert "usage" not in body
            assert "result" not in body
            assert float(response.headers["Retry-After"]) > 0
            await asyncio.sleep(0.05)


async def create(
    http: httpx.AsyncClient, analyzer_id: str, body: dict[str, Any], version: str, **params: str
) -> dict[str, Any]:
    """PUT an analyzer and poll its creation to the end."""
    response = await http.put(
        f"/analyzers/{analyzer_id}", params={"api-version": version, **params}, json=body
    )
    assert response.status_code in (200, 201), response.text
    assert response.json()["status"] == "creating"
    location = response.headers["Operation-Location"]
    assert re.fullmatch(
        rf"http://.+/contentunderstanding/analyzers/{analyzer_id}/operations/{UUID}\?api-version={version}",
        location,
    )
    return await poll(http, location)


async def analyze(
    http: httpx.AsyncClient, analyzer_id: str, body: dict[str, Any], version: str
) -> dict[str, Any]:
    """POST :analyze and poll the operation to the end."""
    started = await http.post(f"/analyzers/{analyzer_id}:analyze", params={"api-version": version}, json=body)
    assert started.status_code == 202, started.text
    location = started.headers["Operation-Location"]
    assert re.fullmatch(
        rf"http://.+/contentunderstanding/analyzerResults/{UUID}\?api-version={version}", location
    )
    assert started.json() == {"id": location.split("/")[-1].split("?")[0], "status": "NotStarted"}
    return await poll(http, location)
