"""Telemetry setup: Application Insights in Azure, nothing at all without a connection string.

``configure_telemetry()`` is called once from ``function_app.py``. Without
``APPLICATIONINSIGHTS_CONNECTION_STRING`` (locally, in tests) it returns ``False`` and changes
nothing: the OpenTelemetry API stays a no-op and nothing leaves the machine. With it, it calls
``azure.monitor.opentelemetry.configure_azure_monitor`` with:

- the credential named by ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``
  (``Authorization=AAD;ClientId=<user-assigned identity>``), since the Application Insights
  resource accepts Microsoft Entra ID authenticated telemetry only;
- the job-context processors (``telemetry.processors``) on spans and log records;
- the distro's automatic instrumentations switched off: the app's spans come from its own edges
  (activities, the CU client) and from the Azure SDK's tracing, which ``trace_azure_sdk_calls``
  switches on here and in tests alike. HTTP client instrumentation would record the full URLs of
  URL inputs, whose query strings may carry credentials.

The Functions host side (``host.json`` ``telemetryMode: OpenTelemetry``, app setting
``PYTHON_ENABLE_OPENTELEMETRY=true`` so that the Python worker makes each invocation's trace
context current) is described in docs/operations.md. The worker's other switch,
``PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY``, would call ``configure_azure_monitor`` a second
time and must stay off (Azure/azure-functions-python-worker#1621: "either turn the appsetting on
OR use configure_azure_monitor() in their code").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import TracerProvider

from telemetry.processors import JobContextLogProcessor, JobContextSpanProcessor

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION_STRING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"

# The distro's instrumentations, all off (see the module docstring).
_DISABLED_INSTRUMENTATIONS = (
    "azure_sdk",
    "django",
    "fastapi",
    "flask",
    "httpx",
    "psycopg2",
    "requests",
    "urllib",
    "urllib3",
)

logger = logging.getLogger(__name__)


def configure_telemetry(environ: Mapping[str, str] | None = None) -> bool:
    """Send telemetry to Application Insights if a connection string is set; ``True`` if it did.

    Never raises: telemetry must not keep the app from starting.
    """
    env = os.environ if environ is None else environ
    connection_string = env.get(CONNECTION_STRING, "").strip()
    if not connection_string:
        return False
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor

        options: dict[str, Any] = {
            "connection_string": connection_string,
            "logger_name": "",  # the root logger: every module's records
            "instrumentation_options": {name: {"enabled": False} for name in _DISABLED_INSTRUMENTATIONS},
            "span_processors": [JobContextSpanProcessor()],
            "log_record_processors": [JobContextLogProcessor()],
        }
        credential = credential_from(env.get(AUTHENTICATION_STRING, ""))
        if credential is not None:
            options["credential"] = credential
        configure_azure_monitor(**options)
        trace_azure_sdk_calls()
        # The Azure SDK logs every request at INFO; its warnings are what an operator needs.
        logging.getLogger("azure").setLevel(logging.WARNING)
    except Exception:
        logger.exception("Telemetry could not be configured; the app runs without it")
        return False
    return True


def credential_from(authentication_string: str) -> Any:
    """The managed identity credential ``Authorization=AAD[;ClientId=...]`` asks for, else ``None``."""
    parts = dict(part.split("=", 1) for part in authentication_string.split(";") if "=" in part)
    fields = {name.strip().lower(): value.strip() for name, value in parts.items()}
    if fields.get("authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    client_id = fields.get("clientid")
    return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()


def trace_azure_sdk_calls() -> None:
    """A span per Azure SDK call (storage among them) through ``azure-core``'s tracing policy.

    Its spans record the method, a sanitised URL (query parameters outside the SDK's allow list
    replaced by ``REDACTED``), the server and the status code.
    """
    from azure.core.settings import settings
    from azure.core.tracing.ext.opentelemetry_span import OpenTelemetrySpan

    settings.tracing_implementation = OpenTelemetrySpan


def install(tracer_provider: TracerProvider, logger_provider: LoggerProvider | None = None) -> None:
    """Put the job-context processors on providers built elsewhere (tests, other exporters)."""
    tracer_provider.add_span_processor(JobContextSpanProcessor())
    if logger_provider is not None:
        logger_provider.add_log_record_processor(JobContextLogProcessor())
    trace_azure_sdk_calls()
