"""Hostile input against the whole app (issue 10): every case is a 4xx problem, never the catch-all.

Each case was, before the fix, a 500 with an empty body, a route answering for something that is
not a job, or a request quietly accepted. Every case here must be answered by the handlers
themselves: the HTTP boundary's catch-all (``api.boundary``) logs every exception it turns into a
500, and no such record may appear.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from api.intake import intake_job_id
from tests.e2e.conftest import AppStack, all_blobs, sample
from tests.e2e.test_blob_intake import upload

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PDF = sample("invoice-fabrikam.pdf")
TXT = sample("invoice-contoso.txt")
PROBLEM = "application/problem+json"
DEEP = b"[" * 10_000 + b"]" * 10_000
BIG_INTEGER = b'{"inputs": [{"blob": "references/a.pdf"}], "x": ' + b"7" * 5000 + b"}"


def catch_all_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "api.boundary"]


def json_body(raw: bytes) -> dict[str, Any]:
    return {"content": raw, "headers": {"Content-Type": "application/json"}}


def request_part(raw: bytes) -> dict[str, Any]:
    return {"files": [("files", ("a.pdf", PDF)), ("request", (None, raw, "application/json"))]}


def references(*items: dict[str, str]) -> dict[str, Any]:
    return {"json": {"inputs": list(items)}}


# (case, method, path, request arguments, status, problem code or None)
HOSTILE: list[tuple[str, str, str, dict[str, Any], int, str | None]] = [
    # Unbounded JSON: RecursionError and ValueError escaped as empty 500s.
    ("10,000-deep JSON body", "POST", "/api/analyses", json_body(DEEP), 400, "InvalidJson"),
    ("10,000-deep request part", "POST", "/api/analyses", request_part(DEEP), 400, "InvalidJson"),
    ("5,000-digit integer", "POST", "/api/analyses", json_body(BIG_INTEGER), 400, "InvalidJson"),
    ("infinite number", "POST", "/api/analyses", json_body(b'{"inputs": [], "x": 1e999}'), 400,
     "InvalidJson"),
    ("NaN", "POST", "/api/analyses", json_body(b'{"inputs": [], "x": NaN}'), 400, "InvalidJson"),
    ("deep analyzer definition", "PUT", "/api/analyzers/deep", json_body(DEEP), 400, "InvalidJson"),
    ("huge number in a definition", "PUT", "/api/analyzers/big", json_body(BIG_INTEGER), 400, "InvalidJson"),
    # Analyzer ids: checked before any storage or CU call.
    ("analyzer id with a space", "GET", "/api/analyzers/bad%20id", {}, 400, "InvalidAnalyzerId"),
    ("analyzer id with a C1 control", "GET", "/api/analyzers/%C2%84", {}, 400, "InvalidAnalyzerId"),
    ("analyzer id '.'", "GET", "/api/analyzers/%2E", {}, 400, "InvalidAnalyzerId"),
    ("analyzer id '..'", "GET", "/api/analyzers/%2E%2E", {}, 400, "InvalidAnalyzerId"),
    ("register analyzer '.'", "PUT", "/api/analyzers/%2E", {"json": {}}, 400, "InvalidAnalyzerId"),
    ("register analyzer '...'", "PUT", "/api/analyzers/...", {"json": {}}, 400, "InvalidAnalyzerId"),
    ("job analyzer '..'", "POST", "/api/analyses", {"json": {"analyzerId": "..", "inputs": []}}, 400,
     "InvalidAnalyzerId"),
    # Job ids: nothing but a job's id reaches the durable client's URLs.
    ("job id with '#'", "GET", "/api/analyses/job-1%23x", {}, 404, None),
    ("job id with '?'", "GET", "/api/analyses/job-1%3Fx=1", {}, 404, None),
    ("job id with '..'", "GET", "/api/analyses/job..x/result", {}, 404, None),
    ("job id '..' encoded", "DELETE", "/api/analyses/%2E%2E", {}, 404, None),
    # Schemathesis's first findings (tests/e2e/test_openapi_fuzz.py, before the fix): 500s with an
    # empty body. (Its other two, ids ending in a line feed, never reach the app: devhost's router
    # answers them with a text/plain 404.)
    ("job id CR", "GET", "/api/analyses/%0D", {}, 404, None),
    ("job id with controls", "DELETE", "/api/analyses/%C3%86OS%C3%8A%C3%8F%02", {}, 404, None),
    ("job id C1, result", "GET", "/api/analyses/%C2%82%C3%8A%C2%A5/result", {}, 404, None),
    # Blob references that would leave their container once some layer removed the dot segments.
    ("blob ../grants", "POST", "/api/analyses", references({"blob": "references/../grants/job-1/x.json"}),
     400, "BlobNotAllowed"),
    ("blob ../../host keys", "POST", "/api/analyses",
     references({"blob": "references/_a/../../azure-webjobs-secrets/app/host.json"}), 400, "BlobNotAllowed"),
    ("blob %2e%2e", "POST", "/api/analyses", references({"blob": "references/%2e%2e/grants/x.json"}), 400,
     "BlobNotAllowed"),
    ("blob fullwidth dots", "POST", "/api/analyses",
     references({"blob": "references/\uff0e\uff0e/grants/x.json"}), 400, "BlobNotAllowed"),
    ("blob name too long", "POST", "/api/analyses", references({"blob": "references/" + "a" * 1100}), 400,
     "BlobNotAllowed"),
    # URLs carrying credentials other than a SAS signature.
    ("AWS signed URL", "POST", "/api/analyses",
     references({"url": "https://example.com/a.pdf?X-Amz-Signature=abc&X-Amz-Credential=k"}), 400,
     "UrlHasSignature"),
    ("token URL", "POST", "/api/analyses", references({"url": "https://example.com/a.pdf?token=abc"}), 400,
     "UrlHasSignature"),
    ("function key URL", "POST", "/api/analyses", references({"url": "https://example.com/a.pdf?CODE=abc"}),
     400, "UrlHasSignature"),
    ("API key URL", "POST", "/api/analyses", references({"url": "https://example.com/a?api-key=abc"}), 400,
     "UrlHasSignature"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "method", "path", "request_args", "status", "code"), HOSTILE, ids=[c[0] for c in HOSTILE]
)
async def test_hostile_input_gets_a_problem_from_its_handler_and_leaves_nothing(
    stack: AppStack,
    caplog: pytest.LogCaptureFixture,
    case: str,
    method: str,
    path: str,
    request_args: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    blobs_before = await all_blobs(stack.storage)
    instances_before = await stack.instance_ids()

    response = await stack.http.request(method, path, **request_args)

    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == status
    assert problem.get("code") == code
    assert catch_all_records(caplog) == []
    assert await all_blobs(stack.storage) == blobs_before
    assert await stack.instance_ids() == instances_before
    assert stack.emulator.stats()["analysesStarted"] == {}


async def test_internal_orchestrations_are_not_jobs(start_stack: Callable[..., Any]) -> None:
    async with start_stack(JOB_BATCH_SIZE="1") as stack:  # two batches: sub-orchestrations of the job
        await internal_orchestrations_are_not_jobs(stack)


async def internal_orchestrations_are_not_jobs(stack: AppStack) -> None:
    stack.emulator.set_faults(hang_input_names={"a.pdf", "b.pdf"})
    job_id = await stack.submit([("files", "a.pdf", PDF), ("files", "b.pdf", PDF)])
    async with asyncio.timeout(10):
        while not (monitors := [i for i in await stack.instance_ids() if i.startswith(f"{job_id}:batch-")]):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    registered = await stack.http.put("/api/analyzers/checked", json={"baseAnalyzerId": "prebuilt-document"})
    assert registered.status_code == 202, registered.text
    analyzer_check = registered.json()["ensureInstanceId"]

    answers = {
        (method, path): await stack.http.request(method, path)
        for instance in (monitors[0], analyzer_check)
        for method, path in [
            ("GET", f"/api/analyses/{instance}"),
            ("GET", f"/api/analyses/{instance}/result"),
            ("DELETE", f"/api/analyses/{instance}"),
        ]
    }

    assert {key: answer.status_code for key, answer in answers.items()} == dict.fromkeys(answers, 404)
    # The DELETE on the batch did nothing: its job is still running, and still cancelable.
    assert (await stack.http.get(f"/api/analyses/{job_id}")).json()["status"] == "running"
    assert monitors[0] in await stack.instance_ids()
    assert (await stack.http.delete(f"/api/analyses/{job_id}")).status_code == 202
    assert (await stack.wait(job_id))["status"] == "canceled"


async def test_an_idempotency_key_reused_for_another_request_is_409(stack: AppStack) -> None:
    request = {"idempotencyKey": "order-4712"}
    first = await stack.submit([("files", "a.pdf", PDF)], request)

    other_bytes = await stack.http.post(
        "/api/analyses",
        files=[
            ("files", ("a.pdf", PDF + b"%")),
            ("request", (None, json.dumps(request), "application/json")),
        ],
    )
    other_fields = await stack.http.post(
        "/api/analyses",
        files=[
            ("files", ("a.pdf", PDF)),
            ("request", (None, json.dumps({**request, "partialFailure": "fail"}), "application/json")),
        ],
    )
    same = await stack.http.post(
        "/api/analyses",
        files=[("files", ("a.pdf", PDF)), ("request", (None, json.dumps(request), "application/json"))],
    )
    await stack.wait(first)

    for refused in (other_bytes, other_fields):
        assert refused.status_code == 409, refused.text
        assert refused.headers["Content-Type"].startswith(PROBLEM)
        assert refused.json()["code"] == "IdempotencyKeyReused"
        assert refused.json()["idempotencyKey"] == "order-4712"
    assert same.status_code == 202
    assert same.json()["id"] == first
    assert same.headers["Idempotent-Replayed"] == "true"
    assert [i for i in await stack.instance_ids() if ":" not in i] == [first]
    # Nothing of the refused requests was staged.
    assert not [name for name in await stack.blob_names("staging") if name.startswith(f"{first}/")]


async def test_results_exist_only_for_jobs_that_succeeded(stack: AppStack) -> None:
    stack.emulator.set_faults(fail_input_names={"bad.pdf"}, hang_input_names={"slow.pdf"})
    failed = await stack.submit([("files", "bad.pdf", PDF)])
    partial = await stack.submit([("files", "bad.pdf", PDF), ("files", "good.txt", TXT)])
    canceled = await stack.submit([("files", "slow.pdf", PDF)])
    running = await stack.http.get(f"/api/analyses/{canceled}/result")
    await stack.http.delete(f"/api/analyses/{canceled}")
    statuses = {job: (await stack.wait(job))["status"] for job in (failed, partial, canceled)}

    answers = {job: await stack.http.get(f"/api/analyses/{job}/result") for job in statuses}

    assert statuses == {failed: "failed", partial: "partially_succeeded", canceled: "canceled"}
    assert running.status_code == 409
    assert running.json()["jobStatus"] in ("pending", "running")
    assert answers[partial].status_code == 200
    assert answers[partial].headers["Content-Type"].startswith("application/json")
    for job in (failed, canceled):
        assert answers[job].status_code == 409, answers[job].text
        assert answers[job].headers["Content-Type"].startswith(PROBLEM)
        assert answers[job].json()["jobStatus"] == statuses[job]


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [(DEEP, "nested deeper than 64 levels"), (BIG_INTEGER, "a number of 5000 characters")],
    ids=["10,000-deep", "5,000-digit integer"],
)
async def test_a_hostile_manifest_is_refused_once_and_logged(
    stack: AppStack, caplog: pytest.LogCaptureFixture, manifest: bytes, reason: str
) -> None:
    etag = await upload(stack, "hostile.job.json", manifest)
    async with asyncio.timeout(10):
        while "starts no job" not in caplog.text:  # noqa: ASYNC110 - waiting for the trigger
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # the poller's next rounds: a failed invocation would be retried by now

    refusals = [r for r in caplog.records if "hostile.job.json starts no job" in r.getMessage()]
    assert len(refusals) == 1
    assert reason in refusals[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r not in refusals]
    assert await stack.instance_ids() == []
    job_id = intake_job_id(stack.intake, "hostile.job.json", etag)
    assert (await stack.http.get(f"/api/analyses/{job_id}")).status_code == 404
