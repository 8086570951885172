"""The names of the telemetry the app writes, in one place, and the job records built from them.

Span and log attributes land in Application Insights' ``customDimensions`` under these exact
names; the workbook and alert queries (``infra/monitoring/*.kql``) use them, and
``tests/telemetry/test_queries.py`` checks that every name a query uses is declared here. Values
are ids, counts, codes and durations only: never a URL with a query string, a key or document
content.

No I/O: the orchestrators log their job records through ``log_job_finished``, called after a
job's last ``yield`` (that code runs in the final episode only, so replays do not repeat it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

# --- on every span and log record written while a job's work runs (the job context) ----------
JOB_ID = "app.job_id"
INPUT_INDEX = "app.input_index"
CU_OPERATION_ID = "app.cu.operation_id"

# --- log records that mark a job's life: ``app.event`` says which -------------------------------
EVENT = "app.event"
JOB_STARTED = "job_started"
JOB_FINISHED = "job_finished"
INPUT_FAILED = "input_failed"

JOB_TRIGGER = "app.job.trigger"  # "http" or "blob"
JOB_MODE = "app.job.mode"
JOB_INPUTS = "app.job.inputs"
JOB_STATUS = "app.job.status"  # succeeded | partially_succeeded | failed | canceled
JOB_DURATION_SECONDS = "app.job.duration_seconds"
JOB_INPUTS_SUCCEEDED = "app.job.inputs_succeeded"
JOB_INPUTS_FAILED = "app.job.inputs_failed"
ERROR_CODE = "app.error_code"

# --- spans -------------------------------------------------------------------------------------
DEPENDENCY = "app.dependency"  # which edge: one of the DEPENDENCY_* values
DEPENDENCY_ACTIVITY = "Activity"
DEPENDENCY_CONTENT_UNDERSTANDING = "ContentUnderstanding"

ACTIVITY = "app.activity"  # the activity's function name
OUTCOME = "app.outcome"  # an activity's: succeeded | failed (permanent, returned) | error (raised)

CU_OPERATION = "app.cu.operation"  # get_analyzer, begin_analyze, get_operation, ...
CU_ANALYZER_ID = "app.cu.analyzer_id"
CU_ATTEMPTS = "app.cu.attempts"  # requests sent for this one call (1 + in-call retries)
CU_THROTTLED = "app.cu.throttled"  # how many of those were answered 429
CU_RETRY_AFTER_SECONDS = "app.cu.retry_after_seconds"  # the last Retry-After the service asked for
CU_OPERATION_STATUS = "app.cu.operation_status"  # a polled operation's status
CU_PAGES = "app.cu.pages"  # pages in a succeeded analysis result

# Every name above that is an attribute (the values of DEPENDENCY, OUTCOME and EVENT are not).
ATTRIBUTES = frozenset(
    {
        JOB_ID,
        INPUT_INDEX,
        CU_OPERATION_ID,
        EVENT,
        JOB_TRIGGER,
        JOB_MODE,
        JOB_INPUTS,
        JOB_STATUS,
        JOB_DURATION_SECONDS,
        JOB_INPUTS_SUCCEEDED,
        JOB_INPUTS_FAILED,
        ERROR_CODE,
        DEPENDENCY,
        ACTIVITY,
        OUTCOME,
        CU_OPERATION,
        CU_ANALYZER_ID,
        CU_ATTEMPTS,
        CU_THROTTLED,
        CU_RETRY_AFTER_SECONDS,
        CU_OPERATION_STATUS,
        CU_PAGES,
    }
)


def job_started_record(job_id: str, *, trigger: str, mode: str, inputs: int) -> dict[str, Any]:
    """The attributes of the ``job_started`` log record (pass as ``extra=``)."""
    return {EVENT: JOB_STARTED, JOB_ID: job_id, JOB_TRIGGER: trigger, JOB_MODE: mode, JOB_INPUTS: inputs}


def job_finished_records(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``job_finished`` for a job's summary, then one ``input_failed`` per failed input it lists.

    The summary is the job orchestration's output (``jobId``, ``status``, ``startedAt``/
    ``finishedAt``, and either ``inputs`` with each input's ``status`` and ``error``, or, for a
    batched job, ``counts``: its batches log their failed inputs themselves, ``log_inputs_failed``).
    """
    job_id = str(summary.get("jobId", ""))
    inputs: Sequence[Mapping[str, Any]] = summary.get("inputs") or []
    failed = [item for item in inputs if item.get("status") == "failed"]
    counts = summary.get("counts")
    if not inputs and isinstance(counts, Mapping):
        total, succeeded, failures = (int(counts.get(key) or 0) for key in ("total", "succeeded", "failed"))
    else:
        total = len(inputs)
        succeeded = sum(1 for item in inputs if item.get("status") == "succeeded")
        failures = len(failed)
    finished: dict[str, Any] = {
        EVENT: JOB_FINISHED,
        JOB_ID: job_id,
        JOB_STATUS: str(summary.get("status", "")),
        JOB_MODE: str(summary.get("mode", "")),
        JOB_INPUTS: total,
        JOB_INPUTS_SUCCEEDED: succeeded,
        JOB_INPUTS_FAILED: failures,
    }
    duration = _seconds_between(summary.get("startedAt"), summary.get("finishedAt"))
    if duration is not None:
        finished[JOB_DURATION_SECONDS] = duration
    error = summary.get("error")
    if isinstance(error, Mapping) and error.get("code"):
        finished[ERROR_CODE] = str(error["code"])
    failures_listed = [
        (item.get("index"), (item.get("error") or {}).get("code") or "Unknown") for item in failed
    ]
    return [finished, *input_failed_records(job_id, failures_listed)]


def input_failed_records(job_id: str, failures: Sequence[tuple[Any, str]]) -> list[dict[str, Any]]:
    """One ``input_failed`` record per (input index, error code)."""
    return [
        {EVENT: INPUT_FAILED, JOB_ID: job_id, INPUT_INDEX: index, ERROR_CODE: code}
        for index, code in failures
    ]


def log_job_finished(logger: logging.Logger, summary: Mapping[str, Any]) -> None:
    """Log ``job_finished`` and each ``input_failed`` record of a finished job's summary."""
    for record in job_finished_records(summary):
        if record[EVENT] == JOB_FINISHED:
            logger.info("Job %s finished: %s", record[JOB_ID], record[JOB_STATUS], extra=record)
        else:
            _log_input_failed(logger, record)


def log_inputs_failed(logger: logging.Logger, job_id: str, failures: Sequence[tuple[int, str]]) -> None:
    """Log an ``input_failed`` record per (input index, error code): a batch's, after its last yield."""
    for record in input_failed_records(job_id, failures):
        _log_input_failed(logger, record)


def _log_input_failed(logger: logging.Logger, record: dict[str, Any]) -> None:
    logger.warning(
        "Job %s: input %s failed: %s", record[JOB_ID], record[INPUT_INDEX], record[ERROR_CODE], extra=record
    )


def _seconds_between(start: Any, end: Any) -> float | None:
    try:
        began = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        ended = datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError:
        return None
    return round((ended - began).total_seconds(), 3)
