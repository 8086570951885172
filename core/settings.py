"""App settings: every setting the job reads, typed, validated, read lazily from the environment.

Nothing here runs at import time. ``get_settings()`` reads ``os.environ`` once per process (the
Functions host passes app settings as environment variables) and caches the result;
``Settings.from_env`` is the pure function underneath, which tests call with a plain dict.
A missing or malformed value raises ``SettingsError`` naming the setting.

Every setting is listed, with its local default, in ``local.settings.example.json``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from core.api_versions import (
    AGENTIC_MODE,
    DEFAULT_AGENTIC_API_VERSION,
    DEFAULT_API_VERSION,
    RETIRED_API_VERSIONS,
    known_versions,
    retired_message,
    versions_where,
)
from core.errors import SettingsError
from core.layout import Role

# The storage connection shared by the blob trigger and the code. Locally a connection string;
# in Azure `DocumentStorage__blobServiceUri` (+ `DocumentStorage__clientId`) with managed identity.
DOCUMENT_STORAGE = "DocumentStorage"

# The Functions host refuses request bodies over this (ScriptConstants.DefaultMaxRequestBodySize,
# 100 MiB) unless the app setting below says otherwise (docs/settings.md, "Upload size").
HOST_MAX_REQUEST_BODY_BYTES = 104_857_600
REQUEST_BODY_SIZE_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"

_T = TypeVar("_T")

# Read no more: naming it is a mistake worth a clear message (see _content_understanding).
RETIRED_PRO_MODE_SETTING = "CONTENT_UNDERSTANDING_PRO_MODE_API_VERSION"

# Azure's container naming rules: 3-63 lowercase ASCII letters, digits and single hyphens,
# starting and ending with a letter or digit.
_CONTAINER_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class StorageSettings:
    connection_string: str | None
    blob_service_uri: str | None
    managed_identity_client_id: str | None
    inputs_container: str
    intake_container: str
    staging_container: str
    results_container: str
    references_container: str
    grants_container: str
    analyzers_container: str

    @property
    def auth_mode(self) -> str:
        """``"connectionString"`` (Azurite or an account key) or ``"managedIdentity"``."""
        return "connectionString" if self.connection_string else "managedIdentity"

    def container(self, role: Role) -> str:
        """The configured name of the container that plays ``role`` (see ``core.layout``)."""
        names = {
            Role.INTAKE: self.intake_container,
            Role.REFERENCES: self.references_container,
            Role.STAGING: self.staging_container,
            Role.INPUTS: self.inputs_container,
            Role.RESULTS: self.results_container,
            Role.GRANTS: self.grants_container,
            Role.ANALYZERS: self.analyzers_container,
        }
        return names[role]


@dataclass(frozen=True)
class ContentUnderstandingSettings:
    endpoint: str
    key: str | None = field(repr=False)
    api_version: str
    agentic_api_version: str
    model_deployments: Mapping[str, str]
    request_timeout_seconds: float
    default_analyzer_id: str

    @property
    def auth_mode(self) -> str:
        """``"key"`` when a subscription key is configured, else ``"entraId"``."""
        return "key" if self.key else "entraId"


# A batch's history and payloads grow with its size (docs/performance.md, "Limits").
MAX_BATCH_SIZE = 100


@dataclass(frozen=True)
class JobLimits:
    max_files_per_job: int
    max_file_bytes: int
    max_job_bytes: int
    upload_concurrency: int
    batch_size: int  # documents per batch sub-orchestration of a per-document job


@dataclass(frozen=True)
class PacingSettings:
    """The CU resource's quotas the app paces its calls against (core/pacing.py); 0 turns it off."""

    operations_per_minute: int
    pages_per_minute: int


@dataclass(frozen=True)
class PollingSettings:
    initial_interval_seconds: float
    max_interval_seconds: float
    deadline_seconds: float


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings
    content_understanding: ContentUnderstandingSettings
    limits: JobLimits
    polling: PollingSettings
    pacing: PacingSettings
    sas_ttl_minutes: int
    allow_local_urls: bool
    task_hub_name: str
    # Finished orchestration instances older than this are purged (triggers/retention.py).
    history_retention_days: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = _Reader(env)
        settings = cls(
            storage=_storage(reader),
            content_understanding=_content_understanding(reader),
            limits=JobLimits(
                max_files_per_job=reader.integer("MAX_FILES_PER_JOB", 1000, minimum=1),
                max_file_bytes=reader.integer("MAX_FILE_BYTES", 100 * 1024 * 1024, minimum=1),
                max_job_bytes=reader.integer("MAX_JOB_BYTES", HOST_MAX_REQUEST_BODY_BYTES, minimum=1),
                upload_concurrency=reader.integer("UPLOAD_CONCURRENCY", 4, minimum=1),
                batch_size=reader.integer("JOB_BATCH_SIZE", 50, minimum=1),
            ),
            polling=PollingSettings(
                initial_interval_seconds=reader.number("POLL_INITIAL_INTERVAL_SECONDS", 1.0, minimum=0.1),
                max_interval_seconds=reader.number("POLL_MAX_INTERVAL_SECONDS", 15.0, minimum=0.1),
                deadline_seconds=reader.number("ANALYSIS_DEADLINE_SECONDS", 1800.0, minimum=1.0),
            ),
            # An S0 resource's quotas (Content Understanding service limits).
            pacing=PacingSettings(
                operations_per_minute=reader.integer("CU_OPERATIONS_PER_MINUTE", 3000, minimum=0),
                pages_per_minute=reader.integer("CU_PAGES_PER_MINUTE", 1000, minimum=0),
            ),
            sas_ttl_minutes=reader.integer("SAS_TTL_MINUTES", 120, minimum=5),
            allow_local_urls=reader.boolean("ALLOW_LOCAL_URLS", False),
            task_hub_name=reader.text("TASKHUB_NAME", "cupipeline"),
            history_retention_days=reader.integer("INSTANCE_HISTORY_RETENTION_DAYS", 30, minimum=1),
        )
        if settings.limits.max_job_bytes < settings.limits.max_file_bytes:
            raise SettingsError("MAX_JOB_BYTES", "must be at least MAX_FILE_BYTES")
        # Uploads arrive in one request, which the Functions host refuses (an empty 413, before the
        # app runs) over its body limit: a larger MAX_JOB_BYTES would promise what it cannot deliver.
        body_limit = reader.integer(REQUEST_BODY_SIZE_SETTING, HOST_MAX_REQUEST_BODY_BYTES, minimum=1)
        if settings.limits.max_job_bytes > body_limit:
            raise SettingsError(
                "MAX_JOB_BYTES",
                f"must not exceed the host's request body limit ({body_limit} bytes, "
                f"{REQUEST_BODY_SIZE_SETTING}); send larger jobs as blob or URL inputs",
            )
        if settings.limits.batch_size > MAX_BATCH_SIZE:
            raise SettingsError(
                "JOB_BATCH_SIZE", f"must be at most {MAX_BATCH_SIZE} (a batch's history grows with it)"
            )
        if settings.polling.max_interval_seconds < settings.polling.initial_interval_seconds:
            raise SettingsError("POLL_MAX_INTERVAL_SECONDS", "must be at least POLL_INITIAL_INTERVAL_SECONDS")
        # The SAS must outlive the whole analysis, or CU fails to read inputs late in a long job.
        if settings.sas_ttl_minutes * 60 < settings.polling.deadline_seconds:
            raise SettingsError("SAS_TTL_MINUTES", "must cover ANALYSIS_DEADLINE_SECONDS")
        return settings


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.from_env(os.environ)


def _storage(reader: _Reader) -> StorageSettings:
    connection_string = reader.optional(DOCUMENT_STORAGE)
    blob_service_uri = reader.optional(f"{DOCUMENT_STORAGE}__blobServiceUri")
    if connection_string is None and blob_service_uri is None:
        raise SettingsError(
            DOCUMENT_STORAGE,
            f"is not set: give a connection string, or {DOCUMENT_STORAGE}__blobServiceUri "
            "to use a managed identity",
        )
    if connection_string not in (None, "UseDevelopmentStorage=true") and "=" not in connection_string:
        raise SettingsError(DOCUMENT_STORAGE, "is not a storage connection string (Key=Value;...)")
    if blob_service_uri is not None:
        _check_url(f"{DOCUMENT_STORAGE}__blobServiceUri", blob_service_uri)
    return StorageSettings(
        connection_string=connection_string,
        blob_service_uri=blob_service_uri,
        managed_identity_client_id=reader.optional(f"{DOCUMENT_STORAGE}__clientId"),
        inputs_container=reader.container("INPUTS_CONTAINER", "inputs"),
        intake_container=reader.container("INTAKE_CONTAINER", "intake"),
        staging_container=reader.container("STAGING_CONTAINER", "staging"),
        results_container=reader.container("RESULTS_CONTAINER", "results"),
        references_container=reader.container("REFERENCES_CONTAINER", "references"),
        grants_container=reader.container("GRANTS_CONTAINER", "grants"),
        analyzers_container=reader.container("ANALYZERS_CONTAINER", "analyzers"),
    )


def _content_understanding(reader: _Reader) -> ContentUnderstandingSettings:
    endpoint = reader.optional("CONTENT_UNDERSTANDING_ENDPOINT")
    if endpoint is None:
        raise SettingsError("CONTENT_UNDERSTANDING_ENDPOINT", "is not set")
    _check_url("CONTENT_UNDERSTANDING_ENDPOINT", endpoint)
    if reader.optional(RETIRED_PRO_MODE_SETTING) is not None:
        raise SettingsError(
            RETIRED_PRO_MODE_SETTING,
            "is no longer read: pro mode's API version is retired in Azure, and combined jobs became "
            "agentic jobs; remove it (CONTENT_UNDERSTANDING_AGENTIC_API_VERSION chooses their version)",
        )
    # Any version the registry has a profile for; for agentic jobs, one whose profile has agentic mode.
    api_version = reader.version("CONTENT_UNDERSTANDING_API_VERSION", DEFAULT_API_VERSION, known_versions())
    agentic_version = reader.version(
        "CONTENT_UNDERSTANDING_AGENTIC_API_VERSION",
        DEFAULT_AGENTIC_API_VERSION,
        versions_where(lambda profile: profile.has_mode(AGENTIC_MODE)),
    )
    return ContentUnderstandingSettings(
        endpoint=endpoint.rstrip("/"),
        key=reader.optional("CONTENT_UNDERSTANDING_KEY"),
        api_version=api_version,
        agentic_api_version=agentic_version,
        model_deployments=reader.string_map("CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS"),
        request_timeout_seconds=reader.number("CONTENT_UNDERSTANDING_TIMEOUT_SECONDS", 30.0, minimum=1.0),
        default_analyzer_id=reader.text("DEFAULT_ANALYZER_ID", "prebuilt-document"),
    )


def _check_url(setting: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(setting, f"must be an http(s) URL with a host name, got {value!r}")
    if parts.query or parts.fragment:
        raise SettingsError(setting, "must not carry a query string or fragment")


class _Reader:
    """Reads and converts raw setting values, naming the setting in every error."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def optional(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def _convert(self, name: str, default: _T, convert: Callable[[str], _T], expected: str) -> _T:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            return convert(raw)
        except ValueError:
            raise SettingsError(name, f"must be {expected}, got {raw!r}") from None

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        value = self._convert(name, default, int, "a whole number")
        if value < minimum:
            raise SettingsError(name, f"must be at least {minimum}, got {value}")
        return value

    def number(self, name: str, default: float, *, minimum: float) -> float:
        value = self._convert(name, default, float, "a number")
        if not value >= minimum:  # also rejects NaN
            raise SettingsError(name, f"must be at least {minimum}, got {value}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        def convert(raw: str) -> bool:
            lowered = raw.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError(raw)

        return self._convert(name, default, convert, "true or false")

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name, default)
        if value not in allowed:
            raise SettingsError(name, f"must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def version(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        """A CU API version among ``allowed``; a retired one is refused with what replaced it."""
        value = self.text(name, default)
        retired = RETIRED_API_VERSIONS.get(value)
        if retired is not None:
            raise SettingsError(name, f"names a retired version: {retired_message(retired)}")
        return self.choice(name, default, allowed)

    def container(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not _CONTAINER_NAME.fullmatch(value) or "--" in value:
            raise SettingsError(name, f"is not a valid blob container name: {value!r}")
        return value

    def string_map(self, name: str) -> dict[str, str]:
        raw = self.optional(name)
        if raw is None:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise SettingsError(
                name, 'must be a JSON object such as {"prebuilt-analyzer-completion": "my-deployment"}'
            ) from None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise SettingsError(name, "must be a JSON object of model name to deployment name")
        return value
