"""The task hub's backend in Azure: the Durable Task Scheduler by default, Azure Storage by parameter.

`durableBackend` (azd: `AZURE_DURABLE_BACKEND`) chooses. host.json stays the Azure Storage
provider's, what Core Tools runs locally on Azurite; in Azure the app settings override its
`storageProvider` (the host reads `AzureFunctionsJobHost__extensions__durableTask__...` as the
host.json path). Facts: the Durable Task Scheduler docs and Azure-Samples templates
(`storageProvider.type: "azureManaged"`, `connectionStringName`, a connection string
`Endpoint=...;Authentication=ManagedIdentity;ClientID=...`, role Durable Task Data Contributor
0ad04412-c4d5-4796-b79c-f76d14c8d402, extension bundle 4.32.0 or later).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deployment.test_deployment import azure_settings
from tests.support import bicep
from tests.support.azurite import REPO_ROOT

APP = bicep.INFRA / "app"
DTS = APP / "durable-task-scheduler.bicep"
PROVIDER = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__"
DURABLE_TASK_DATA_CONTRIBUTOR = "0ad04412-c4d5-4796-b79c-f76d14c8d402"


def main_modules() -> dict[str, Any]:
    return bicep.section(bicep.MAIN, "modules")


def test_the_scheduler_is_the_default_and_azure_storage_the_alternative() -> None:
    parameter = bicep.section(bicep.MAIN, "parameters")["durableBackend"]
    allowed = next(d["argument"] for d in parameter["decorators"] if d["type"] == "allowed")
    assert allowed == ["DurableTaskScheduler", "AzureStorage"]
    assert parameter["default"] == "DurableTaskScheduler"
    parameters = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["durableBackend"]["value"] == "${AZURE_DURABLE_BACKEND=DurableTaskScheduler}"


def test_the_backend_chooses_the_settings() -> None:
    chosen = bicep.variable(bicep.MAIN, "durableBackendSettings")
    condition = chosen["operator"]
    assert condition["type"] == "conditional"
    operands = condition["operands"]
    assert operands["condition"] == "useDurableTaskScheduler"
    assert (operands["true_value"], operands["false_value"]) == ("schedulerSettings", "azureStorageSettings")
    assert bicep.variable(bicep.MAIN, "useDurableTaskScheduler")["operator"]["operands"] == {
        "operand_1": "durableBackend",
        "operand_2": "DurableTaskScheduler",
    }
    app = bicep.module_config(main_modules()["functionApp"])["params"]["appSettings"]
    assert app["function"]["type"] == "union"
    assert list(app["function"]["parameters"].values()) == ["appSettings", "durableBackendSettings"]


def test_with_the_scheduler_the_host_uses_it_as_the_managed_identity() -> None:
    settings = azure_settings("DurableTaskScheduler")
    assert settings[f"{PROVIDER}type"] == "azureManaged"
    assert settings[f"{PROVIDER}connectionStringName"] == "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
    connection = settings["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"]
    assert connection == (
        "Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identity.outputs.clientId}"
    )
    assert f"{PROVIDER}maxQueuePollingInterval" not in settings  # an Azure Storage provider setting
    # The host's own storage stays: keys, timers' and blob triggers' bookkeeping.
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"


def test_with_azure_storage_nothing_of_the_scheduler_is_set() -> None:
    settings = azure_settings("AzureStorage")
    assert not [name for name in settings if "DURABLE_TASK_SCHEDULER" in name or name.endswith("__type")]
    assert settings[f"{PROVIDER}maxQueuePollingInterval"] == "00:00:10"
    # Its queues and tables live in the app's storage account, which the identity may use.
    roles = bicep.variable(APP / "rbac.bicep", "storageRoles")
    assert {"storageQueueDataContributor", "storageTableDataContributor"} <= set(roles)


@pytest.mark.parametrize("backend", ["DurableTaskScheduler", "AzureStorage"])
def test_both_backends_share_the_task_hub_name(backend: str) -> None:
    settings = azure_settings(backend)
    host = json.loads((REPO_ROOT / "host.json").read_text(encoding="utf-8"))
    assert host["extensions"]["durableTask"]["hubName"] == "%TASKHUB_NAME%"
    assert settings["TASKHUB_NAME"] == "cupipeline"


def test_the_scheduler_is_deployed_only_for_its_backend_with_the_apps_task_hub() -> None:
    module = main_modules()["durableTaskScheduler"]
    assert module["config"]["condition"] == "useDurableTaskScheduler"
    params = bicep.module_config(module)["params"]
    assert bicep.dotted(params["taskHubName"]) == "appSettings.TASKHUB_NAME"
    assert bicep.dotted(params["appPrincipalId"]) == "identity.outputs.principalId"
    resources = bicep.section(DTS, "resources")
    assert resources["scheduler"]["type"] == "Microsoft.DurableTask/schedulers"
    assert resources["scheduler"]["api_version"] == "2025-11-01"
    assert resources["taskHub"]["type"] == "Microsoft.DurableTask/schedulers/taskHubs"
    assert resources["taskHub"]["config"]["name"] == "taskHubName"


def test_the_app_identity_gets_the_data_role_on_the_scheduler_and_nothing_more() -> None:
    assert bicep.variable(DTS, "durableTaskDataContributor") == DURABLE_TASK_DATA_CONTRIBUTOR
    resources = bicep.section(DTS, "resources")
    app = resources["appAccess"]["config"]
    assert app["scope"] == "scheduler"
    assert app["properties"]["principalId"] == "appPrincipalId"
    assert app["properties"]["principalType"] == "ServicePrincipal"
    # The deployer only with grantDeployerRoles (main.bicep passes '' otherwise).
    assert resources["deployerAccess"]["config"]["condition"]
    deployer = bicep.module_config(main_modules()["durableTaskScheduler"])["params"]["deployerPrincipalId"]
    assert deployer["operator"]["type"] == "conditional"
    assert deployer["operator"]["operands"]["condition"] == "grantDeployerRoles"
    assert deployer["operator"]["operands"]["false_value"] == ""


def test_the_outputs_name_the_backend_and_its_dashboard() -> None:
    outputs = bicep.section(bicep.MAIN, "outputs")
    assert {"DURABLE_BACKEND", "DURABLE_TASK_SCHEDULER_NAME", "DURABLE_TASK_SCHEDULER_DASHBOARD_URL"} <= set(
        outputs
    )
