"""What a blob dropped into the intake container should start (see triggers/blob_intake.py)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from azure.core.exceptions import ResourceNotFoundError

from api.job_request import JobRequest, parse_json_object, validate_fields
from api.submission import build_job_spec, check_sources_available, orchestrator_for, resolve_analyzer
from core.errors import InputError, PermanentError
from core.jobs import JobSpec
from core.redact import shorten
from core.settings import get_settings
from inputs.sources.blob import parse_blob_reference
from storage.client import get_blob_service_client

logger = logging.getLogger(__name__)

MANIFEST_SUFFIX = ".job.json"


@dataclass(frozen=True)
class IntakePlan:
    job_id: str
    spec: JobSpec

    @property
    def orchestrator(self) -> str:
        """The orchestrator that runs this job (a manifest may ask for an agentic job)."""
        return orchestrator_for(self.spec)


def intake_job_id(container: str, path: str, etag: str) -> str:
    """One id per blob version: a repeated delivery of the same version maps to the same job."""
    digest = hashlib.sha256(f"{container}/{path}\n{etag}".encode()).hexdigest()
    return f"intake-{digest[:32]}"


def is_ignored(path: str) -> bool:
    """Blobs in a folder named ``_...`` are material for manifests, not jobs of their own."""
    return any(segment.startswith("_") for segment in path.split("/")[:-1])


async def plan_job(blob_name: str, *, read_manifest: Callable[[], bytes]) -> IntakePlan | None:
    """The job a new intake blob starts, or None (ignored, gone, or an invalid manifest: logged)."""
    settings = get_settings()
    try:
        # The trigger's name, parsed as a user's reference is: a blob name with dot segments or
        # escapes is not followed anywhere (some layer would normalise it out of the container).
        reference = parse_blob_reference(blob_name, (settings.storage.intake_container,))
    except InputError as error:
        logger.error("Intake blob %s starts no job: %s", shorten(repr(blob_name), 300), error)
        return None
    container, path = reference.container, reference.name
    if is_ignored(path):
        return None
    try:
        properties = await get_blob_service_client().get_blob_client(container, path).get_blob_properties()
    except ResourceNotFoundError:
        logger.warning("Intake blob %s is gone; nothing to start", blob_name)
        return None
    job_id = intake_job_id(container, path, str(properties.etag))
    try:
        if path.endswith(MANIFEST_SUFFIX):
            request = _manifest_request(read_manifest(), blob_name)
        else:
            request = validate_fields({"inputs": [{"blob": blob_name}]}, settings)
        analyzer = await resolve_analyzer(request, settings)
        await check_sources_available(request)
    except PermanentError as error:
        # Refused once and logged: the trigger's retries could not make a bad manifest good.
        logger.error("Intake blob %s starts no job: %s", blob_name, error)
        return None
    spec = build_job_spec(job_id, request, analyzer, [], settings, origin=f"blob:{blob_name}")
    return IntakePlan(job_id=job_id, spec=spec)


def _manifest_request(raw: bytes, blob_name: str) -> JobRequest:
    settings = get_settings()
    fields = parse_json_object(raw, f"Manifest {blob_name}")
    fields.pop("idempotencyKey", None)  # the blob version is the idempotency key here
    return validate_fields(fields, settings)
