"""The job context: which job, input and CU operation the running code works for.

The activity boundary opens a scope from the activity's payload (``job_scope``); code below it
adds what it learns (the CU client notes the operation id it started or polls). The processors in
``telemetry.processors`` read the context when a span starts or a log record is emitted, so every
span and record of an activity carries the job's ids without any call passing them along.

The context is a ``ContextVar``: each activity invocation (an asyncio task, or a worker thread
with a copied context) sees its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core import telemetry_fields as fields


@dataclass
class JobContext:
    job_id: str | None = None
    input_index: int | None = None
    cu_operation_id: str | None = None

    def attributes(self) -> dict[str, str | int]:
        found: dict[str, str | int] = {}
        if self.job_id:
            found[fields.JOB_ID] = self.job_id
        if self.input_index is not None:
            found[fields.INPUT_INDEX] = self.input_index
        if self.cu_operation_id:
            found[fields.CU_OPERATION_ID] = self.cu_operation_id
        return found


_current: ContextVar[JobContext | None] = ContextVar("job_context", default=None)


def current_attributes() -> dict[str, str | int]:
    """The job context's attributes now (empty outside any job's work)."""
    context = _current.get()
    return context.attributes() if context is not None else {}


@contextlib.contextmanager
def job_scope(context: JobContext) -> Iterator[JobContext]:
    """Make ``context`` the job context until the block ends."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def note_cu_operation(operation_id: str | None) -> None:
    """Record the CU operation the running work started or polls (no-op outside a job scope)."""
    context = _current.get()
    if context is not None and operation_id:
        context.cu_operation_id = operation_id


def from_payload(payload: Any) -> JobContext:
    """The job context an activity payload names (its wire form: ``jobId``, ``index``, ...)."""
    if not isinstance(payload, Mapping):
        return JobContext()
    job_id = payload.get("jobId")
    index = payload.get("index")
    operation_id = payload.get("operationId")
    if not isinstance(operation_id, str):
        operation_id = operation_id_from_location(payload.get("operationLocation"))
    return JobContext(
        job_id=job_id if isinstance(job_id, str) and job_id else None,
        input_index=index if isinstance(index, int) and not isinstance(index, bool) else None,
        cu_operation_id=operation_id,
    )


def operation_id_from_location(location: Any) -> str | None:
    """The operation id at the end of an ``Operation-Location`` URL's path (never its query)."""
    if not isinstance(location, str) or not location:
        return None
    try:
        path = urlsplit(location).path
    except ValueError:
        return None
    last = path.rstrip("/").rpartition("/")[2]
    return last or None
