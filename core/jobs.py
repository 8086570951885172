"""The analysis job's data: what enters an orchestration, what comes out, and pure rules about them.

Everything here is plain JSON-shaped data (TypedDicts), because it travels through orchestration
history. Nothing here does I/O, so orchestrators may import it. Sizes stay small: inputs are
references (blob names, grant names), never document bytes and never a SAS.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from core.errors import ErrorInfo

if TYPE_CHECKING:
    from core.settings import Settings

Mode = Literal["per-document", "agentic"]
PartialFailurePolicy = Literal["fail", "continue"]
MODES: tuple[Mode, ...] = ("per-document", "agentic")
PARTIAL_FAILURE_POLICIES: tuple[PartialFailurePolicy, ...] = ("fail", "continue")

# Modes the app no longer runs, and what took their place (a request naming one gets a clear 400).
RETIRED_MODES: dict[str, str] = {
    "combined": "mode 'combined' (pro mode) is retired in Azure with the only API version that had it; "
    "use mode 'agentic' with an analyzer whose config.workflow is 'agentic' (CONTENT_UNDERSTANDING_"
    "AGENTIC_API_VERSION)",
}

# The policy when a request names none: an agentic analysis reads every document together and
# needs them all, a per-document one is still worth running for the inputs that made it.
DEFAULT_PARTIAL_FAILURE: dict[Mode, PartialFailurePolicy] = {"per-document": "continue", "agentic": "fail"}

# The analyzer tag that records which definition it was created from (ensure_analyzer compares it).
DEFINITION_HASH_TAG = "pipelineDefinitionHash"


# A document's source: one member naming its kind and holding its value (``{"url": "https://..."}``,
# the kinds are the plug-ins of ``inputs/sources/``), and, in a job's spec, ``name``: the
# document's display name, decided when the job was planned so that the orchestrator knows
# where each input will be stored without knowing any kind.
InputSource = dict[str, str]


class PollingPolicy(TypedDict):
    initialIntervalSeconds: float
    maxIntervalSeconds: float
    deadlineSeconds: float


class AnalyzerSpec(TypedDict):
    """An analyzer the job must ensure exists, with this definition, before analysing."""

    analyzerId: str
    apiVersion: str
    definition: dict[str, Any]


# Documents per batch of a per-document job (orchestrators/analysis_batch.py): each batch's history
# and every payload it exchanges stay bounded by it (docs/performance.md).
DEFAULT_BATCH_SIZE = 50


class JobSpec(TypedDict):
    """The orchestration input of an analysis job: all of its configuration."""

    jobId: str
    analyzerId: str
    mode: Mode
    apiVersion: str
    inputs: list[InputSource]
    references: list[InputSource]
    partialFailure: PartialFailurePolicy
    analyzer: AnalyzerSpec | None  # None: a prebuilt or externally managed analyzer
    modelDeployments: dict[str, str]
    polling: PollingPolicy
    origin: str  # "http" or "blob:<container>/<name>"
    batchSize: NotRequired[int]  # documents per batch (JOB_BATCH_SIZE); DEFAULT_BATCH_SIZE if absent
    # SHA-256 of the normalised request and its uploads, when it came with an idempotency key: a
    # retry must match it (api/submission.py).
    requestDigest: NotRequired[str]


class InputFate(TypedDict):
    """What happened to one input: the per-input line of the summary."""

    index: int
    name: str
    status: Literal["pending", "ingested", "analyzing", "succeeded", "failed", "skipped"]
    blob: NotRequired[str]
    size: NotRequired[int]
    contentType: NotRequired[str]
    sha256: NotRequired[str]
    operationId: NotRequired[str]
    # Present when the analysis had to be submitted more than once (activities/cu_steps.py): an
    # earlier attempt may have started an operation of its own, analysing the input again.
    analysisAttempts: NotRequired[int]
    error: NotRequired[ErrorInfo]


def monitor_instance_id(job_id: str, key: str) -> str:
    """The monitor of operation ``key``: a known id, so the status API can show its next poll."""
    return f"{job_id}:op-{key}"


def batch_instance_id(job_id: str, batch: int, *, prepare: bool = False) -> str:
    """Batch ``batch`` of a job: a known id, so the status API can add up the batches' progress."""
    return f"{job_id}:{'prepare' if prepare else 'batch'}-{batch}"


def polling_policy(settings: Settings) -> PollingPolicy:
    """The polling configuration an orchestration carries in its input (orchestrators read no env)."""
    return {
        "initialIntervalSeconds": settings.polling.initial_interval_seconds,
        "maxIntervalSeconds": settings.polling.max_interval_seconds,
        "deadlineSeconds": settings.polling.deadline_seconds,
    }


def definition_hash(definition: dict[str, Any]) -> str:
    """A stable fingerprint of an analyzer definition.

    Stored on the analyzer as a tag (``DEFINITION_HASH_TAG``), so that a changed definition is
    recreated and an unchanged one is reused.
    """
    canonical = json.dumps(
        {"definition": definition},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def next_poll_interval(policy: PollingPolicy, polls_done: int, retry_after: float | None) -> float:
    """Seconds until the next poll: the server's ``Retry-After`` if it sent one, else doubling backoff.

    Backoff starts at ``initialIntervalSeconds`` and doubles per poll up to ``maxIntervalSeconds``.
    """
    if retry_after is not None and retry_after > 0:
        return float(retry_after)
    exponent = min(max(polls_done - 1, 0), 30)
    return float(min(policy["initialIntervalSeconds"] * 2**exponent, policy["maxIntervalSeconds"]))


def to_iso(moment: datetime) -> str:
    """UTC ISO-8601 with a Z, the format of every time in status and summaries."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


JobStatus = Literal["pending", "running", "succeeded", "partially_succeeded", "failed", "canceled"]


def job_status(runtime_status: str | None, output: Any) -> JobStatus:
    """The public job status from the Durable runtime status and the orchestration's output."""
    if runtime_status in ("Pending", None):
        return "pending"
    if runtime_status in ("Running", "ContinuedAsNew", "Suspended"):
        return "running"
    if runtime_status in ("Terminated", "Canceled"):
        return "canceled"
    if runtime_status == "Completed" and isinstance(output, dict):
        status = output.get("status")
        if status in ("succeeded", "partially_succeeded", "failed", "canceled"):
            return status  # type: ignore[no-any-return]
    return "failed"


def job_outcome(fates: list[InputFate]) -> JobStatus:
    """``succeeded`` when every input succeeded, ``failed`` when none did, else partial."""
    succeeded = sum(1 for fate in fates if fate["status"] == "succeeded")
    if fates and succeeded == len(fates):
        return "succeeded"
    return "partially_succeeded" if succeeded else "failed"
