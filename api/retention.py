"""Retention of orchestration history: purge finished instances older than the setting.

``purge_finished_instances`` asks the Durable client to purge every instance that is Completed,
Failed or Terminated and was created before ``now - retention``; running, pending and suspended
instances are never touched, whatever their age. It works the same on both backends (the Azure
Storage provider and the Durable Task Scheduler purge through the same client call). The blobs of
old jobs expire by the storage account's lifecycle policy (infra/app/storage.bicep).

The Durable extension requires a lower bound (``createdTimeFrom``), so the window starts at
``EARLIEST``, before any instance of this app existed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df

logger = logging.getLogger(__name__)

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FINISHED = [
    df.OrchestrationRuntimeStatus.Completed,
    df.OrchestrationRuntimeStatus.Failed,
    df.OrchestrationRuntimeStatus.Terminated,
]


async def purge_finished_instances(client: Any, now: datetime, retention: timedelta) -> int:
    """Purge finished instances created before ``now - retention``; returns how many."""
    cutoff = now - retention
    result = await client.purge_instance_history_by(
        created_time_from=EARLIEST, created_time_to=cutoff, runtime_status=FINISHED
    )
    deleted = int(result.instances_deleted)
    logger.info(
        "Purged the history of %d finished instance(s) created before %s", deleted, cutoff.isoformat()
    )
    return deleted
