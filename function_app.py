"""The Function App: sets up telemetry, creates the app and registers each module's blueprint.

No I/O happens at import time, and the only environment read is telemetry's: with
``APPLICATIONINSIGHTS_CONNECTION_STRING`` set, ``configure_telemetry`` hands the exporters to
OpenTelemetry before the first invocation (without it, nothing). Settings and clients are created
lazily on first use, so the host can index the functions even when a setting is wrong.
"""

import azure.durable_functions as df
import azure.functions as func

from activities import analysis, batch, storage
from orchestrators import agentic_job, analysis_batch, analysis_job, ensure_analyzer, monitor_operation
from telemetry.setup import configure_telemetry
from triggers import blob_intake, http_api, retention

configure_telemetry()

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for module in (
    http_api,
    blob_intake,
    retention,
    analysis_job,
    analysis_batch,
    agentic_job,
    ensure_analyzer,
    monitor_operation,
    analysis,
    batch,
    storage,
):
    app.register_functions(module.bp)
