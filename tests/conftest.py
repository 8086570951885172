"""Shared fixtures: app settings from local.settings.example.json, and a session-wide Azurite."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from core.settings import get_settings
from tests.support.azurite import REPO_ROOT, Azurite, running_azurite
from tests.support.cu_emulator import cu_emulator  # noqa: F401  (a fixture for every test module)

# Storage fixtures (storage, job_id, files, settings_env) for the storage, inputs and activities tests.
pytest_plugins = ["tests.support.storage_fixtures"]

EXAMPLE_SETTINGS = REPO_ROOT / "local.settings.example.json"


def example_settings() -> dict[str, str]:
    """The committed example settings (never a developer's own local.settings.json)."""
    values: dict[str, str] = json.loads(EXAMPLE_SETTINGS.read_text(encoding="utf-8"))["Values"]
    return values


@pytest.fixture(scope="session", autouse=True)
def app_settings_env() -> Iterator[dict[str, str]]:
    """Put the example settings into the environment for the whole session, then restore it."""
    saved = dict(os.environ)
    os.environ.update(example_settings())
    get_settings.cache_clear()
    yield example_settings()
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def azurite_session() -> Iterator[Azurite]:
    with running_azurite() as azurite:
        yield azurite


@pytest.fixture
def azurite(azurite_session: Azurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[Azurite]:
    """The session's Azurite, with the storage settings pointing at it for this test."""
    monkeypatch.setenv("DocumentStorage", azurite_session.connection_string)
    monkeypatch.setenv("AzureWebJobsStorage", azurite_session.connection_string)
    get_settings.cache_clear()
    yield azurite_session
    get_settings.cache_clear()
