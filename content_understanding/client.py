"""An async REST client for Azure AI Content Understanding: single-step calls only.

Waiting belongs to the orchestrator's durable timers, so nothing here polls: ``begin_*`` start
a long-running operation and return where to look, ``get_operation`` looks once.

Retries. Each call is retried up to ``max_retries`` times on connection errors, timeouts, 408,
429 and 5xx, waiting the server's ``Retry-After`` (seconds or an HTTP date) or an exponential
backoff with jitter. A wait longer than ``max_retry_wait_seconds`` is not slept here: the call
raises ``ContentUnderstandingTransientError`` carrying ``retry_after_seconds`` for the caller's
own timer. ``POST :analyze`` creates an operation, so it is retried only when the service cannot
have created one: the connection was never made, or the answer was 408, 429 or 503. After a read
timeout, 500, 502 or 504 the operation may exist; the error goes to the caller.

Facts: the CU OpenAPI specs (2025-05-01-preview, 2025-11-01); azure-core's RetryPolicy.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urljoin, urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential

from content_understanding.auth import BearerTokenProvider
from content_understanding.bodies import (
    AnalyzeInput,
    build_analyze_body,
    build_analyzer_body,
    check_analyzer_id,
    profile_for,
)
from content_understanding.errors import (
    AnalyzerConflictError,
    ContentUnderstandingError,
    ContentUnderstandingPermanentError,
    ContentUnderstandingRequestError,
    ContentUnderstandingTransientError,
    describe_service_error,
    redact_url,
)
from core.api_versions import DEFAULT_API_VERSION
from core.settings import get_settings
from core.version import APP_VERSION
from telemetry.content_understanding import cu_answered, cu_call, cu_failed_to_send, note_operation

logger = logging.getLogger(__name__)

NOT_STARTED, RUNNING, SUCCEEDED, FAILED, CANCELED = "NotStarted", "Running", "Succeeded", "Failed", "Canceled"
TERMINAL_STATUSES = frozenset({SUCCEEDED, FAILED, CANCELED})
_STATUS_BY_LOWER = {status.lower(): status for status in (NOT_STARTED, RUNNING, SUCCEEDED, FAILED, CANCELED)}

TRANSIENT_STATUS_CODES = frozenset({408, 429, 500, 502, 503, 504})
# Answers after which the service cannot have started an analysis: safe to POST again.
_ANALYZE_RETRY_STATUS_CODES = frozenset({408, 429, 503})
# Hosts an Operation-Location or nextLink may point at besides the configured endpoint's own.
_TRUSTED_HOST_SUFFIXES = (
    ".cognitiveservices.azure.com",
    ".services.ai.azure.com",
    ".cognitive.microsoft.com",
)


@dataclass(frozen=True)
class AnalyzeOperation:
    """A started analysis: poll ``operation_location`` with ``get_operation``."""

    operation_location: str
    operation_id: str
    retry_after_seconds: float | None = None


@dataclass(frozen=True)
class OperationStatus:
    """One look at a long-running operation (an analysis or an analyzer creation)."""

    status: str  # NotStarted, Running, Succeeded, Failed or Canceled
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    retry_after_seconds: float | None
    raw: dict[str, Any]

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class _RetryRule:
    """Which failures of one call may be retried."""

    statuses: frozenset[int]
    after_unsent_only: bool  # transport failures: only those where the request never left

    def allows_transport_retry(self, error: httpx.TransportError) -> bool:
        if not self.after_unsent_only:
            return True
        return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


# Called with the Retry-After (seconds, or None) of every 429 the service answers: the app's CU pacer
# (storage/pacing.py) slows every job down when it hears of one.
THROTTLE_LISTENERS: list[Callable[[float | None], None]] = []

_IDEMPOTENT = _RetryRule(TRANSIENT_STATUS_CODES, after_unsent_only=False)
_ANALYZE = _RetryRule(_ANALYZE_RETRY_STATUS_CODES, after_unsent_only=True)


class ContentUnderstandingClient:
    """Talks to one CU endpoint. Create one per process and share it (it pools connections)."""

    def __init__(
        self,
        endpoint: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        key: str | None = None,
        credential: AsyncTokenCredential | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_seconds: float = 0.8,
        max_backoff_seconds: float = 30.0,
        max_retry_wait_seconds: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError(
                f"Content Understanding endpoint must be an http(s) URL, got {redact_url(endpoint)}"
            )
        if (key is None) == (credential is None):
            raise ValueError("Give exactly one of key or credential")
        profile_for(api_version)  # an unknown version fails here, not on the first call
        self.endpoint = endpoint.rstrip("/")
        self.api_version = api_version
        self._base = f"{self.endpoint}/contentunderstanding"
        self._key = key
        self._tokens = BearerTokenProvider(credential) if credential is not None else None
        self._max_retries = max_retries
        self._backoff_seconds = backoff_seconds
        self._max_backoff_seconds = max_backoff_seconds
        self._max_retry_wait_seconds = max_retry_wait_seconds
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # a redirect would carry the key elsewhere
            headers={"User-Agent": f"cu-durable-pipeline/{APP_VERSION}"},
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._tokens is not None:
            await self._tokens.aclose()

    # Analyzers -----------------------------------------------------------------------------

    async def get_analyzer(
        self, analyzer_id: str, *, api_version: str | None = None
    ) -> dict[str, Any] | None:
        """The analyzer's definition and status, or ``None`` when it does not exist."""
        check_analyzer_id(analyzer_id)
        response = await self._call(
            "GET", self._analyzer_url(analyzer_id), api_version, ok=(200, 404), rule=_IDEMPOTENT
        )
        return None if response.status_code == 404 else _json_object(response)

    async def list_analyzers(self, *, api_version: str | None = None) -> list[dict[str, Any]]:
        """Every analyzer (prebuilt and custom), following ``nextLink`` across pages."""
        analyzers: list[dict[str, Any]] = []
        url: str | None = f"{self._base}/analyzers"
        query: dict[str, str] | None = {"api-version": self._version(api_version)}
        while url is not None:
            page = _json_object(await self._call_url("GET", url, query, ok=(200,), rule=_IDEMPOTENT))
            analyzers.extend(item for item in page.get("value", []) if isinstance(item, dict))
            next_link = page.get("nextLink")
            # nextLink carries its own query (api-version included), so it is used verbatim.
            url = self._trusted_url(urljoin(url, next_link), "nextLink") if next_link else None
            query = None
        return analyzers

    async def delete_analyzer(self, analyzer_id: str, *, api_version: str | None = None) -> None:
        """Delete the analyzer; one that does not exist counts as deleted (a retry may find it gone)."""
        check_analyzer_id(analyzer_id)
        await self._call(
            "DELETE", self._analyzer_url(analyzer_id), api_version, ok=(200, 204, 404), rule=_IDEMPOTENT
        )

    async def begin_create_analyzer(
        self,
        analyzer_id: str,
        definition: Mapping[str, Any],
        *,
        api_version: str | None = None,
        allow_replace: bool = False,
    ) -> str:
        """Start creating the analyzer; returns the Operation-Location to poll until ``Succeeded``.

        Raises ``AnalyzerConflictError`` when the id exists. ``allow_replace`` replaces an existing
        analyzer instead, in the versions whose profile has ``allowReplace``.
        """
        check_analyzer_id(analyzer_id)
        version = self._version(api_version)
        body = build_analyzer_body(definition, version)
        query = {"api-version": version}
        if allow_replace:
            if not profile_for(version).allow_replace:
                raise ContentUnderstandingRequestError(
                    f"allowReplace is not part of API version {version}: delete the analyzer first"
                )
            query["allowReplace"] = "true"
        response = await self._call_url(
            "PUT", self._analyzer_url(analyzer_id), query, ok=(200, 201), rule=_IDEMPOTENT, body=body,
            conflict=AnalyzerConflictError,
        )  # fmt: skip
        return self._operation_location(response)

    # Analysis ------------------------------------------------------------------------------

    async def begin_analyze(
        self,
        analyzer_id: str,
        inputs: Sequence[AnalyzeInput],
        *,
        api_version: str | None = None,
        model_deployments: Mapping[str, str] | None = None,
    ) -> AnalyzeOperation:
        """Start analyzing ``inputs`` (several only where the version's profile allows, e.g. pro mode)."""
        check_analyzer_id(analyzer_id)
        version = self._version(api_version)
        body = build_analyze_body(inputs, version, model_deployments)
        response = await self._call_url(
            "POST", f"{self._analyzer_url(analyzer_id)}:analyze", {"api-version": version}, ok=(200, 202),
            rule=_ANALYZE, body=body,
        )  # fmt: skip
        location = self._operation_location(response)
        operation_id = urlsplit(location).path.rstrip("/").rpartition("/")[2]
        if not operation_id:
            operation_id = str(_json_object(response).get("id", ""))
        return AnalyzeOperation(location, operation_id, _retry_after_seconds(response))

    async def get_operation(self, operation_location: str) -> OperationStatus:
        """Look once at an operation, by the Operation-Location a ``begin_*`` call returned."""
        url = self._trusted_url(operation_location, "Operation-Location")
        response = await self._call_url("GET", url, None, ok=(200,), rule=_IDEMPOTENT)
        body = _json_object(response)
        raw_status = str(body.get("status", ""))
        status = _STATUS_BY_LOWER.get(raw_status.lower())
        if status is None:
            # A status this client does not know yet: keep polling, the caller's deadline bounds it.
            logger.warning("Unknown operation status %r at %s", raw_status, redact_url(url))
            status = RUNNING
        result, error = body.get("result"), body.get("error")
        note_operation(status, result if isinstance(result, dict) else None)  # telemetry
        return OperationStatus(
            status=status,
            result=result if isinstance(result, dict) else None,
            error=error if isinstance(error, dict) else None,
            retry_after_seconds=_retry_after_seconds(response),
            raw=body,
        )

    # Plumbing ------------------------------------------------------------------------------

    def _version(self, api_version: str | None) -> str:
        version = api_version or self.api_version
        profile_for(version)  # refuses a version the registry does not know
        return version

    def _analyzer_url(self, analyzer_id: str) -> str:
        # Checked (dots-only ids would be removed as dot segments) and escaped all the same, so that
        # the id is one path segment whatever a later rule lets through.
        check_analyzer_id(analyzer_id)
        return f"{self._base}/analyzers/{quote(analyzer_id, safe='')}"

    def _trusted_url(self, url: str, what: str) -> str:
        """``url`` if sending our credentials there is safe: our endpoint's origin, or Azure's CU hosts."""
        ours, theirs = urlsplit(self.endpoint), urlsplit(url)
        same_origin = (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)
        azure_host = theirs.scheme == "https" and (theirs.hostname or "").endswith(_TRUSTED_HOST_SUFFIXES)
        if not (same_origin or azure_host):
            raise ContentUnderstandingPermanentError(
                f"Refusing to follow {what} {redact_url(url)}: it is not on the endpoint {self.endpoint}"
            )
        return url

    def _operation_location(self, response: httpx.Response) -> str:
        location = response.headers.get("Operation-Location")
        if not location:
            raise ContentUnderstandingPermanentError(
                f"{response.request.method} {redact_url(str(response.request.url))} answered "
                f"{response.status_code} without an Operation-Location header",
                status_code=response.status_code,
                request_id=_request_id(response),
            )
        return self._trusted_url(urljoin(str(response.request.url), location), "Operation-Location")

    async def _call(
        self, method: str, url: str, api_version: str | None, *, ok: tuple[int, ...], rule: _RetryRule
    ) -> httpx.Response:
        return await self._call_url(
            method, url, {"api-version": self._version(api_version)}, ok=ok, rule=rule
        )

    async def _headers(self, client_request_id: str) -> dict[str, str]:
        headers = {"x-ms-client-request-id": client_request_id}
        if self._tokens is not None:
            headers["Authorization"] = f"Bearer {await self._tokens.token()}"
        else:
            assert self._key is not None
            headers["Ocp-Apim-Subscription-Key"] = self._key
        return headers

    async def _call_url(
        self,
        method: str,
        url: str,
        query: Mapping[str, str] | None,
        *,
        ok: tuple[int, ...],
        rule: _RetryRule,
        body: Any = None,
        conflict: type[ContentUnderstandingPermanentError] = ContentUnderstandingPermanentError,
    ) -> httpx.Response:
        """Send one request, retrying what ``rule`` allows; a status outside ``ok`` raises.

        The whole call, however many attempts it takes, is one telemetry span (``telemetry``).
        """
        client_request_id = str(uuid.uuid4())  # the same id on every attempt of one call
        safe_url = redact_url(url)
        with cu_call(method, url):
            for attempt in range(self._max_retries + 1):
                error: ContentUnderstandingError
                try:
                    response = await self._http.request(
                        method, url, params=query, json=body, headers=await self._headers(client_request_id)
                    )
                    cu_answered(response.status_code, response.headers)
                except httpx.TransportError as exc:
                    cu_failed_to_send(exc)
                    error = ContentUnderstandingTransientError(
                        f"{method} {safe_url} failed: {type(exc).__name__} (request id {client_request_id})",
                        request_id=client_request_id,
                    )
                    error.__cause__ = exc  # kept for debugging; its text names no secret
                    retryable = rule.allows_transport_retry(exc)
                    delay = None
                else:
                    if response.status_code in ok:
                        logger.debug("%s %s -> %s", method, safe_url, response.status_code)
                        return response
                    error = _error_from_response(response, method, safe_url, conflict)
                    if response.status_code == 429:
                        for listener in THROTTLE_LISTENERS:
                            listener(error.retry_after_seconds)
                    retryable = response.status_code in rule.statuses
                    delay = error.retry_after_seconds
                if not retryable or attempt == self._max_retries:
                    raise error
                delay = self._backoff(attempt) if delay is None else delay
                if delay > self._max_retry_wait_seconds:
                    raise error  # too long to block here: the caller schedules its own retry
                logger.warning("%s; retry %d of %d in %.1f s", error, attempt + 1, self._max_retries, delay)
                await self._sleep(delay)
            raise AssertionError("unreachable")  # the loop always returns or raises

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._max_backoff_seconds, self._backoff_seconds * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # jitter spreads out clients that failed together


def _error_from_response(
    response: httpx.Response, method: str, safe_url: str, conflict: type[ContentUnderstandingPermanentError]
) -> ContentUnderstandingError:
    """The typed error for a non-success answer, with the service's code, message and target."""
    details: dict[str, Any] = {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        details = body["error"]
    status = response.status_code
    error_code = details.get("code") or response.headers.get("x-ms-error-code")
    _, message = describe_service_error(details, "", response.reason_phrase or "no message")
    request_id = _request_id(response)
    text = (
        f"{method} {safe_url} answered {status}" + (f" {error_code}" if error_code else "") + f": {message}"
    )
    if request_id:
        text += f" (request id {request_id})"
    error_type: type[ContentUnderstandingError]
    if status in TRANSIENT_STATUS_CODES:
        error_type = ContentUnderstandingTransientError
    elif status == 409:
        error_type = conflict
    else:
        error_type = ContentUnderstandingPermanentError
    return error_type(
        text,
        status_code=status,
        error_code=str(error_code) if error_code else None,
        target=str(details["target"]) if details.get("target") else None,
        request_id=request_id,
        retry_after_seconds=_retry_after_seconds(response),
    )


def _request_id(response: httpx.Response) -> str | None:
    for header in ("apim-request-id", "x-ms-request-id", "x-ms-client-request-id"):
        value: str | None = response.headers.get(header)
        if value:
            return value
    return None


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """The server's requested wait: ``retry-after-ms``/``x-ms-retry-after-ms``, else ``Retry-After``."""
    for header in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = response.headers.get(header)
        if value is not None:
            try:
                return max(0.0, float(value) / 1000)
            except ValueError:
                pass
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    return parse_retry_after(value)


def parse_retry_after(value: str, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ContentUnderstandingTransientError(
            f"{response.request.method} {redact_url(str(response.request.url))} answered "
            f"{response.status_code} with a body that is not a JSON object",
            status_code=response.status_code,
            request_id=_request_id(response),
        )
    return body


@functools.cache
def get_content_understanding_client() -> ContentUnderstandingClient:
    """The process's shared client, built on first use from the app settings.

    With ``CONTENT_UNDERSTANDING_KEY`` set it sends the key; otherwise it uses Entra ID through
    ``DefaultAzureCredential`` (managed identity in Azure), tokens refreshed before expiry.
    """
    settings = get_settings().content_understanding
    credential: AsyncTokenCredential | None = None
    if settings.key is None:
        from azure.identity.aio import DefaultAzureCredential  # only needed without a key

        credential = DefaultAzureCredential()
    return ContentUnderstandingClient(
        settings.endpoint,
        api_version=settings.api_version,
        key=settings.key,
        credential=credential,
        timeout=settings.request_timeout_seconds,
    )


async def close_content_understanding_client() -> None:
    """Close the shared client (if one was made); the next use builds a new one."""
    if get_content_understanding_client.cache_info().currsize:
        client = get_content_understanding_client()
        get_content_understanding_client.cache_clear()
        await client.aclose()
