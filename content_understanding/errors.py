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

from core.errors import AppError, InputError, PermanentError, TransientError
from core.redact import redact_text, redact_url

__all__ = [
    "AnalyzerConflictError",
    "ContentUnderstandingError",
    "ContentUnderstandingPermanentError",
    "ContentUnderstandingRequestError",
    "ContentUnderstandingTransientError",
    "redact_text",
    "redact_url",
]


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
