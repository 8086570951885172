"""docs/operations.md names only settings, azd values and outputs that exist.

Every `UPPER_SNAKE` name (and every `AzureFunctionsJobHost__...`-style host setting) in backticks
must be an app setting (local example, Azure, or read by the app), an azd environment value that
infra/main.parameters.json maps, or an output of infra/main.bicep.
"""

from __future__ import annotations

import re

from tests.conftest import example_settings
from tests.deployment.test_deployment import azure_settings, settings_read_by_the_app
from tests.support import bicep
from tests.support.azurite import REPO_ROOT

DOC = REPO_ROOT / "docs" / "operations.md"
_NAME = re.compile(
    r"`((?:[A-Z][A-Z0-9]*_)+[A-Z0-9]+|(?:AzureFunctionsJobHost|AzureWebJobsStorage|DocumentStorage)__\w+)`"
)


def names_in_the_doc() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    return set(_NAME.findall(text))


def known_names() -> set[str]:
    parameters = (bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8")
    azd_values = set(re.findall(r"\$\{([A-Z_]+)", parameters))
    outputs = set(bicep.section(bicep.MAIN, "outputs"))
    return set(example_settings()) | set(azure_settings()) | settings_read_by_the_app() | azd_values | outputs


def test_the_doc_names_settings() -> None:
    names = names_in_the_doc()
    assert {
        "INSTANCE_HISTORY_RETENTION_DAYS",
        "AZURE_DURABLE_BACKEND",
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
    } <= names
    assert len(names) >= 25


def test_every_setting_the_doc_names_exists() -> None:
    unknown = names_in_the_doc() - known_names()
    assert not unknown, f"docs/operations.md names settings that do not exist: {sorted(unknown)}"


def test_a_made_up_setting_would_be_caught() -> None:
    assert "MAX_FILES_PER_JOBS" not in known_names()
    assert _NAME.findall("set `MAX_FILES_PER_JOBS` and `AzureWebJobsStorage__x`") == [
        "MAX_FILES_PER_JOBS",
        "AzureWebJobsStorage__x",
    ]
