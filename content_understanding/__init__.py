"""Azure AI Content Understanding: an async REST client (httpx), one call per method.

The public names live in small modules and are re-exported here:
``client`` (the client and its results), ``bodies`` (request bodies per API version),
``errors`` (the exception tree and SAS redaction), ``auth`` (key or Entra ID token).
"""

from content_understanding.bodies import AnalyzeInput, build_analyze_body, build_analyzer_body
from content_understanding.client import (
    TERMINAL_STATUSES,
    AnalyzeOperation,
    ContentUnderstandingClient,
    OperationStatus,
    close_content_understanding_client,
    get_content_understanding_client,
    parse_retry_after,
)
from content_understanding.errors import (
    AnalyzerConflictError,
    ContentUnderstandingError,
    ContentUnderstandingPermanentError,
    ContentUnderstandingRequestError,
    ContentUnderstandingTransientError,
    inner_error,
    operation_error_info,
    redact_text,
    redact_url,
)

__all__ = [
    "TERMINAL_STATUSES",
    "AnalyzeInput",
    "AnalyzeOperation",
    "AnalyzerConflictError",
    "ContentUnderstandingClient",
    "ContentUnderstandingError",
    "ContentUnderstandingPermanentError",
    "ContentUnderstandingRequestError",
    "ContentUnderstandingTransientError",
    "OperationStatus",
    "build_analyze_body",
    "build_analyzer_body",
    "close_content_understanding_client",
    "get_content_understanding_client",
    "inner_error",
    "operation_error_info",
    "parse_retry_after",
    "redact_text",
    "redact_url",
]
