"""The HTTP boundary's last resort: an exception no handler answered becomes a problem, not a bare 500.

Every route in ``triggers/http_api.py`` runs its handler through ``answered``. Bad input is the
handlers' business (a 4xx problem naming it, tested case by case); what reaches this module is a
defect or an outage nobody foresaw. The client gets ``500`` ``application/problem+json`` with a
correlation id and nothing else of the error (no stack, no message that might carry a URL or a
key); the log gets the same id with the redacted stack, so that one can be found from the other.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable

import azure.functions as func

from api.problems import problem_response
from core.redact import redact_text

logger = logging.getLogger(__name__)

INTERNAL_ERROR_CODE = "InternalError"


async def answered(route: str, handler: Awaitable[func.HttpResponse]) -> func.HttpResponse:
    """``handler``'s response, or the internal-error problem if it raised."""
    try:
        return await handler
    except Exception as error:
        return internal_error(route, error)


def answered_now(route: str, handler: Callable[[], func.HttpResponse]) -> func.HttpResponse:
    """``answered`` for a synchronous handler."""
    try:
        return handler()
    except Exception as error:
        return internal_error(route, error)


def internal_error(route: str, error: BaseException) -> func.HttpResponse:
    """Log ``error`` (redacted) under a new correlation id and answer a 500 problem quoting only the id."""
    correlation_id = uuid.uuid4().hex
    stack = "".join(traceback.format_exception(error))
    logger.error("Unexpected error in %s (correlation id %s): %s", route, correlation_id, redact_text(stack))
    return problem_response(
        500,
        f"The request failed unexpectedly; quote correlation id {correlation_id} when reporting it",
        title="Internal error",
        code=INTERNAL_ERROR_CODE,
        correlationId=correlation_id,
    )
