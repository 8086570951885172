"""Turn a validated request into a job: resolve the analyzer, check sources, stage uploads.

The HTTP function calls these in order and starts the orchestration last, so that a request
that fails any check writes nothing; if staging or the start fails, staged blobs are removed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

from api.job_request import JobRequest, Upload
from content_understanding import get_content_understanding_client
from core import function_names as names
from core.api_versions import RETIRED_API_VERSIONS, get_profile
from core.errors import InputError
from core.jobs import AnalyzerSpec, InputSource, JobSpec, polling_policy
from core.settings import Settings
from inputs import sources
from inputs.sources.staged import discard_staged, stage_upload
from storage.analyzer_definitions import is_prebuilt, load_definition

JOB_ID_PREFIX = "job-"
REQUEST_DIGEST_FIELD = "requestDigest"


def new_job_id(idempotency_key: str | None) -> str:
    """A fresh id, or, with an idempotency key, the same id for every retry of the request."""
    if idempotency_key is None:
        return JOB_ID_PREFIX + uuid.uuid4().hex
    return JOB_ID_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def request_digest(request: JobRequest) -> str:
    """SHA-256 of the request as understood: what a retry with the same idempotency key must repeat.

    The normalised request (defaults filled in, sources as checked, the uploads' roles, names and
    types, in order) and every uploaded byte; not the key itself, nor how the request was encoded
    (JSON or multipart, member order, white space), which change nothing about the job.
    """
    digest = hashlib.sha256()
    normalised = {
        "analyzerId": request.analyzer_id,
        "mode": request.mode,
        "apiVersion": request.api_version,
        "partialFailure": request.partial_failure,
        "inputs": request.inputs,
        "references": request.references,
        "uploads": [[u.role, u.name, u.content_type, len(u.data)] for u in request.uploads],
    }
    digest.update(json.dumps(normalised, sort_keys=True, separators=(",", ":")).encode())
    for upload in request.uploads:
        digest.update(hashlib.sha256(upload.data).digest())
    return digest.hexdigest()


def recorded_digest(status: Any) -> str | None:
    """The request digest a job's input recorded (None: a job started without one)."""
    spec = status.input_
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            return None
    value = spec.get(REQUEST_DIGEST_FIELD) if isinstance(spec, dict) else None
    return value if isinstance(value, str) else None


def orchestrator_for(spec: JobSpec) -> str:
    """The orchestrator that runs a job: one per mode."""
    return names.AGENTIC_JOB if spec["mode"] == "agentic" else names.ANALYSIS_JOB


async def resolve_analyzer(request: JobRequest, settings: Settings) -> AnalyzerSpec | None:
    """The definition to ensure (registered analyzers), or None (prebuilt or managed elsewhere)."""
    analyzer_id = request.analyzer_id
    agentic = request.mode == "agentic"
    spec = await load_definition(analyzer_id)
    if spec is not None:
        retired = RETIRED_API_VERSIONS.get(spec["apiVersion"])
        if retired is not None:
            raise InputError(
                f"Analyzer {analyzer_id!r} was registered for API version {retired.version}, which Azure "
                f"retired; register it again (PUT /api/analyzers/{analyzer_id}) for {retired.successor}",
                code="RetiredApiVersion",
            )
        is_agentic = get_profile(spec["apiVersion"]).mode_of(spec["definition"]) is not None
        if is_agentic != agentic:
            needed = "agentic" if is_agentic else "per-document"
            raise InputError(
                f"Analyzer {analyzer_id!r} is {'an agentic' if is_agentic else 'a standard'} analyzer: "
                f"use mode '{needed}'",
                code="AnalyzerModeMismatch",
            )
        return spec
    if agentic:
        raise InputError(
            f"Analyzer {analyzer_id!r} is not registered: an agentic job needs an analyzer whose "
            'config.workflow is "agentic", registered with PUT /api/analyzers/{id}',
            code="UnknownAnalyzer",
        )
    if is_prebuilt(analyzer_id):
        return None
    cu = settings.content_understanding
    existing = await get_content_understanding_client().get_analyzer(analyzer_id, api_version=cu.api_version)
    if existing is None:
        raise InputError(
            f"Analyzer {analyzer_id!r} does not exist: register it with PUT /api/analyzers/{analyzer_id}",
            code="UnknownAnalyzer",
        )
    return None


async def check_sources_available(request: JobRequest) -> None:
    """Every referenced source must be readable now (a blob must exist; ingest checks it again)."""
    await sources.check_available([*request.inputs, *request.references])


async def stage_uploads(job_id: str, uploads: Sequence[Upload], concurrency: int) -> list[InputSource]:
    """Stream every upload into the staging container, at most ``concurrency`` at a time.

    All or nothing: if one fails, the ones already staged are removed and the error re-raised.
    """
    limit = asyncio.Semaphore(concurrency)
    staged: list[str] = []

    async def stage(upload: Upload) -> InputSource:
        async with limit:
            result = await stage_upload(job_id, upload.name, bytes(upload.data), max_bytes=len(upload.data))
            staged.append(result.staged)
            return result.source()

    try:
        return list(await asyncio.gather(*(stage(upload) for upload in uploads)))
    except BaseException:
        await discard_staged(staged)
        raise


async def release_sources(staged: Sequence[InputSource]) -> None:
    """Free what the sources of a job that will not start hold (its staged uploads)."""
    await sources.release(staged)


def build_job_spec(
    job_id: str,
    request: JobRequest,
    analyzer: AnalyzerSpec | None,
    staged: list[InputSource],
    settings: Settings,
    *,
    origin: str,
    digest: str | None = None,
) -> JobSpec:
    """The orchestration input: the whole job's configuration, references only.

    Every source carries its display name from here on (``inputs.sources.named``). ``digest``: the
    request's (``request_digest``), kept for idempotency keys."""
    staged_inputs = [
        source for source, upload in zip(staged, request.uploads, strict=True) if upload.role == "input"
    ]
    staged_references = [
        source for source, upload in zip(staged, request.uploads, strict=True) if upload.role == "reference"
    ]
    cu = settings.content_understanding
    spec: JobSpec = {
        "jobId": job_id,
        "analyzerId": request.analyzer_id,
        "mode": request.mode,
        "apiVersion": request.api_version,
        "inputs": [sources.named(source) for source in staged_inputs + request.inputs],
        "references": [sources.named(source) for source in staged_references + request.references],
        "partialFailure": request.partial_failure,
        "analyzer": analyzer,
        "modelDeployments": dict(cu.model_deployments),
        "polling": polling_policy(settings),
        "origin": origin,
        "batchSize": settings.limits.batch_size,
    }
    if digest is not None:
        spec["requestDigest"] = digest
    return spec
