"""What devhost reads from the app: `host.json` and a `local.settings.json`-style settings file."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.errors import AppLoadError

DEFAULT_HUB_NAME = "TestHubName"  # Core Tools' local default
_SETTING_REFERENCE = re.compile(r"%([^%]+)%")


@dataclass(frozen=True)
class HostConfig:
    hub_name: str
    max_concurrent_activities: int
    max_concurrent_orchestrators: int
    route_prefix: str


def load_host_config(app_dir: Path, environ: Mapping[str, str]) -> HostConfig:
    """Read the parts of host.json devhost honours; `%SETTING%` references resolve from `environ`."""
    path = app_dir / "host.json"
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AppLoadError(f"{path} is not valid JSON: {exc}") from exc
    extensions = data.get("extensions") or {}
    durable = extensions.get("durableTask") or {}
    http = extensions.get("http") or {}
    # Extension default outside Consumption plans: 10 x the processor count, for each.
    default_concurrency = 10 * (os.cpu_count() or 1)
    return HostConfig(
        hub_name=_resolve(str(durable.get("hubName") or DEFAULT_HUB_NAME), environ, "hubName"),
        max_concurrent_activities=_positive(durable, "maxConcurrentActivityFunctions", default_concurrency),
        max_concurrent_orchestrators=_positive(
            durable, "maxConcurrentOrchestratorFunctions", default_concurrency
        ),
        route_prefix=str(http.get("routePrefix", "api")).strip("/"),
    )


def load_settings_file(path: Path) -> dict[str, str]:
    """The `Values` of a local.settings.json file, as strings."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AppLoadError(f"cannot read settings file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise AppLoadError(f"settings file {path} is not valid JSON: {exc}") from exc
    values = data.get("Values") if isinstance(data, dict) else None
    if not isinstance(values, dict):
        raise AppLoadError(f'settings file {path} has no "Values" object')
    return {str(key): "" if value is None else str(value) for key, value in values.items()}


def _resolve(value: str, environ: Mapping[str, str], field: str) -> str:
    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise AppLoadError(f"host.json {field} refers to app setting {name}, which is not set")
        return environ[name]

    return _SETTING_REFERENCE.sub(setting, value)


def _positive(section: Mapping[str, Any], key: str, default: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise AppLoadError(f"host.json durableTask.{key} must be a positive integer, got {value!r}")
    return value
