"""The retention timer: every hour, purge the history of finished instances past the retention.

The age is the ``INSTANCE_HISTORY_RETENTION_DAYS`` setting; ``api/retention.py`` does the work.
The schedule is an NCRONTAB expression (seconds first), in UTC: at minute 17 of every hour, so
each run purges about an hour's worth of instances.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from api.retention import purge_finished_instances
from core.settings import get_settings

bp = df.Blueprint()

PURGE_HISTORY = "purge_history"
SCHEDULE = "0 17 * * * *"


@bp.function_name(PURGE_HISTORY)
@bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def purge_history(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    retention = timedelta(days=get_settings().history_retention_days)
    await purge_finished_instances(client, datetime.now(UTC), retention)
