"""Blob intake: a document dropped into the intake container starts a job; so does a manifest.

* ``intake/<path>``: a per-document job on that blob with the default analyzer.
* ``intake/<path>.job.json``: a job as described by the manifest (the JSON fields of
  ``POST /api/analyses``: ``analyzerId``, ``mode``, ``inputs``, ``references``, ``partialFailure``).
* Blobs under a folder whose name starts with ``_`` (``intake/_batch/a.pdf``) start nothing, so a
  manifest can refer to them without each also starting a job of its own.

Event Grid delivers at least once, so the instance id is a hash of container, name and ETag, and
a delivery whose instance already exists starts nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from api import intake
from core.settings import DOCUMENT_STORAGE
from core.telemetry_fields import job_started_record

bp = df.Blueprint()
logger = logging.getLogger(__name__)


@bp.function_name("blob_intake")
@bp.blob_trigger(
    arg_name="blob",
    path="%INTAKE_CONTAINER%/{name}",
    connection=DOCUMENT_STORAGE,
    source=func.BlobSource.EVENT_GRID,
)
@bp.durable_client_input(client_name="client")
async def blob_intake(blob: func.InputStream, client: df.DurableOrchestrationClient) -> None:
    await start_from_blob(blob, client)


async def start_from_blob(blob: func.InputStream, client: Any) -> str | None:
    """Start the blob's job unless it is ignored, invalid, or already started; return its id."""
    name = blob.name or ""
    plan = await intake.plan_job(name, read_manifest=blob.read)
    if plan is None:
        return None
    existing = await client.get_status(plan.job_id)
    if existing:
        logger.info("Blob %s was delivered again; job %s already exists", name, plan.job_id)
        return plan.job_id
    try:
        await client.start_new(plan.orchestrator, plan.job_id, plan.spec)
    except Exception:
        if await client.get_status(plan.job_id):
            return plan.job_id  # a concurrent duplicate delivery started it first
        raise
    logger.info(
        "Blob %s started job %s", name, plan.job_id,
        extra=job_started_record(
            plan.job_id, trigger="blob", mode=plan.spec["mode"], inputs=len(plan.spec["inputs"])
        ),
    )  # fmt: skip
    return plan.job_id
