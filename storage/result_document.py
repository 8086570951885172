"""The job's result document: every operation's full CU result, gathered into one blob.

``GET /api/analyses/{id}/result`` serves it as is. Each operation's response was saved by the
activity that saw it succeed (``activities.cu_steps.get_operation``); here they are only assembled,
so that no result ever passes through orchestration history.
"""

from __future__ import annotations

from typing import Any, TypedDict

from core.layout import operation_result_key
from storage.results import read_result, save_result

RESULT_KEY = "result"


class OperationOutcome(TypedDict):
    key: str
    inputs: list[str]  # input names
    operationId: str | None
    status: str  # Succeeded | Failed | Canceled | TimedOut


def public_status(status: str) -> str:
    """CU's operation status in the API's snake_case (``TimedOut`` -> ``timed_out``)."""
    return "timed_out" if status == "TimedOut" else status.lower()


async def write_result_document(
    job_id: str, analyzer_id: str, mode: str, operations: list[OperationOutcome]
) -> str:
    """Assemble and store ``{"id", "analyzerId", "mode", "results": [...]}``; return its blob name."""
    results: list[dict[str, Any]] = []
    for operation in operations:
        result = None
        if operation["status"] == "Succeeded":
            response = await read_result(job_id, operation_result_key(operation["key"]))
            result = response.get("result") if isinstance(response, dict) else None
        results.append(
            {
                "inputs": operation["inputs"],
                "operationId": operation["operationId"],
                "status": public_status(operation["status"]),
                "result": result,
            }
        )
    document = {"id": job_id, "analyzerId": analyzer_id, "mode": mode, "results": results}
    return await save_result(job_id, RESULT_KEY, document)
