from __future__ import annotations

import pytest

from core.api_versions import DEFAULT_API_VERSION
from core.errors import SettingsError
from core.settings import Settings
from tests.conftest import example_settings


def settings_with(**overrides: str) -> Settings:
    env = example_settings()
    env.update(overrides)
    return Settings.from_env({k: v for k, v in env.items() if v != "<unset>"})


def test_the_example_settings_are_valid_and_complete() -> None:
    settings = settings_with()
    assert settings.storage.connection_string == "UseDevelopmentStorage=true"
    assert settings.storage.auth_mode == "connectionString"
    assert settings.content_understanding.endpoint == "http://127.0.0.1:7080"
    assert settings.content_understanding.api_version == DEFAULT_API_VERSION
    assert settings.content_understanding.auth_mode == "key"
    assert settings.content_understanding.model_deployments["gpt-4.1"] == "gpt-4.1"
    assert settings.limits.max_files_per_job == 1000
    assert settings.limits.batch_size == 50
    assert (settings.pacing.operations_per_minute, settings.pacing.pages_per_minute) == (3000, 1000)
    assert settings.polling.max_interval_seconds == 15.0
    assert settings.allow_local_urls is True


def test_every_setting_read_is_listed_in_the_example() -> None:
    import re
    from pathlib import Path

    source = Path("core/settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'reader\.\w+\(\s*"([A-Za-z_]+)"', source))
    names -= {"DocumentStorage__clientId"}  # Azure-only, with managed identity
    assert names, "the pattern found no settings"
    assert names <= set(example_settings()), names - set(example_settings())


def test_defaults_apply_when_optional_settings_are_absent() -> None:
    env = {
        "DocumentStorage": "UseDevelopmentStorage=true",
        "CONTENT_UNDERSTANDING_ENDPOINT": "https://x.example",
    }
    settings = Settings.from_env(env)
    assert settings.storage.inputs_container == "inputs"
    assert settings.content_understanding.key is None
    assert settings.content_understanding.auth_mode == "entraId"
    assert settings.content_understanding.api_version == "2025-11-01"
    assert settings.allow_local_urls is False


def test_managed_identity_storage() -> None:
    settings = settings_with(
        DocumentStorage="<unset>",
        DocumentStorage__blobServiceUri="https://acct.blob.core.windows.net",
        DocumentStorage__clientId="00000000-0000-0000-0000-000000000001",
    )
    assert settings.storage.auth_mode == "managedIdentity"
    assert settings.storage.managed_identity_client_id == "00000000-0000-0000-0000-000000000001"


def test_the_key_is_not_in_the_repr() -> None:
    assert "local-emulator-key" not in repr(settings_with())


@pytest.mark.parametrize(
    ("overrides", "setting", "fragment"),
    [
        ({"CONTENT_UNDERSTANDING_ENDPOINT": "not a url"}, "CONTENT_UNDERSTANDING_ENDPOINT", "http(s) URL"),
        ({"CONTENT_UNDERSTANDING_ENDPOINT": "ftp://host"}, "CONTENT_UNDERSTANDING_ENDPOINT", "http(s) URL"),
        ({"CONTENT_UNDERSTANDING_ENDPOINT": "https://h/?k=1"}, "CONTENT_UNDERSTANDING_ENDPOINT", "query"),
        ({"CONTENT_UNDERSTANDING_ENDPOINT": "<unset>"}, "CONTENT_UNDERSTANDING_ENDPOINT", "not set"),
        ({"MAX_FILES_PER_JOB": "twenty"}, "MAX_FILES_PER_JOB", "whole number"),
        ({"MAX_FILES_PER_JOB": "0"}, "MAX_FILES_PER_JOB", "at least 1"),
        ({"POLL_MAX_INTERVAL_SECONDS": "nan"}, "POLL_MAX_INTERVAL_SECONDS", "at least"),
        ({"POLL_MAX_INTERVAL_SECONDS": "0.5"}, "POLL_MAX_INTERVAL_SECONDS", "POLL_INITIAL_INTERVAL_SECONDS"),
        ({"MAX_JOB_BYTES": "10"}, "MAX_JOB_BYTES", "MAX_FILE_BYTES"),
        ({"SAS_TTL_MINUTES": "10"}, "SAS_TTL_MINUTES", "ANALYSIS_DEADLINE_SECONDS"),
        ({"ALLOW_LOCAL_URLS": "maybe"}, "ALLOW_LOCAL_URLS", "true or false"),
        (
            {"CONTENT_UNDERSTANDING_API_VERSION": "2024-06-01-preview"},
            "CONTENT_UNDERSTANDING_API_VERSION",
            "one of",
        ),
        (
            {"CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS": "gpt"},
            "CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS",
            "JSON",
        ),
        (
            {"CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS": "[1]"},
            "CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS",
            "object",
        ),
        ({"RESULTS_CONTAINER": "Results_1"}, "RESULTS_CONTAINER", "container name"),
        ({"RESULTS_CONTAINER": "a--b"}, "RESULTS_CONTAINER", "container name"),
        ({"DocumentStorage": "<unset>"}, "DocumentStorage", "not set"),
        ({"DocumentStorage": "garbage"}, "DocumentStorage", "connection string"),
        (
            {"DocumentStorage": "<unset>", "DocumentStorage__blobServiceUri": "acct.blob"},
            "DocumentStorage__blobServiceUri",
            "http(s) URL",
        ),
    ],
)
def test_a_bad_setting_is_named_in_the_error(overrides: dict[str, str], setting: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_with(**overrides)
    assert caught.value.setting == setting
    assert setting in str(caught.value)
    assert fragment in str(caught.value)
