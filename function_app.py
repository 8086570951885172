"""The Function App: creates the app and registers each module's blueprint. Nothing else.

No I/O and no environment reads happen at import time: settings and clients are created lazily
on first use, so the host can index the functions even when a setting is wrong.
"""

import azure.durable_functions as df
import azure.functions as func

from activities import analysis, batch, storage
from orchestrators import analysis_batch, analysis_job, ensure_analyzer, monitor_operation
from triggers import blob_intake, http_api

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for module in (
    http_api,
    blob_intake,
    analysis_job,
    analysis_batch,
    ensure_analyzer,
    monitor_operation,
    analysis,
    batch,
    storage,
):
    app.register_functions(module.bp)
