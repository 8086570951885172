"""The job's result document: every operation's full CU result, gathered into one blob.

``GET /api/analyses/{id}/result`` serves it as is. Each operation's response was saved by the
activity that saw it succeed (``activities.cu_steps.get_operation``); here they are only assembled,
so that no result ever passes through orchestration history.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from core.errors import ErrorInfo
from core.layout import operation_result_key
from storage.results import ResultNotFound, read_result, save_result

RESULT_KEY = "result"


class OperationOutcome(TypedDict):
    key: str
    inputs: list[str]  # input names
    operationId: str | None
    status: str  # Succeeded | Failed | Canceled | TimedOut
    error: NotRequired[ErrorInfo | None]  # the app's account of a failure (CU's own is read back)


def public_status(status: str) -> str:
    """CU's operation status in the API's snake_case (``TimedOut`` -> ``timed_out``)."""
    return "timed_out" if status == "TimedOut" else status.lower()


async def write_result_document(
    job_id: str, analyzer_id: str, mode: str, operations: list[OperationOutcome]
) -> str:
    """Assemble and store ``{"id", "analyzerId", "mode", "results": [...]}``; return its blob name.

    An operation that did not succeed has an ``error``: CU's own, as it returned it (with its
    ``innererror``), when the operation failed at CU; otherwise the app's account (a deadline, a
    request CU refused).
    """
    results: list[dict[str, Any]] = []
    for operation in operations:
        entry: dict[str, Any] = {
            "inputs": operation["inputs"],
            "operationId": operation["operationId"],
            "status": public_status(operation["status"]),
            "result": None,
        }
        if operation["status"] == "Succeeded":
            response = await read_result(job_id, operation_result_key(operation["key"]))
            entry["result"] = response.get("result") if isinstance(response, dict) else None
        else:
            response = None
            if operation["operationId"] is not None:
                response = await _saved_response(job_id, operation["key"])
            error = response.get("error") if isinstance(response, dict) else None
            if error is None and operation.get("error") is not None:
                error = dict(operation["error"] or {})
                error.pop("transient", None)
            entry["error"] = error
        results.append(entry)
    document = {"id": job_id, "analyzerId": analyzer_id, "mode": mode, "results": results}
    return await save_result(job_id, RESULT_KEY, document)


async def _saved_response(job_id: str, key: str) -> Any:
    """The operation response ``get_operation`` saved, or None (a failure it never saw)."""
    try:
        return await read_result(job_id, operation_result_key(key))
    except ResultNotFound:
        return None
