"""The Content Understanding client's exceptions, and the redaction of SAS query strings.

The tree hangs under the app's own (``services/errors.py``) so callers can tell "try again"
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

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from services.errors import AppError, InputError, PermanentError, TransientError

REDACTED = "REDACTED"

# Query parameters that are safe to show: CU's own, and the harmless blob ones. Every other
# parameter's value (sig, se, skoid, sktid, code, ...) is replaced, so an unknown SAS or
# token parameter is hidden by default rather than leaked by default.
_SAFE_QUERY_PARAMETERS = frozenset(
    {
        "api-version",
        "allowReplace",
        "stringEncoding",
        "processingLocation",
        "range",
        "comp",
        "restype",
        "prefix",
    }
)

_URL_IN_TEXT = re.compile(r"""https?://[^\s"'<>]+""")
# Catches a signature that appears outside a whole URL (a query string quoted on its own).
_SECRET_PARAMETER_IN_TEXT = re.compile(r"(?i)\b(sig|signature|code|key|token|access_token)=([^&\s\"'<>]+)")


def redact_url(url: str) -> str:
    """``url`` with credentials removed: user info dropped, non-safe query values replaced.

    >>> redact_url("https://a.blob.core.windows.net/c/x.pdf?sv=2024-08-04&sig=abc")
    'https://a.blob.core.windows.net/c/x.pdf?sv=REDACTED&sig=REDACTED'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode(
        [(name, value if name in _SAFE_QUERY_PARAMETERS else REDACTED) for name, value in pairs],
        safe="/:",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted, and any stray ``sig=...`` style secret hidden."""
    text = _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    return _SECRET_PARAMETER_IN_TEXT.sub(lambda match: f"{match.group(1)}={REDACTED}", text)


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
