"""The app's own CU client (httpx, ``content_understanding/``) and the official SDK make the same
calls the same way: both go through a loopback recording proxy in front of the emulator, and for
each operation the requests must agree on method, path, query, the headers that matter and body.

"The same" is read semantically: a query parameter the service defaults (``stringEncoding=codePoint``,
``allowReplace=false``) counts as sent with its default; JSON bodies compare as JSON; of the
headers, the media type of ``Content-Type``, the key header and its value, and the presence of
``x-ms-client-request-id`` matter (``User-Agent``, ``Accept`` and the request id's value do not).
The SDK is azure-ai-contentunderstanding 1.1.0 (async), overriding its api-version for the preview
(that case runs once the app's registry, core/api_versions.py, has 2026-06-01-preview).

Seen literally (and equal once read this way): the SDK always sends ``stringEncoding=codePoint``
on ``:analyze`` and ``Accept: application/json``; the app sends neither (the service's default
encoding is codePoint, and its answers are JSON either way).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from azure.ai.contentunderstanding import models
from azure.ai.contentunderstanding.aio import ContentUnderstandingClient as SdkClient
from azure.core.credentials import AzureKeyCredential

from content_understanding import AnalyzeInput, ContentUnderstandingClient
from core.api_versions import API_VERSIONS
from emulators.content_understanding import Emulator, running_emulator
from samples.pdf import make_pdf

pytestmark = pytest.mark.integration

GA, PREVIEW = "2025-11-01", "2026-06-01-preview"
DEPLOYMENTS = {"prebuilt-analyzer-completion": "my-gpt", "prebuilt-analyzer-embedding": "my-embedding"}
QUERY_DEFAULTS = {"stringEncoding": "codePoint", "allowReplace": "false"}
DEFINITION: dict[str, Any] = {
    "description": "Invoice fields",
    "baseAnalyzerId": "prebuilt-document",
    "config": {"returnDetails": True, "estimateFieldSourceAndConfidence": True},
    "fieldSchema": {"fields": {"Total": {"type": "number", "method": "extract", "description": "Total"}}},
    "models": {"completion": "gpt-4.1"},
    "tags": {"team": "finance"},
}
PDF = make_pdf([["Total: 12"]])


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    def normalised(self) -> dict[str, Any]:
        """What must agree between two clients making the same call."""
        content_type = self.headers.get("content-type", "").split(";")[0].strip() or None
        return {
            "method": self.method,
            "path": self.path,
            "query": {
                **{k: v for k, v in QUERY_DEFAULTS.items() if _applies(k, self.method, self.path)},
                **self.query,
            },
            "content-type": content_type if self.body is not None else None,
            "key": self.headers.get("ocp-apim-subscription-key"),
            "client-request-id": "x-ms-client-request-id" in self.headers,
            "body": self.body,
        }


def _applies(parameter: str, method: str, path: str) -> bool:
    """Whether the service reads ``parameter`` (and so its default) on this request."""
    if parameter == "stringEncoding":
        return method == "POST" and ":analyze" in path
    return method == "PUT" and path.startswith("/contentunderstanding/analyzers/")


_FRAMING = frozenset({"content-length", "transfer-encoding", "content-encoding"})  # set anew on the way back


class RecordingProxy:
    """Forwards to the emulator, keeping every request; ``calls()`` gives those since ``mark()``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests: list[Recorded] = []
        self.endpoint = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.endpoint = f"http://{host}:{port}"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body: Any = None
        if raw:
            body = json.loads(raw) if request.content_type.endswith("json") else raw
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(Recorded(request.method, request.path, dict(request.query), headers, body))
        forwarded = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        forwarded["Host"] = request.host  # so that Operation-Location points back at the proxy
        async with aiohttp.ClientSession() as session, session.request(
            request.method, f"{self.target}{request.path_qs}", data=raw, headers=forwarded
        ) as answer:  # fmt: skip
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _FRAMING}
            return web.Response(status=answer.status, body=await answer.read(), headers=kept)


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[RecordingProxy, Emulator]]:
    async with running_emulator(key="compare-key", analysis_seconds=0.05, retry_after=0.05) as emulator:
        recording = RecordingProxy(emulator.endpoint)
        await recording.start()
        yield recording, emulator
        await recording.stop()


async def until_ready(emulator: Emulator, analyzer_id: str) -> None:
    """Wait for a creation, asking the emulator directly (not through the proxy)."""
    url = f"{emulator.endpoint}/contentunderstanding/analyzers/{analyzer_id}?api-version={GA}"
    async with aiohttp.ClientSession(headers={"Ocp-Apim-Subscription-Key": emulator.key}) as session:
        for _ in range(100):
            async with session.get(url) as answer:
                if (await answer.json())["status"] == "ready":
                    return
            await asyncio.sleep(0.02)
    raise AssertionError(f"{analyzer_id} never became ready")


async def first_request(recording: RecordingProxy, call: Callable[[], Awaitable[Any]]) -> Recorded:
    """The first request ``call`` makes (an LRO's polls and retries come after it)."""
    start = len(recording.requests)
    await call()
    assert len(recording.requests) > start, "the call sent nothing"
    return recording.requests[start]


def app_client(recording: RecordingProxy, version: str) -> ContentUnderstandingClient:
    return ContentUnderstandingClient(
        recording.endpoint, api_version=version, key="compare-key", backoff_seconds=0.01
    )


def sdk_client(recording: RecordingProxy, version: str) -> SdkClient:
    return SdkClient(
        recording.endpoint, AzureKeyCredential("compare-key"), api_version=version, polling_interval=0.05
    )


@pytest.mark.parametrize("version", [GA, PREVIEW])
async def test_the_app_client_sends_what_the_sdk_sends(
    proxy: tuple[RecordingProxy, Emulator], version: str
) -> None:
    if version not in API_VERSIONS:
        pytest.skip(f"the app does not speak {version} yet")
    recording, emulator = proxy
    emulator.set_faults()  # none
    url = f"{emulator.endpoint}/documents/invoice.pdf"  # any loopback URL, not through the proxy
    async with app_client(recording, version) as app, sdk_client(recording, version) as sdk:
        await sdk.update_defaults(model_deployments=DEPLOYMENTS)
        pairs: dict[str, tuple[Recorded, Recorded]] = {}

        async def app_create() -> None:
            await app.begin_create_analyzer("compared", DEFINITION, allow_replace=True)
            await until_ready(emulator, "compared")

        async def sdk_create() -> None:
            await sdk.begin_create_analyzer(
                "compared", models.ContentAnalyzer(DEFINITION), allow_replace=True
            )
            await until_ready(emulator, "compared")

        pairs["create or replace"] = (
            await first_request(recording, app_create),
            await first_request(recording, sdk_create),
        )
        pairs["get"] = (
            await first_request(recording, lambda: app.get_analyzer("compared")),
            await first_request(recording, lambda: sdk.get_analyzer("compared")),
        )

        async def sdk_list() -> None:
            _ = [analyzer async for analyzer in sdk.list_analyzers()]

        pairs["list"] = (
            await first_request(recording, lambda: app.list_analyzers()),
            await first_request(recording, sdk_list),
        )
        app_started: list[Any] = []

        async def app_analyze(source: AnalyzeInput) -> None:
            app_started.append(
                await app.begin_analyze("compared", [source], model_deployments={"gpt-4.1": "my-gpt"})
            )

        async def sdk_analyze(source: models.AnalysisInput) -> None:
            await sdk.begin_analyze("compared", inputs=[source], model_deployments={"gpt-4.1": "my-gpt"})

        pairs["analyze by URL"] = (
            await first_request(recording, lambda: app_analyze(AnalyzeInput(url=url))),
            await first_request(recording, lambda: sdk_analyze(models.AnalysisInput(url=url))),
        )
        pairs["analyze bytes"] = (
            await first_request(recording, lambda: app_analyze(AnalyzeInput(data=PDF))),
            await first_request(recording, lambda: sdk_analyze(models.AnalysisInput(data=PDF))),
        )
        sdk_poller = await sdk.begin_analyze(
            "compared", inputs=[models.AnalysisInput(data=PDF)], model_deployments={"gpt-4.1": "my-gpt"}
        )
        start = len(recording.requests)
        await sdk_poller.result()
        sdk_poll = recording.requests[start]
        pairs["poll the result"] = (
            await first_request(recording, lambda: app.get_operation(app_started[-1].operation_location)),
            sdk_poll,
        )
        app_delete = await first_request(recording, lambda: app.delete_analyzer("compared"))
        await sdk_create()  # again, for the SDK to delete
        pairs["delete"] = (
            app_delete,
            await first_request(recording, lambda: sdk.delete_analyzer("compared")),
        )
    differences = {}
    for operation, (ours, theirs) in pairs.items():
        mine, sdk_request = ours.normalised(), theirs.normalised()
        if operation == "poll the result":  # different operations: compare all but the id
            mine["path"], sdk_request["path"] = (
                mine["path"].rsplit("/", 1)[0],
                sdk_request["path"].rsplit("/", 1)[0],
            )
        if mine != sdk_request:
            differences[operation] = {
                key: (mine[key], sdk_request[key]) for key in mine if mine[key] != sdk_request[key]
            }
    assert differences == {}
