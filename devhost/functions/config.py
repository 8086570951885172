"""What devhost reads from the app: `host.json` and a `local.settings.json`-style settings file.

Besides the durable settings it checks what the real host refuses at start-up: a task hub name
the Azure Storage provider cannot use (`AzureStorageOptions.ValidateHubName`: letters and digits,
starting with a letter, 3 to 45 characters), a malformed `functionTimeout`.
"""

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
# Extension AzureStorageOptions: MinTaskHubNameSize 3, MaxTaskHubNameSize 45, alphanumeric.
_HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,44}")
# host.json functionTimeout when absent: the Flex Consumption plan's default, 30 minutes (the plan
# this app deploys to; Consumption's is 5). "-1" means unbounded (Premium, Dedicated, Flex).
DEFAULT_FUNCTION_TIMEOUT_SECONDS = 30 * 60.0
_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)$")


@dataclass(frozen=True)
class HostConfig:
    hub_name: str
    max_concurrent_activities: int
    max_concurrent_orchestrators: int
    route_prefix: str
    function_timeout: float | None = DEFAULT_FUNCTION_TIMEOUT_SECONDS  # seconds; None: unbounded


def load_host_config(app_dir: Path, environ: Mapping[str, str]) -> HostConfig:
    """Read the parts of host.json devhost honours; `%SETTING%` references resolve from `environ`."""
    path = app_dir / "host.json"
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AppLoadError(f"{path} is not valid JSON: {exc}") from exc
    _apply_overrides(data, environ)
    extensions = data.get("extensions") or {}
    durable = extensions.get("durableTask") or {}
    http = extensions.get("http") or {}
    # Extension default outside Consumption plans: 10 x the processor count, for each.
    default_concurrency = 10 * (os.cpu_count() or 1)
    hub_name = _resolve(str(durable.get("hubName") or DEFAULT_HUB_NAME), environ, "hubName")
    if not _HUB_NAME.fullmatch(hub_name):
        # The extension's own words (AzureStorageOptions.GetTaskHubErrorString); the host does not start.
        raise AppLoadError(
            f"Task hub name '{hub_name}' should contain only alphanumeric characters, start with a letter, "
            "and have length between 3 and 45."
        )
    return HostConfig(
        hub_name=hub_name,
        max_concurrent_activities=_positive(durable, "maxConcurrentActivityFunctions", default_concurrency),
        max_concurrent_orchestrators=_positive(
            durable, "maxConcurrentOrchestratorFunctions", default_concurrency
        ),
        route_prefix=str(http.get("routePrefix", "api")).strip("/"),
        function_timeout=_function_timeout(data.get("functionTimeout")),
    )


# App settings override host.json values: AzureFunctionsJobHost__extensions__durableTask__hubName
# sets extensions.durableTask.hubName (the host's configuration provider, "__" as the separator).
_OVERRIDE_PREFIX = "AzureFunctionsJobHost__"


def _apply_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(_OVERRIDE_PREFIX):
            continue
        *parents, leaf = name[len(_OVERRIDE_PREFIX) :].split("__")
        section = data
        for key in parents:
            child = section.get(key)
            if not isinstance(child, dict):
                child = section[key] = {}
            section = child
        section[leaf] = int(value) if value.strip().lstrip("-").isdigit() else value


def _function_timeout(value: Any) -> float | None:
    """host.json `functionTimeout` ("hh:mm:ss" or "d.hh:mm:ss", a .NET TimeSpan; "-1": unbounded)."""
    if value is None:
        return DEFAULT_FUNCTION_TIMEOUT_SECONDS
    text = str(value).strip()
    if text == "-1":
        return None
    match = _TIMESPAN.match(text)
    if match is None:
        raise AppLoadError(f"host.json functionTimeout must be a TimeSpan like 00:10:00, got {value!r}")
    seconds = (
        int(match["days"] or 0) * 86400 + int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])
    )
    if seconds < 1:  # ScriptJobHostOptionsSetup.MinFunctionTimeout
        raise AppLoadError(f"host.json functionTimeout must be at least 00:00:01, got {value!r}")
    return seconds


def format_timespan(seconds: float) -> str:
    """Seconds as .NET prints a TimeSpan ("00:10:00"), as in the host's timeout message."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}.{text}" if days else text


# Functions host: Kestrel's MaxRequestBodySize = ScriptConstants.DefaultMaxRequestBodySize
# (104,857,600 bytes, WebHost Program.cs), changed by this app setting (HttpRequestBodySizeMiddleware).
DEFAULT_MAX_REQUEST_BODY_BYTES = 104_857_600
REQUEST_BODY_SIZE_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
# The Azure load balancer's idle timeout: an HTTP-triggered function must answer within 230 s,
# whatever functionTimeout says (Functions docs, "Function app timeout duration").
HTTP_RESPONSE_LIMIT_SECONDS = 230.0


def request_body_limit(environ: Mapping[str, str]) -> int:
    """The host's request body limit: the app setting if it parses as an integer, else 100 MiB."""
    raw = environ.get(REQUEST_BODY_SIZE_SETTING, "").strip()
    try:
        return int(raw)  # the middleware's long.TryParse
    except ValueError:
        return DEFAULT_MAX_REQUEST_BODY_BYTES


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
