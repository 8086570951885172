"""RFC 9457 problem details: the one shape of every HTTP error this app returns."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import azure.functions as func
from pydantic import BaseModel

from api.models import Problem
from core.errors import InputError, TransientError
from core.redact import redact_text

PROBLEM_CONTENT_TYPE = "application/problem+json"
DEPENDENCY_RETRY_AFTER_SECONDS = 10


def problem_response(
    status: int, detail: str, *, title: str | None = None, **extensions: Any
) -> func.HttpResponse:
    """An ``application/problem+json`` response; ``extensions`` become extra members."""
    problem = Problem(
        type="about:blank",
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        **extensions,
    )
    # The worker derives the Content-Type header from mimetype and charset.
    return func.HttpResponse(
        json.dumps(_wire(problem)),
        status_code=status,
        mimetype=PROBLEM_CONTENT_TYPE,
        charset="utf-8",
    )


def json_response(
    body: BaseModel | dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """A JSON response with the right content type: a model of ``api/models.py``, or a plain document."""
    return func.HttpResponse(
        json.dumps(_wire(body) if isinstance(body, BaseModel) else body),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers=headers,
    )


# Input error codes with a more specific status than 400.
_STATUS_BY_CODE = {
    "InputTooLarge": 413,
    "JobTooLarge": 413,
    "PackageTooLarge": 413,
    "RequestTooLarge": 413,
    "UnsupportedMediaType": 415,
    "UnsupportedContentType": 415,
}


def input_error_response(error: InputError) -> func.HttpResponse:
    """The problem response for a bad request: 400, or 413/415 where those say more."""
    extensions: dict[str, Any] = {"code": error.code}
    if error.input_name is not None:
        extensions["input"] = error.input_name
    status = _STATUS_BY_CODE.get(error.code, 400)
    return problem_response(status, error.message, **extensions)


def dependency_unavailable(error: TransientError) -> func.HttpResponse:
    """503 when storage or CU is unavailable for now (their clients' own retries failed)."""
    response = problem_response(503, redact_text(str(error)), title="Dependency unavailable", code=error.code)
    response.headers["Retry-After"] = str(DEPENDENCY_RETRY_AFTER_SECONDS)
    return response


def _wire(model: BaseModel) -> dict[str, Any]:
    # Members the handler did not set are left out (``api/models.py``: optional, never null).
    return model.model_dump(mode="json", exclude_unset=True)
