"""The health report behind ``GET /api/health``: version and which dependencies are configured.

It says *how* each dependency is configured (never a secret, endpoint key or connection string),
so an operator can tell a missing setting from a down service at a glance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.api_versions import MODEL_ALIASES
from core.errors import SettingsError
from core.settings import Settings
from core.version import APP_VERSION


def health_report(env: Mapping[str, str]) -> tuple[bool, dict[str, Any]]:
    """Return ``(healthy, report)``; unhealthy when a setting is missing or malformed."""
    try:
        settings = Settings.from_env(env)
    except SettingsError as error:
        return False, {
            "status": "unhealthy",
            "version": APP_VERSION,
            "error": {"code": error.code, "setting": error.setting, "message": error.message},
        }
    cu = settings.content_understanding
    return True, {
        "status": "healthy",
        "version": APP_VERSION,
        "dependencies": {
            "durableStorage": {"configured": _durable_storage_configured(env)},
            "documentStorage": {"configured": True, "auth": settings.storage.auth_mode},
            "contentUnderstanding": {
                "configured": True,
                "auth": cu.auth_mode,
                "apiVersion": cu.api_version,
                "agenticApiVersion": cu.agentic_api_version,
                "modelDeployments": sorted(cu.model_deployments),
                # Prebuilt analyzers (and analyzers built on them) name these aliases; one without
                # a deployment here needs one in the resource's defaults (PATCH /defaults).
                "unmappedModelAliases": [
                    alias for alias in MODEL_ALIASES if alias not in cu.model_deployments
                ],
            },
        },
    }


def _durable_storage_configured(env: Mapping[str, str]) -> bool:
    # The Durable extension's task hub lives in AzureWebJobsStorage (a connection string locally,
    # AzureWebJobsStorage__* service URIs with a managed identity in Azure).
    return bool(env.get("AzureWebJobsStorage")) or any(key.startswith("AzureWebJobsStorage__") for key in env)
