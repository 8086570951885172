"""A span per Content Understanding call: one logical call, however many attempts it took.

The CU client opens ``cu_call(method, url)`` around a call and reports each attempt's answer
(``cu_answered``) or transport failure (``cu_failed_to_send``) to the call that is open. In
Application Insights the span is a dependency of type ``HTTP`` (``http.request.method``;
``http.response.status_code`` becomes ``resultCode``; the target is the CU host) with
``app.dependency`` = ``ContentUnderstanding``, the attempt count and the number of 429 answers
(``app.cu.attempts``, ``app.cu.throttled``) and the operation id. A polled operation's status and
a finished analysis' page count go on the polling activity's span (``note_operation``).
``url.full`` is the URL without its query string: CU paths hold analyzer and operation ids, never
a key (the key travels in a header, never recorded).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from core import telemetry_fields as fields
from core.redact import display_url
from telemetry.context import note_cu_operation, operation_id_from_location

tracer = trace.get_tracer("cu_pipeline.content_understanding")

# (method, path pattern under /contentunderstanding) -> the operation's name in telemetry.
_OPERATIONS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/analyzers/(?P<analyzer>[^/:]+):analyze(Binary)?$"), "begin_analyze"),
    ("GET", re.compile(r"/analyzerResults/(?P<operation>[^/]+)$"), "get_operation"),
    ("GET", re.compile(r"/analyzers/(?P<analyzer>[^/]+)/operations/(?P<operation>[^/]+)$"), "get_operation"),
    ("GET", re.compile(r"/operations/(?P<operation>[^/]+)$"), "get_operation"),
    ("GET", re.compile(r"/analyzers/(?P<analyzer>[^/]+)$"), "get_analyzer"),
    ("PUT", re.compile(r"/analyzers/(?P<analyzer>[^/]+)$"), "create_analyzer"),
    ("DELETE", re.compile(r"/analyzers/(?P<analyzer>[^/]+)$"), "delete_analyzer"),
    ("GET", re.compile(r"/analyzers$"), "list_analyzers"),
    ("PATCH", re.compile(r"/defaults$"), "set_defaults"),
)


class ContentUnderstandingCall:
    """What one call learns as it goes, written onto its span."""

    def __init__(self, span: Span) -> None:
        self._span = span
        self.attempts = 0
        self.throttled = 0
        self.error_type: str | None = None  # of the last attempt

    def answered(self, status_code: int, headers: Mapping[str, str]) -> None:
        """One attempt got an answer (any status)."""
        self._attempted()
        self._span.set_attribute("http.response.status_code", status_code)
        if status_code == 429:
            self.throttled += 1
            self._span.set_attribute(fields.CU_THROTTLED, self.throttled)
        retry_after = headers.get("Retry-After")
        if retry_after is not None:
            with contextlib.suppress(ValueError):
                self._span.set_attribute(fields.CU_RETRY_AFTER_SECONDS, float(retry_after))
        operation_id = operation_id_from_location(headers.get("Operation-Location"))
        if operation_id:
            self._operation(operation_id)
        self.error_type = str(status_code) if status_code >= 400 else None

    def failed_to_send(self, error: BaseException) -> None:
        """One attempt failed without an answer (connection refused, timeout...)."""
        self._attempted()
        self.error_type = type(error).__name__

    def ended(self) -> None:
        """The call is over: its last attempt decides whether it failed."""
        if self.error_type is not None:
            self._span.set_attribute("error.type", self.error_type)
            self._span.set_status(Status(StatusCode.ERROR))

    def _attempted(self) -> None:
        self.attempts += 1
        self._span.set_attribute(fields.CU_ATTEMPTS, self.attempts)

    def _operation(self, operation_id: str) -> None:
        self._span.set_attribute(fields.CU_OPERATION_ID, operation_id)
        note_cu_operation(operation_id)


_open_call: ContextVar[ContentUnderstandingCall | None] = ContextVar("cu_call", default=None)


def cu_answered(status_code: int, headers: Mapping[str, str]) -> None:
    """One attempt of the open call got an answer (no-op outside ``cu_call``)."""
    call = _open_call.get()
    if call is not None:
        call.answered(status_code, headers)


def cu_failed_to_send(error: BaseException) -> None:
    """One attempt of the open call failed without an answer (no-op outside ``cu_call``)."""
    call = _open_call.get()
    if call is not None:
        call.failed_to_send(error)


@contextlib.contextmanager
def cu_call(method: str, url: str) -> Iterator[ContentUnderstandingCall]:
    """A span for one CU call to ``url`` (its query string is never recorded)."""
    parts = urlsplit(url)
    path = parts.path.partition("/contentunderstanding")[2]
    attributes: dict[str, str | int] = {
        fields.DEPENDENCY: fields.DEPENDENCY_CONTENT_UNDERSTANDING,
        "http.request.method": method,
        "url.full": display_url(url),
        "server.address": parts.hostname or "",
    }
    operation = method.lower()
    for verb, pattern, name in _OPERATIONS:
        match = pattern.search(path) if verb == method else None
        if match is None:
            continue
        operation = name
        found = match.groupdict()
        if found.get("analyzer"):
            attributes[fields.CU_ANALYZER_ID] = found["analyzer"]
        if found.get("operation"):
            attributes[fields.CU_OPERATION_ID] = found["operation"]
            note_cu_operation(found["operation"])
        break
    attributes[fields.CU_OPERATION] = operation
    if parts.port:
        attributes["server.port"] = parts.port
    with tracer.start_as_current_span(
        f"ContentUnderstanding {operation}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        call = ContentUnderstandingCall(span)
        token = _open_call.set(call)
        try:
            yield call
        finally:
            _open_call.reset(token)
            call.ended()


def note_operation(status: str, result: Mapping[str, Any] | None) -> None:
    """A polled operation's status, and a finished analysis' page count, on the current span.

    Called once the answer is read, after the call's own span has ended: the current span is
    the caller's (the ``get_operation`` activity's span, which carries the operation id too).
    """
    span = trace.get_current_span()
    span.set_attribute(fields.CU_OPERATION_STATUS, status)
    pages = page_count(result)
    if pages is not None:
        span.set_attribute(fields.CU_PAGES, pages)


def page_count(result: Mapping[str, Any] | None) -> int | None:
    """Pages in an analysis result: each document content's page range, summed."""
    if not isinstance(result, Mapping):
        return None
    contents = result.get("contents")
    if not isinstance(contents, list):
        return None
    pages = 0
    for content in contents:
        if not isinstance(content, Mapping):
            continue
        first, last = content.get("startPageNumber"), content.get("endPageNumber")
        if isinstance(first, int) and isinstance(last, int) and last >= first:
            pages += last - first + 1
    return pages or None
