"""The HTTP API's contract: idempotency, 404/409, bad requests (4xx, nothing left behind), OpenAPI."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from samples.pdf import make_pdf
from tests.conftest import example_settings
from tests.e2e.conftest import AppStack, all_blobs, sample
from tests.support import documents
from tests.support.cu_emulator import emulator_client

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PDF = sample("invoice-fabrikam.pdf")
MAX_FILES = int(example_settings()["MAX_FILES_PER_JOB"])
PROBLEM = "application/problem+json"
EXTRACT = {"type": "string", "method": "extract"}


async def test_an_idempotency_key_starts_one_job(stack: AppStack) -> None:
    files = [("files", "a.pdf", PDF)]
    request = {"idempotencyKey": "order-4711"}
    first = await stack.submit(files, request)
    response = await stack.http.post(
        "/api/analyses",
        files=[("files", ("a.pdf", PDF)), ("request", (None, json.dumps(request), "application/json"))],
    )
    await stack.wait(first)

    assert response.status_code == 202
    assert response.json()["id"] == first
    assert response.headers["Idempotent-Replayed"] == "true"
    assert (await stack.instance_ids()).count(first) == 1
    assert stack.emulator.stats()["analysesStarted"]["prebuilt-document"] == 1
    assert not [name for name in await stack.blob_names("staging") if name.startswith(f"{first}/")]


async def test_unknown_jobs_are_404_and_unfinished_results_409(stack: AppStack) -> None:
    for method, path in [
        ("GET", "/api/analyses/job-nope"),
        ("GET", "/api/analyses/job-nope/result"),
        ("DELETE", "/api/analyses/job-nope"),
    ]:
        response = await stack.http.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.headers["Content-Type"].startswith(PROBLEM)
        assert response.json()["status"] == 404

    stack.emulator.set_faults(hang_input_names={"a.pdf"})
    job_id = await stack.submit([("files", "a.pdf", PDF)])
    response = await stack.http.get(f"/api/analyses/{job_id}/result")
    assert response.status_code == 409
    assert response.json()["jobStatus"] in ("pending", "running")
    await stack.http.delete(f"/api/analyses/{job_id}")
    assert (await stack.http.get("/api/analyzers/never-registered")).status_code == 404


def multipart(parts: list[tuple[str, str | None, bytes]]) -> list[Any]:
    return [(name, (filename, data)) for name, filename, data in parts]


def body(**fields: Any) -> dict[str, Any]:
    """A JSON request with one well-formed input, plus ``fields``."""
    return {"json": {"inputs": [{"blob": "references/a.pdf"}], **fields}}


def raw(content: bytes, content_type: str) -> dict[str, Any]:
    return {"content": content, "headers": {"Content-Type": content_type}}


def parts(*items: tuple[str, str | None, bytes]) -> dict[str, Any]:
    return {"files": multipart(list(items))}


BAD_REQUESTS: list[tuple[str, dict[str, Any], int, str]] = [
    ("no body", raw(b"", "application/json"), 400, "InvalidJson"),
    ("not JSON", raw(b"{", "application/json"), 400, "InvalidJson"),
    ("wrong media type", raw(b"x", "text/plain"), 415, "UnsupportedMediaType"),
    ("no inputs", {"json": {"inputs": []}}, 400, "NoInputs"),
    ("unknown field", body(x=1), 400, "UnknownField"),
    ("bad mode", body(mode="all"), 400, "InvalidMode"),
    ("bad analyzer id", body(analyzerId="a b"), 400, "InvalidAnalyzerId"),
    ("unknown analyzer", body(analyzerId="nope"), 400, "UnknownAnalyzer"),
    ("combined (retired)", body(mode="combined"), 400, "RetiredMode"),
    ("retired API version", body(apiVersion="2025-05-01-preview"), 400, "RetiredApiVersion"),
    ("another API version", body(apiVersion="2026-06-01-preview"), 400, "ApiVersionMismatch"),
    ("agentic without analyzer", body(mode="agentic"), 400, "UnknownAnalyzer"),
    ("agentic, a prebuilt analyzer", body(mode="agentic", analyzerId="prebuilt-document"), 400,
     "UnknownAnalyzer"),
    ("missing blob", {"json": {"inputs": [{"blob": "references/missing.pdf"}]}}, 400, "BlobNotFound"),
    ("internal container", {"json": {"inputs": [{"blob": "grants/x.json"}]}}, 400, "BlobNotAllowed"),
    ("non-https URL", {"json": {"inputs": [{"url": "ftp://example.com/a.pdf"}]}}, 400, "UrlNotHttps"),
    ("SAS URL", {"json": {"inputs": [{"url": "https://example.com/a.pdf?sig=abc"}]}}, 400, "UrlHasSignature"),
    ("empty file", parts(("files", "a.pdf", b"")), 400, "EmptyInput"),
    ("path in name", parts(("files", "../a.pdf", PDF)), 400, "InvalidName"),
    ("unsupported type", parts(("files", "a.bin", b"\x00\x01\x02\x03" * 64)), 415, "UnsupportedContentType"),
    ("too many files", parts(*[("files", f"{i}.pdf", PDF) for i in range(MAX_FILES + 1)]), 400,
     "TooManyInputs"),
    ("unknown part", parts(("file", "a.pdf", PDF)), 400, "UnknownPart"),
    ("bad request part", parts(("files", "a.pdf", PDF), ("request", None, b"[]")), 400, "InvalidJson"),
    ("references, not agentic", parts(("files", "a.pdf", PDF), ("references", "r.pdf", PDF)), 400,
     "ReferencesNeedAgentic"),
    ("combined multipart", parts(("files", "a.pdf", PDF), ("request", None, b'{"mode": "combined"}')), 400,
     "RetiredMode"),
    ("agentic, an Office file",
     parts(("files", "a.docx", documents.docx()), ("request", None, b'{"mode": "agentic"}')), 415,
     "UnsupportedContentType"),
    ("agentic, over 300 pages", parts(("files", "a.pdf", make_pdf([["p"]] * 300)),
     ("request", None, b'{"mode": "agentic"}')), 413, "PackageTooLarge"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "request_args", "status", "code"), BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS]
)
async def test_a_bad_request_gets_a_problem_and_leaves_nothing(
    stack: AppStack, case: str, request_args: dict[str, Any], status: int, code: str
) -> None:
    blobs_before = await all_blobs(stack.storage)
    instances_before = await stack.instance_ids()

    response = await stack.http.post("/api/analyses", **request_args)

    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    problem = response.json()
    assert (problem["status"], problem["code"]) == (status, code)
    assert problem["title"]
    assert problem["detail"]
    assert await all_blobs(stack.storage) == blobs_before
    assert await stack.instance_ids() == instances_before


async def test_file_size_limits_are_413(start_stack: Any) -> None:
    async with start_stack(MAX_FILE_BYTES="1000", MAX_JOB_BYTES="1500") as stack:
        blobs_before = await all_blobs(stack.storage)
        too_big = await stack.http.post(
            "/api/analyses", files=multipart([("files", "a.pdf", PDF + b" " * 1000)])
        )
        job_too_big = await stack.http.post(
            "/api/analyses", files=multipart([("files", f"{i}.txt", b"x" * 600) for i in range(3)])
        )
        assert (too_big.status_code, too_big.json()["code"]) == (413, "InputTooLarge")
        assert (job_too_big.status_code, job_too_big.json()["code"]) == (413, "JobTooLarge")
        assert await all_blobs(stack.storage) == blobs_before
        assert await stack.instance_ids() == []


async def test_analyzer_registration_validates_the_definition(stack: AppStack) -> None:
    bad = [
        ("prebuilt-x", {"fieldSchema": {"fields": {}}}, "ReservedAnalyzerId"),
        ("x", [1, 2], "InvalidDefinition"),
        (
            "x",
            {"knowledgeSources": [{"kind": "reference", "containerUrl": "https://a/b?sig=s"}]},
            "InvalidDefinition",
        ),
        ("bad id!", {"fieldSchema": {"fields": {}}}, "InvalidAnalyzerId"),
        # Pro mode: its version is retired, and the message says what replaced it.
        ("pro", {"baseAnalyzerId": "prebuilt-documentAnalyzer", "mode": "pro"}, "InvalidDefinition"),
        # Agentic: generate and classify fields only, documents only.
        (
            "agentic",
            {"config": {"workflow": "agentic"}, "fieldSchema": {"fields": {"A": EXTRACT}}},
            "InvalidDefinition",
        ),
    ]
    blobs_before = await all_blobs(stack.storage)
    for analyzer_id, definition, code in bad:
        response = await stack.http.put(f"/api/analyzers/{analyzer_id}", json=definition)
        assert response.status_code == 400, (analyzer_id, response.text)
        assert response.json()["code"] == code
    assert await all_blobs(stack.storage) == blobs_before
    pro = await stack.http.put("/api/analyzers/pro", json={"mode": "pro"})
    assert "2025-05-01-preview, which Azure retired" in pro.json()["detail"]
    assert "agentic" in pro.json()["detail"]


async def test_put_of_an_unchanged_definition_re_creates_an_analyzer_the_service_lost(
    stack: AppStack,
) -> None:
    """The CU emulator forgot it (restarted without a state directory) or someone deleted it."""
    await stack.register("invoice-fields")
    ready = await _wait_for_service(stack, "invoice-fields", present=True)
    assert ready["service"]["status"] == "ready"
    async with emulator_client(stack.emulator) as cu:
        await cu.delete_analyzer("invoice-fields")
    gone = (await stack.http.get("/api/analyzers/invoice-fields")).json()
    assert (gone["registered"], gone["service"]) == (True, None)

    await stack.register("invoice-fields")  # the same definition again

    again = await _wait_for_service(stack, "invoice-fields", present=True)
    assert again["service"]["status"] == "ready"
    # A PUT while the analyzer is there and ready starts nothing new.
    instances = await stack.instance_ids()
    await stack.register("invoice-fields")
    assert await stack.instance_ids() == instances


async def _wait_for_service(stack: AppStack, analyzer_id: str, *, present: bool) -> dict[str, Any]:
    async with asyncio.timeout(20):
        while True:
            state: dict[str, Any] = (await stack.http.get(f"/api/analyzers/{analyzer_id}")).json()
            service = state.get("service")
            if (service is not None and service.get("status") == "ready") == present:
                return state
            await asyncio.sleep(0.05)


async def test_openapi_document_describes_every_route(stack: AppStack) -> None:
    document = (await stack.http.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    routes = {
        "/analyses",
        "/analyses/{id}",
        "/analyses/{id}/result",
        "/analyses/{id}/results/{index}",
        "/analyses/{id}/fields",
        "/analyzers/{analyzerId}",
    }
    assert set(document["paths"]) == routes | {"/health", "/openapi.json"}
    status_schema = document["paths"]["/analyses/{id}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    assert status_schema["required"] == [
        "id",
        "status",
        "stage",
        "progress",
        "error",
        "summary",
        "createdAt",
        "updatedAt",
    ]
