"""The Content Understanding client's exceptions, and the redaction of SAS query strings.

The tree hangs under the app's own (``core/errors.py``) so callers can tell "try again"
from "fix something" without knowing about HTTP::

    ContentUnderstandingError                 every failure of a CU call
    ├── ContentUnderstandingTransientError    also a TransientError: connection errors,
    │                                         timeouts, 408, 429, 5xx (after the client's own retries)
    └── ContentUnderstandingPermanentError    also a PermanentError: 400, 401, 403, 404, ...
        ├── AnalyzerConflictError             409 on an analyzer: the id exists (or is being created)
        └── ContentUnderstandingRequestError  also an InputError: a request the chosen API version
                                              would reject, caught before anything is sent

Every message and log line passes URLs through ``redact_url``/``redact_text`` first, because
input and knowledge-source URLs carry SAS signatures.
"""

from __future__ import annotations

from typing import Any

from core.errors import AppError, ErrorInfo, InnerError, InputError, PermanentError, TransientError
from core.redact import redact_text, redact_url, shorten

__all__ = [
    "AnalyzerConflictError",
    "ContentUnderstandingError",
    "ContentUnderstandingPermanentError",
    "ContentUnderstandingRequestError",
    "ContentUnderstandingTransientError",
    "inner_error",
    "operation_error_info",
    "redact_text",
    "redact_url",
]


MAX_INNER_MESSAGE = 1000


def inner_error(error: Any) -> InnerError | None:
    """The most detailed ``innererror`` under a service error body: the deepest one with a code.

    Azure answers a failed operation with a generic outer error and the detail inside, e.g.
    ``{"code": "InvalidRequest", "message": "Invalid Request.", "innererror": {"code":
    "ContentSourceNotAccessible", "message": "..."}}`` (reference notes, December 2026, from
    Azure/azure-sdk-for-net#56192); the spec's ``InnerError`` nests further ``innererror``s.
    """
    found: InnerError | None = None
    current = error.get("innererror") if isinstance(error, dict) else None
    for _depth in range(8):  # a bound against a pathological body
        if not isinstance(current, dict):
            break
        code = current.get("code")
        if isinstance(code, str) and code:
            message = current.get("message")
            found = {"code": code, "message": shorten(redact_text(str(message or "")), MAX_INNER_MESSAGE)}
        current = current.get("innererror")
    return found


def describe_service_error(error: Any, default_code: str, default_message: str) -> tuple[str, str]:
    """``(code, message)`` of a service error body; the message carries the inner detail too."""
    if not isinstance(error, dict):
        return default_code, default_message
    code = str(error.get("code") or default_code)
    message = redact_text(str(error.get("message") or default_message))
    inner = inner_error(error)
    if inner is not None:
        detail = f"{inner['code']}: {inner['message']}" if inner["message"] else inner["code"]
        message = f"{message.rstrip()} ({detail})"
    return code, message


def operation_error_info(error: Any) -> ErrorInfo:
    """A failed operation's ``error`` as ``ErrorInfo``: outer code, a message that reads on its own,
    and ``innerError`` when the service gave one."""
    code, message = describe_service_error(error, "OperationFailed", "The operation failed")
    info: ErrorInfo = {"code": code, "message": message, "transient": False}
    inner = inner_error(error)
    if inner is not None:
        info["innerError"] = inner
    return info


class ContentUnderstandingError(AppError):
    """A Content Understanding call failed.

    ``status_code`` is the HTTP status (``None`` when no response came back); ``error_code``,
    ``target`` and ``request_id`` come from the service's error body and headers when present.
    """

    code = "ContentUnderstandingError"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        target: str | None = None,
        request_id: str | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(redact_text(message), code=error_code)
        self.status_code = status_code
        self.error_code = error_code
        self.target = target
        self.request_id = request_id
        self.retry_after_seconds = retry_after_seconds


class ContentUnderstandingTransientError(ContentUnderstandingError, TransientError):
    """Trying the same call again later may succeed (``retry_after_seconds`` says when, if known)."""

    code = "ContentUnderstandingUnavailable"


class ContentUnderstandingPermanentError(ContentUnderstandingError, PermanentError):
    """The service refused the call; repeating it cannot help."""

    code = "ContentUnderstandingRejected"


class AnalyzerConflictError(ContentUnderstandingPermanentError):
    """``409``: an analyzer with this id already exists, or is being created by someone else."""

    code = "AnalyzerConflict"


class ContentUnderstandingRequestError(ContentUnderstandingPermanentError, InputError):
    """A request the chosen API version would reject, caught before it is sent."""

    code = "InvalidContentUnderstandingRequest"
