"""Task hub names: letters and digits, starting with a letter, 3 to 45 characters; else the host
does not start. Extension src/WebJobs.Extensions.DurableTask/Options/AzureStorageOptions.cs
(MaxTaskHubNameSize, ValidateHubName, GetTaskHubErrorString).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost import AppLoadError, DevHost
from tests.devhost.conftest import APP_DIR, app_settings


@pytest.mark.parametrize("hub", ["ab", "h" * 46, "has-dash", "9starts"])
async def test_names_the_provider_refuses_stop_the_host(tmp_path: Path, hub: str) -> None:
    host = DevHost(APP_DIR, settings=app_settings(tmp_path, DEVHOST_TEST_HUB=hub), state_dir=tmp_path)
    with pytest.raises(AppLoadError, match="should contain only alphanumeric characters"):
        await host.start()


async def test_45_characters_is_fine(tmp_path: Path) -> None:
    settings = app_settings(tmp_path, DEVHOST_TEST_HUB="h" * 45)
    async with DevHost(APP_DIR, settings=settings, state_dir=tmp_path, blob_poll_interval=None) as host:
        assert host.endpoints.binding_json({})  # started
