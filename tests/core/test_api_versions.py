"""The API-version registry: its lookups, its profiles, and that adding a version is one entry.

The ``future_version`` fixture registers a made-up ``2099-01-01-preview`` profile for one test, and
nothing else changes: the settings accept it, the client sends it and shapes its bodies by its
flags, the content-type limits follow its table, and the CU steps decide replace and model
deployments from it. Its flags are chosen to differ from both real versions' wherever they can.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.storage.blob.aio import BlobServiceClient

from activities import cu_steps
from content_understanding import (
    AnalyzeInput,
    ContentUnderstandingClient,
    ContentUnderstandingRequestError,
    build_analyzer_body,
)
from core import api_versions, content_types as types
from core.api_versions import (
    AGENTIC_MODE,
    API_VERSIONS,
    DEFAULT_AGENTIC_API_VERSION as PREVIEW,
    DEFAULT_API_VERSION as GA,
    MODEL_ALIASES,
    AnalysisMode,
    AnalyzeBodyShape,
    ApiVersionProfile,
    FileLimits,
    KnowledgeSourceKind,
    Lifecycle,
    RetiredApiVersionError,
    UnknownApiVersionError,
    get_profile,
)
from core.contracts.activities import BeginAnalysisRequest, BeginCreateAnalyzerRequest
from core.contracts.wire import from_wire
from core.errors import InputError, PermanentError, SettingsError
from core.settings import Settings, get_settings
from storage.grants import create_input_grant
from tests.conftest import example_settings

FUTURE = "2099-01-01-preview"
ENDPOINT = "https://cu.example.cognitiveservices.azure.com"
SAS_URL = "https://acct.blob.core.windows.net/inputs/a.pdf?sv=2024-08-04&sp=r&sig=SECRETSIG"
DEEP = "deep"

FUTURE_PROFILE = ApiVersionProfile(
    version=FUTURE,
    lifecycle=Lifecycle.PREVIEW,
    analyzer_properties=frozenset(
        {"description", "tags", "baseAnalyzerId", "config", "fieldSchema", "knowledgeSources", "futureOption"}
    ),
    property_notes={"futureOption": "the future option"},
    knowledge_sources={"examples": KnowledgeSourceKind(required=("containerUrl",))},
    allow_replace=False,
    model_deployments=True,
    analyze_body=AnalyzeBodyShape(single_input_at_top_level=False, input_properties=frozenset({"name"})),
    limits=FileLimits({types.PDF: 5_000_000, types.PNG: 1_000_000}),
    max_inputs_per_request=1,
    binary_analyze_operation=":analyzeBytes",
    default_processing_location="dataZone",
    modes=(
        AnalysisMode(
            name=DEEP,
            property_path=("config", "depth"),
            value="deep",
            standard_value="shallow",
            limits=FileLimits({types.PDF: 2_000_000}, max_request_bytes=3_000_000),
            max_inputs_per_request=3,
        ),
    ),
)


NO_DEPLOYMENTS = "2099-02-01-preview"


@pytest.fixture
def future_version(monkeypatch: pytest.MonkeyPatch) -> ApiVersionProfile:
    """The made-up version, registered for this test only: one registry entry, nothing else."""
    monkeypatch.setitem(API_VERSIONS, FUTURE, FUTURE_PROFILE)
    return FUTURE_PROFILE


@pytest.fixture
def no_deployments_version(monkeypatch: pytest.MonkeyPatch) -> ApiVersionProfile:
    """A made-up version without per-request model deployments (every live version has them)."""
    without = dataclasses.replace(FUTURE_PROFILE, version=NO_DEPLOYMENTS, model_deployments=False)
    monkeypatch.setitem(API_VERSIONS, NO_DEPLOYMENTS, without)
    return without


class Service:
    """A scripted Content Understanding service at the HTTP edge (httpx.MockTransport)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        location = {"Operation-Location": f"{ENDPOINT}{path.split(':')[0]}/operations/op-1"}
        if request.method == "PUT":
            return httpx.Response(201, json={"status": "creating"}, headers=location)
        if request.method == "POST":
            result = {"Operation-Location": f"{ENDPOINT}/contentunderstanding/analyzerResults/op-2"}
            return httpx.Response(202, json={"id": "op-2", "status": "NotStarted"}, headers=result)
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json={"analyzerId": "a", "status": "ready"})

    def client(self, **options: Any) -> ContentUnderstandingClient:
        return ContentUnderstandingClient(
            ENDPOINT, key="secret-key", transport=httpx.MockTransport(self), **options
        )

    def sent(self) -> list[tuple[str, str, dict[str, str]]]:
        """Each request as (method, path, query)."""
        return [(r.method, r.url.path, dict(r.url.params)) for r in self.requests]

    def body(self, index: int) -> Any:
        return json.loads(self.requests[index].content)


def settings_with(**overrides: str) -> Settings:
    return Settings.from_env({**example_settings(), **overrides})


# The registry ---------------------------------------------------------------------------------


def test_an_unknown_version_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(UnknownApiVersionError) as caught:
        get_profile("2024-06-01-preview")
    assert isinstance(caught.value, PermanentError)
    assert not isinstance(caught.value, RetiredApiVersionError)
    assert f"known versions: {GA}, {PREVIEW}" in str(caught.value)
    assert "'2024-06-01-preview'" in str(caught.value)


@pytest.mark.parametrize("retired", ["2024-12-01-preview", "2025-05-01-preview"])
def test_a_retired_version_is_refused_saying_what_replaced_it(retired: str) -> None:
    with pytest.raises(RetiredApiVersionError) as caught:
        get_profile(retired)
    assert caught.value.code == "RetiredApiVersion"
    assert f"{retired} is retired in Azure" in str(caught.value)
    assert GA in str(caught.value)
    if retired == "2025-05-01-preview":
        assert f'agentic mode (config.workflow "agentic") in {PREVIEW}' in str(caught.value)


def test_the_profiles_state_what_each_version_allows() -> None:
    ga, preview = get_profile(GA), get_profile(PREVIEW)
    assert (ga.lifecycle, preview.lifecycle) == (Lifecycle.GA, Lifecycle.PREVIEW)
    assert (ga.allow_replace, preview.allow_replace) == (True, True)
    assert (ga.model_deployments, preview.model_deployments) == (True, True)
    assert (ga.model_aliases, preview.model_aliases) == (MODEL_ALIASES, MODEL_ALIASES)
    assert (ga.has_mode(AGENTIC_MODE), preview.has_mode(AGENTIC_MODE)) == (False, True)
    assert not ga.inline_analysis
    assert set(preview.inline_analysis) == {"prebuilt-read", "prebuilt-layout"}
    assert (
        preview.mode_of({"config": {"workflow": "agentic.2026-06-01-preview"}}) is not None
    )  # as GET shows it
    assert set(ga.knowledge_sources) == set(preview.knowledge_sources) == {"labeledData"}
    assert ga.knowledge_sources["labeledData"].required == ("containerUrl", "fileListPath")  # prefix optional
    assert (ga.most_inputs_per_request, preview.most_inputs_per_request) == (1, 1)
    agentic = preview.mode(AGENTIC_MODE)
    # One file: 200 MB, 300 pages; documents only; generate and classify fields; no labeled data.
    assert (agentic.limits.max_request_bytes, agentic.limits.max_pages) == (200_000_000, 300)
    assert types.PDF in agentic.limits.max_bytes
    assert types.TEXT not in agentic.limits.max_bytes
    assert set(agentic.field_methods or ()) == {"generate", "classify"}
    assert not agentic.knowledge_sources
    assert preview.mode_of({"config": {"workflow": "agentic"}}) is agentic
    assert preview.mode_of({"config": {"workflow": "default"}}) is None
    assert preview.mode_of({}) is None


def test_app_code_names_no_api_version_outside_the_registry() -> None:
    """Only core/api_versions.py may spell a version; everything else asks a profile."""
    versions = tuple(API_VERSIONS)
    packages = ("core", "content_understanding", "activities", "storage", "inputs", "api", "triggers",
                "orchestrators")  # fmt: skip
    offenders = []
    for path in sorted(p for package in packages for p in Path(package).rglob("*.py")):
        if path == Path("core/api_versions.py"):
            continue
        for value in _code_strings(ast.parse(path.read_text(encoding="utf-8"))):
            if any(version in value for version in versions):
                offenders.append(f"{path}: {value!r}")
    assert not offenders


def _code_strings(tree: ast.Module) -> list[str]:
    """The module's string constants, docstrings left out (they may name versions as facts)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


# A made-up version: one entry, and everything follows -------------------------------------------


def test_settings_accept_a_registered_version_and_only_then() -> None:
    with pytest.raises(SettingsError, match="CONTENT_UNDERSTANDING_API_VERSION"):
        settings_with(CONTENT_UNDERSTANDING_API_VERSION=FUTURE)


def test_settings_accept_the_made_up_version(future_version: ApiVersionProfile) -> None:
    settings = settings_with(CONTENT_UNDERSTANDING_API_VERSION=FUTURE)
    assert settings.content_understanding.api_version == FUTURE
    # It has no agentic mode, so it cannot be the agentic version.
    with pytest.raises(SettingsError, match=f"must be one of {PREVIEW}, got '{FUTURE}'"):
        settings_with(CONTENT_UNDERSTANDING_AGENTIC_API_VERSION=FUTURE)


@pytest.mark.parametrize(
    "setting", ["CONTENT_UNDERSTANDING_API_VERSION", "CONTENT_UNDERSTANDING_AGENTIC_API_VERSION"]
)
def test_settings_refuse_a_retired_version_saying_so(setting: str) -> None:
    with pytest.raises(
        SettingsError, match=f"'{setting}' names a retired version: .*2025-05-01-preview is retired"
    ):
        settings_with(**{setting: "2025-05-01-preview"})


def test_the_retired_pro_mode_setting_is_refused_saying_what_to_do() -> None:
    with pytest.raises(SettingsError, match=r"CONTENT_UNDERSTANDING_PRO_MODE_API_VERSION.*agentic jobs"):
        settings_with(CONTENT_UNDERSTANDING_PRO_MODE_API_VERSION="2025-05-01-preview")


def test_content_type_limits_follow_the_made_up_table(future_version: ApiVersionProfile) -> None:
    types.check_supported(types.PDF, 5_000_000, FUTURE)
    types.check_supported(types.PDF, 2_000_000, FUTURE, mode=DEEP)
    refusals: list[tuple[str, int, str | None, str]] = [
        (types.PDF, 5_000_001, None, "InputTooLarge"),
        (types.PNG, 1_000_001, None, "InputTooLarge"),
        (types.DOCX, 10, None, "UnsupportedContentType"),  # every real version takes DOCX
        (types.PDF, 2_000_001, DEEP, "InputTooLarge"),
        (types.PNG, 10, DEEP, "UnsupportedContentType"),
    ]
    for content_type, size, mode, code in refusals:
        with pytest.raises(InputError) as caught:
            types.check_supported(content_type, size, FUTURE, mode=mode, name="f.bin")
        assert caught.value.code == code
    assert api_versions.get_profile(FUTURE).file_limits(DEEP).max_request_bytes == 3_000_000
    with pytest.raises(PermanentError, match=f"Agentic mode needs API version {PREVIEW}, not {FUTURE}"):
        types.check_supported(types.PDF, 10, FUTURE, mode=AGENTIC_MODE)
    with pytest.raises(PermanentError, match=f"Deep mode needs API version {FUTURE}, not {GA}"):
        types.check_supported(types.PDF, 10, GA, mode=DEEP)


async def test_the_client_speaks_the_made_up_version_by_its_flags(future_version: ApiVersionProfile) -> None:
    service = Service()
    async with service.client(api_version=FUTURE) as client:
        await client.get_analyzer("a")
        definition = {
            "baseAnalyzerId": "prebuilt-document",
            "futureOption": True,
            "config": {"depth": "deep"},
        }
        await client.begin_create_analyzer("a", definition)
        # No allowReplace in this version: refused before anything is sent.
        with pytest.raises(ContentUnderstandingRequestError, match="allowReplace"):
            await client.begin_create_analyzer("a", definition, allow_replace=True)
        inputs = [
            AnalyzeInput(url=SAS_URL, name="a.pdf", mime_type=types.PDF),
            AnalyzeInput(data=b"%PDF", name="b"),
        ]
        await client.begin_analyze("a", inputs, model_deployments={"completion": "my-model"})
        with pytest.raises(ContentUnderstandingRequestError, match="at most 3 inputs per request") as caught:
            await client.begin_analyze("a", [AnalyzeInput(url=SAS_URL)] * 4)
        assert "deep mode" not in str(caught.value)  # deep mode takes 3, not 4: no such hint
    assert service.sent() == [
        ("GET", "/contentunderstanding/analyzers/a", {"api-version": FUTURE}),
        ("PUT", "/contentunderstanding/analyzers/a", {"api-version": FUTURE}),
        ("POST", "/contentunderstanding/analyzers/a:analyze", {"api-version": FUTURE}),
    ]
    assert service.body(1) == definition
    # inputs[] even for one request's first input, names kept, mimeType dropped (not in its shape).
    assert service.body(2) == {
        "inputs": [
            {"url": SAS_URL, "name": "a.pdf"},
            {"data": base64.b64encode(b"%PDF").decode(), "name": "b"},
        ],
        "modelDeployments": {"completion": "my-model"},
    }


def test_bodies_check_the_made_up_version_s_properties_modes_and_sources(
    future_version: ApiVersionProfile,
) -> None:
    with pytest.raises(
        ContentUnderstandingRequestError, match=f"model selection exists only in {GA} or {PREVIEW}"
    ):
        build_analyzer_body({"models": {}}, FUTURE)
    with pytest.raises(ContentUnderstandingRequestError, match="the future option exists only in 2099"):
        build_analyzer_body({"futureOption": 1}, GA)
    with pytest.raises(ContentUnderstandingRequestError, match=r"config\.depth must be 'shallow' or 'deep'"):
        build_analyzer_body({"config": {"depth": "abyss"}}, FUTURE)
    # GA has config but no deep mode: choosing it there is refused, naming where it exists.
    with pytest.raises(ContentUnderstandingRequestError, match=f"deep mode, which exists only in {FUTURE}"):
        build_analyzer_body({"config": {"depth": "deep"}}, GA)
    with pytest.raises(ContentUnderstandingRequestError, match="accepts only 'examples'"):
        build_analyzer_body({"knowledgeSources": [{"kind": "labeledData", "containerUrl": SAS_URL}]}, FUTURE)
    source = {"kind": "examples", "containerUrl": SAS_URL}
    assert build_analyzer_body({"knowledgeSources": [source]}, FUTURE) == {"knowledgeSources": [source]}
    with pytest.raises(
        ContentUnderstandingRequestError, match=f"examples knowledge sources exist only in {FUTURE}"
    ):
        build_analyzer_body({"knowledgeSources": [source]}, GA)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        # No allowReplace: delete first, then create.
        (FUTURE, [("DELETE", {"api-version": FUTURE}), ("PUT", {"api-version": FUTURE})]),
        (GA, [("PUT", {"api-version": GA, "allowReplace": "true"})]),
    ],
)
async def test_create_analyzer_step_replaces_by_the_profile(
    future_version: ApiVersionProfile,
    monkeypatch: pytest.MonkeyPatch,
    version: str,
    expected: list[tuple[str, dict[str, str]]],
) -> None:
    service = Service()
    async with service.client() as client:
        monkeypatch.setattr(cu_steps, "get_content_understanding_client", lambda: client)
        answer = await cu_steps.begin_create_analyzer(
            from_wire(
                BeginCreateAnalyzerRequest,
                {
                    "analyzerId": "a",
                    "apiVersion": version,
                    "definition": {"baseAnalyzerId": "prebuilt-document"},
                    "definitionHash": "h1",
                    "replace": True,
                },
            )
        )
    assert answer.operation_location
    assert [(method, query) for method, _, query in service.sent()] == expected


@pytest.mark.integration
@pytest.mark.parametrize(
    ("version", "sends_deployments"), [(FUTURE, True), (GA, True), (PREVIEW, True), (NO_DEPLOYMENTS, False)]
)
async def test_analysis_step_sends_model_deployments_by_the_profile(
    future_version: ApiVersionProfile,
    no_deployments_version: ApiVersionProfile,
    storage: BlobServiceClient,
    job_id: str,
    monkeypatch: pytest.MonkeyPatch,
    version: str,
    sends_deployments: bool,
) -> None:
    blob_name = f"{job_id}/0-a.pdf"
    await storage.get_blob_client(get_settings().storage.inputs_container, blob_name).upload_blob(b"%PDF-1.4")
    grant = await create_input_grant(job_id, blob_name)
    service = Service()
    async with service.client() as client:
        monkeypatch.setattr(cu_steps, "get_content_understanding_client", lambda: client)
        record = await cu_steps.begin_analysis(
            from_wire(
                BeginAnalysisRequest,
                {
                    "jobId": job_id,
                    "key": "0",
                    "analyzerId": "a",
                    "apiVersion": version,
                    "inputs": [{"grant": grant["grant"], "name": "a.pdf"}],
                    "modelDeployments": {"completion": "my-model"},
                },
            )
        )
    assert record.operation_id == "op-2"
    ((method, _, query),) = service.sent()
    assert (method, query) == ("POST", {"api-version": version})
    assert ("modelDeployments" in service.body(0)) is sends_deployments
