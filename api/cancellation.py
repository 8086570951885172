"""``DELETE /api/analyses/{id}``: ask a running job to stop (the API side of core/cancellation.py).

Not ``terminate``: in Azure a terminated orchestration's queued activities still run (a CU
analysis nobody monitors, a grant blob written after the clean-up) and its sub-orchestrations go
on polling. Instead the marker is written first (so that every step starting from now refuses),
then the job and its running sub-orchestrations (ids ``{jobId}:...``) get the cancel event; the
job drains, cleans up and ends with status ``canceled``.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import azure.durable_functions as df

from core.cancellation import CANCEL_EVENT
from storage.cancellation import request_cancel

logger = logging.getLogger(__name__)

_RUNNING = [df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending]


async def cancel_job(job_id: str, client: Any, reason: str = "Canceled by the user") -> int:
    """Mark the job canceled and tell it and its children; returns how many instances were told."""
    await request_cancel(job_id)
    await client.raise_event(job_id, CANCEL_EVENT, {"reason": reason})
    told = 1
    children = await client.get_status_by(runtime_status=_RUNNING, instance_id_prefix=f"{job_id}:")
    for child in children:
        # A child that ended meanwhile answers 410; the marker stops it at its next step anyway.
        with contextlib.suppress(Exception):
            await client.raise_event(child.instance_id, CANCEL_EVENT, {"reason": reason})
            told += 1
    logger.info("Job %s: cancel requested (%d instance(s) told)", job_id, told)
    return told
