"""The CU client's retry, error and auth paths, against httpx.MockTransport (the HTTP edge)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken

from content_understanding import (
    AnalyzeInput,
    AnalyzerConflictError,
    ContentUnderstandingClient,
    ContentUnderstandingPermanentError,
    ContentUnderstandingTransientError,
    get_content_understanding_client,
    parse_retry_after,
)
from content_understanding.auth import REFRESH_MARGIN_SECONDS, BearerTokenProvider
from core.errors import PermanentError, TransientError
from core.settings import get_settings

ENDPOINT = "https://cu.example.cognitiveservices.azure.com"
RESULT_URL = f"{ENDPOINT}/contentunderstanding/analyzerResults/op-1?api-version=2025-11-01"
SAS_URL = "https://acct.blob.core.windows.net/inputs/a.pdf?sv=2024-08-04&se=2030-01-01&sp=r&sig=SECRETSIG"
Responder = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Answers requests from a script of responses, and remembers requests and sleeps."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.script = list(responses)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, **options: Any) -> ContentUnderstandingClient:
        options.setdefault("key", "secret-key")
        return ContentUnderstandingClient(
            ENDPOINT, transport=httpx.MockTransport(self), sleep=self.sleep, backoff_seconds=0.5, **options
        )


def error(status: int, code: str = "Boom", message: str = "failed", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers=headers)


def accepted(location: str = RESULT_URL) -> httpx.Response:
    return httpx.Response(
        202, json={"id": "op-1", "status": "NotStarted"}, headers={"Operation-Location": location}
    )


ONE_URL = [AnalyzeInput(url=SAS_URL)]


async def test_idempotent_calls_retry_transient_statuses_and_honour_retry_after() -> None:
    recorder = Recorder(
        error(503, **{"Retry-After": "7"}),
        error(429, **{"Retry-After": "2"}),
        httpx.Response(200, json={"analyzerId": "a", "status": "ready"}),
    )
    async with recorder.client() as client:
        analyzer = await client.get_analyzer("a")
    assert analyzer == {"analyzerId": "a", "status": "ready"}
    assert recorder.sleeps == [7.0, 2.0]
    # One logical call keeps one client request id across its attempts.
    assert len({r.headers["x-ms-client-request-id"] for r in recorder.requests}) == 1


async def test_backoff_without_retry_after_grows_and_is_bounded() -> None:
    recorder = Recorder(error(500), error(502), error(504), error(500))
    async with recorder.client(max_retries=3) as client:
        with pytest.raises(ContentUnderstandingTransientError) as caught:
            await client.get_analyzer("a")
    assert len(recorder.requests) == 4  # 1 + max_retries
    assert caught.value.status_code == 500
    # Jittered exponential backoff: attempt n waits within [b*2^n/2, b*2^n] with b = 0.5.
    for attempt, slept in enumerate(recorder.sleeps):
        assert 0.5 * 2**attempt / 2 <= slept <= 0.5 * 2**attempt


async def test_retry_after_as_http_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    recorder = Recorder(error(503, **{"Retry-After": later}), httpx.Response(200, json={"value": []}))
    async with recorder.client() as client:
        assert await client.list_analyzers() == []
    assert 27 <= recorder.sleeps[0] <= 30


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert parse_retry_after("5", now=now) == 5.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now=now) == 10.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now=now) == 0.0  # past dates: no wait
    assert parse_retry_after("soon", now=now) is None


async def test_a_wait_longer_than_the_limit_is_left_to_the_caller() -> None:
    recorder = Recorder(error(429, **{"Retry-After": "120"}))
    async with recorder.client(max_retry_wait_seconds=60) as client:
        with pytest.raises(ContentUnderstandingTransientError) as caught:
            await client.get_analyzer("a")
    assert caught.value.retry_after_seconds == 120
    assert recorder.sleeps == []


@pytest.mark.parametrize("status", [429, 503, 408])
async def test_analyze_is_retried_when_no_operation_can_exist(status: int) -> None:
    recorder = Recorder(error(status, **{"Retry-After": "1"}), accepted())
    async with recorder.client() as client:
        operation = await client.begin_analyze("a", ONE_URL)
    assert operation.operation_id == "op-1"
    assert operation.operation_location == RESULT_URL
    assert len(recorder.requests) == 2


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_analyze_is_not_retried_when_an_operation_may_exist(status: int) -> None:
    recorder = Recorder(error(status), accepted())
    async with recorder.client() as client:
        with pytest.raises(ContentUnderstandingTransientError):
            await client.begin_analyze("a", ONE_URL)
    assert len(recorder.requests) == 1


async def test_analyze_after_connect_error_is_retried_but_not_after_read_timeout() -> None:
    connect = Recorder(httpx.ConnectError("refused"), accepted())
    async with connect.client() as client:
        await client.begin_analyze("a", ONE_URL)
    assert len(connect.requests) == 2

    read = Recorder(httpx.ReadTimeout("slow"), accepted())
    async with read.client() as client:
        with pytest.raises(ContentUnderstandingTransientError, match="ReadTimeout"):
            await client.begin_analyze("a", ONE_URL)
    assert len(read.requests) == 1


async def test_idempotent_call_retries_read_timeouts() -> None:
    recorder = Recorder(
        httpx.ReadTimeout("slow"), httpx.Response(200, json={"id": "op-1", "status": "Running"})
    )
    async with recorder.client() as client:
        status = await client.get_operation(RESULT_URL)
    assert status.status == "Running"
    assert not status.is_terminal


async def test_permanent_errors_carry_the_service_details_and_are_not_retried() -> None:
    body = {"error": {"code": "InvalidRequest", "message": "bad field", "target": "fieldSchema"}}
    recorder = Recorder(httpx.Response(400, json=body, headers={"apim-request-id": "req-9"}))
    async with recorder.client() as client:
        with pytest.raises(ContentUnderstandingPermanentError) as caught:
            await client.begin_create_analyzer("a", {"baseAnalyzerId": "prebuilt-document"})
    error = caught.value
    assert isinstance(error, PermanentError)
    assert not isinstance(error, TransientError)
    assert (error.status_code, error.error_code, error.target, error.request_id) == (
        400, "InvalidRequest", "fieldSchema", "req-9",
    )  # fmt: skip
    assert "bad field" in str(error)
    assert len(recorder.requests) == 1


async def test_conflict_on_an_analyzer_is_its_own_error() -> None:
    recorder = Recorder(error(409, "Conflict", "exists"))
    async with recorder.client() as client:
        with pytest.raises(AnalyzerConflictError) as caught:
            await client.begin_create_analyzer("a", {"baseAnalyzerId": "prebuilt-document"})
    assert caught.value.status_code == 409


async def test_transient_errors_are_transient_app_errors() -> None:
    recorder = Recorder(error(503))
    async with recorder.client(max_retries=0) as client:
        with pytest.raises(TransientError):
            await client.get_analyzer("a")


async def test_sas_signatures_never_reach_messages_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    echo = f"Could not download {SAS_URL}"
    recorder = Recorder(error(503, message=echo), error(400, "InvalidRequest", echo))
    async with recorder.client() as client:
        with pytest.raises(ContentUnderstandingPermanentError) as caught:
            await client.begin_analyze("a", ONE_URL)
    assert "SECRETSIG" not in str(caught.value)
    assert "sig=REDACTED" in str(caught.value)
    assert "SECRETSIG" not in caplog.text
    assert "retry 1 of 3" in caplog.text  # the retry was logged, redacted


async def test_create_analyzer_sends_the_version_body_and_returns_the_operation_location() -> None:
    location = f"{ENDPOINT}/contentunderstanding/analyzers/a/operations/op-9?api-version=2025-11-01"
    recorder = Recorder(
        httpx.Response(201, json={"status": "creating"}, headers={"Operation-Location": location})
    )
    async with recorder.client() as client:
        got = await client.begin_create_analyzer(
            "a", {"baseAnalyzerId": "prebuilt-document", "status": "ready"}, allow_replace=True
        )
    assert got == location
    request = recorder.requests[0]
    assert request.method == "PUT"
    assert request.url.params["allowReplace"] == "true"
    assert request.url.params["api-version"] == "2025-11-01"
    assert json.loads(request.content) == {"baseAnalyzerId": "prebuilt-document"}  # read-only dropped
    assert request.headers["Ocp-Apim-Subscription-Key"] == "secret-key"


async def test_operation_location_elsewhere_is_refused() -> None:
    recorder = Recorder(accepted("https://evil.example.net/steal?x=1"))
    async with recorder.client() as client:
        with pytest.raises(ContentUnderstandingPermanentError, match="Refusing to follow"):
            await client.begin_analyze("a", ONE_URL)
        with pytest.raises(ContentUnderstandingPermanentError, match="Refusing to follow"):
            await client.get_operation("http://127.0.0.1:9/contentunderstanding/analyzerResults/x")


async def test_missing_operation_location_is_an_error() -> None:
    recorder = Recorder(httpx.Response(202, json={"id": "x", "status": "NotStarted"}))
    async with recorder.client() as client:
        with pytest.raises(ContentUnderstandingPermanentError, match="without an Operation-Location"):
            await client.begin_analyze("a", ONE_URL)


async def test_get_operation_normalises_status_and_reads_retry_after() -> None:
    recorder = Recorder(
        httpx.Response(200, json={"id": "op-1", "status": "running"}, headers={"Retry-After": "3"}),
        httpx.Response(
            200, json={"id": "op-1", "status": "Failed", "error": {"code": "InternalServerError"}}
        ),
        httpx.Response(200, json={"id": "op-1", "status": "Succeeded", "result": {"contents": []}}),
    )
    async with recorder.client() as client:
        running = await client.get_operation(RESULT_URL)
        failed = await client.get_operation(RESULT_URL)
        succeeded = await client.get_operation(RESULT_URL)
    assert (running.status, running.retry_after_seconds, running.is_terminal) == ("Running", 3.0, False)
    assert (failed.status, failed.error, failed.is_terminal) == (
        "Failed",
        {"code": "InternalServerError"},
        True,
    )
    assert (succeeded.status, succeeded.result, succeeded.raw["id"]) == (
        "Succeeded",
        {"contents": []},
        "op-1",
    )


async def test_list_follows_next_link_and_get_missing_is_none() -> None:
    next_link = f"{ENDPOINT}/contentunderstanding/analyzers?api-version=2025-11-01&skip=1"
    recorder = Recorder(
        httpx.Response(200, json={"value": [{"analyzerId": "a"}], "nextLink": next_link}),
        httpx.Response(200, json={"value": [{"analyzerId": "b"}]}),
        error(404, "NotFound"),
        httpx.Response(204),
        error(404, "NotFound"),
    )
    async with recorder.client() as client:
        assert [a["analyzerId"] for a in await client.list_analyzers()] == ["a", "b"]
        assert await client.get_analyzer("missing") is None
        await client.delete_analyzer("a")
        await client.delete_analyzer("a")  # already gone: still fine
    assert str(recorder.requests[1].url) == next_link


@pytest.mark.parametrize("analyzer_id", ["bad id/../x", ".", "..", "...", "a#b", "a?b", "\x84", "a" * 65])
async def test_invalid_analyzer_id_is_refused_before_sending(analyzer_id: str) -> None:
    # "." and ".." are dot segments: "/analyzers/." reached the service as the list of analyzers.
    recorder = Recorder()
    async with recorder.client() as client:
        with pytest.raises(PermanentError, match="Analyzer id"):
            await client.get_analyzer(analyzer_id)
        with pytest.raises(PermanentError, match="Analyzer id"):
            await client.delete_analyzer(analyzer_id)
    assert recorder.requests == []


async def test_an_analyzer_id_is_one_path_segment() -> None:
    recorder = Recorder(httpx.Response(404, json={"error": {"code": "NotFound", "message": "no"}}))
    async with recorder.client() as client:
        await client.get_analyzer("a.b_c-1")
    assert recorder.requests[0].url.path.endswith("/analyzers/a.b_c-1")


class FakeCredential:
    """An AsyncTokenCredential that hands out numbered tokens valid for ``lifetime`` seconds."""

    def __init__(self, clock: list[float], lifetime: float) -> None:
        self.clock, self.lifetime = clock, lifetime
        self.scopes: list[tuple[str, ...]] = []
        self.closed = False

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(f"token-{len(self.scopes)}", int(self.clock[0] + self.lifetime))

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> FakeCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()


async def test_bearer_token_is_cached_then_refreshed_before_expiry() -> None:
    clock = [1_000_000.0]
    credential = FakeCredential(clock, lifetime=3600)
    provider = BearerTokenProvider(credential, clock=lambda: clock[0])
    assert await provider.token() == "token-1"
    clock[0] += 3600 - REFRESH_MARGIN_SECONDS - 1  # still fresh enough
    assert await provider.token() == "token-1"
    clock[0] += 2  # now inside the refresh margin
    assert await provider.token() == "token-2"
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)] * 2


async def test_client_with_a_credential_sends_bearer_tokens_and_closes_it() -> None:
    clock = [0.0]
    credential = FakeCredential(clock, lifetime=10)  # always inside the margin: fetched per request
    recorder = Recorder(httpx.Response(200, json={"value": []}), httpx.Response(200, json={"value": []}))
    async with recorder.client(key=None, credential=credential) as client:
        await client.list_analyzers()
        await client.list_analyzers()
    assert [r.headers["Authorization"] for r in recorder.requests] == ["Bearer token-1", "Bearer token-2"]
    assert all("Ocp-Apim-Subscription-Key" not in r.headers for r in recorder.requests)
    assert credential.closed


def test_client_needs_exactly_one_way_to_authenticate() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ContentUnderstandingClient(ENDPOINT)
    with pytest.raises(ValueError, match="http"):
        ContentUnderstandingClient("ftp://x", key="k")


async def test_process_client_comes_from_settings() -> None:
    get_content_understanding_client.cache_clear()
    client = get_content_understanding_client()
    try:
        assert client is get_content_understanding_client()  # one shared client per process
        assert client.endpoint == get_settings().content_understanding.endpoint
        assert client.api_version == "2025-11-01"
        assert await client._headers("id") == {
            "x-ms-client-request-id": "id",
            "Ocp-Apim-Subscription-Key": get_settings().content_understanding.key,
        }
    finally:
        await client.aclose()
        get_content_understanding_client.cache_clear()


async def test_process_client_without_a_key_uses_entra_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTENT_UNDERSTANDING_KEY")
    get_settings.cache_clear()
    get_content_understanding_client.cache_clear()
    client = get_content_understanding_client()
    try:
        assert client._tokens is not None  # DefaultAzureCredential, asked for a token only when needed
        assert client._key is None
    finally:
        await client.aclose()
        get_content_understanding_client.cache_clear()
        get_settings.cache_clear()
