"""infra/: the Bicep files parse, fit together, and hold the properties the design depends on.

This is not the Bicep compiler (see tests/support/bicep.py): it checks syntax, the wiring between
main.bicep, its modules and main.parameters.json, and the security-relevant values, which are
the mistakes that otherwise surface only during `azd provision`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import example_settings
from tests.support import bicep

BICEP_FILES = sorted(bicep.INFRA.rglob("*.bicep"))
APP = bicep.INFRA / "app"

# Built-in role ids (the same in every tenant) and why the app needs each.
EXPECTED_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "db58b8e5-c6ad-4a2a-8342-4190687cbf4a": "Storage Blob Delegator (user-delegation SAS)",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "a97b65f3-24c7-4388-baec-2e87135dc908": "Cognitive Services User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}


def modules() -> dict[str, dict[str, Any]]:
    return bicep.section(bicep.MAIN, "modules")


def test_there_are_bicep_files() -> None:
    assert bicep.MAIN in BICEP_FILES
    assert len(BICEP_FILES) >= 7


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: path.name)
def test_every_bicep_file_parses(path: Path) -> None:
    assert bicep.parse(path)


def test_the_deployment_is_subscription_scoped() -> None:
    assert bicep.parse(bicep.MAIN)["globals"]["scope"]["value"] == "subscription"


@pytest.mark.parametrize("name", sorted(modules()))
def test_each_module_gets_exactly_the_parameters_it_declares(name: str) -> None:
    module = modules()[name]
    path = bicep.MAIN.parent / module["detail"]["path"]
    assert path.is_file(), path
    declared = bicep.section(path, "parameters")
    passed = set(bicep.module_config(module)["params"])
    required = {param for param, spec in declared.items() if spec["default"] is None}
    assert passed <= set(declared), f"{name}: unknown parameters {passed - set(declared)}"
    assert required <= passed, f"{name}: missing parameters {required - passed}"


def test_the_parameters_file_maps_the_azd_environment() -> None:
    parameters = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    declared = bicep.section(bicep.MAIN, "parameters")
    assert set(parameters) <= set(declared), set(parameters) - set(declared)
    assert {param for param, spec in declared.items() if spec["default"] is None} <= set(parameters)
    assert parameters["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert parameters["location"]["value"] == "${AZURE_LOCATION}"
    assert parameters["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"


def test_resource_names_come_from_the_abbreviations_file() -> None:
    abbreviations = json.loads((bicep.INFRA / "abbreviations.json").read_text(encoding="utf-8"))
    used = set(re.findall(r"abbrs\.(\w+)", bicep.MAIN.read_text(encoding="utf-8")))
    assert used
    assert used <= set(abbreviations), used - set(abbreviations)


def test_storage_is_identity_only_private_and_tls12() -> None:
    storage = bicep.resource_config(APP / "storage.bicep", "storage")["properties"]
    assert storage["allowSharedKeyAccess"] is False
    assert storage["allowBlobPublicAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["supportsHttpsTrafficOnly"] is True
    resources = bicep.section(APP / "storage.bicep", "resources")
    services = {spec["type"] for spec in resources.values()}
    # Durable Functions needs queues and tables besides blobs.
    assert {
        "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts/queueServices",
        "Microsoft.Storage/storageAccounts/tableServices",
    } <= services


def test_every_container_the_app_uses_is_created() -> None:
    created = set(bicep.variable(bicep.MAIN, "containers").values())
    configured = {value for name, value in example_settings().items() if name.endswith("_CONTAINER")}
    assert configured == created
    # The deployment package container comes on top of the app's own.
    params = bicep.module_config(modules()["storage"])["params"]
    names = [bicep.dotted(name) for name in params["containerNames"]]
    assert names == [
        "deploymentContainerName",
        "deadLetterContainerName",
        *(f"containers.{key}" for key in bicep.variable(bicep.MAIN, "containers")),
    ]


def lifecycle_rules() -> tuple[list[dict[str, Any]], str]:
    """The lifecycle policy's fixed rules, and the variable that adds the retention rules."""
    rules = bicep.resource_config(APP / "storage.bicep", "lifecycle")["properties"]["policy"]["rules"]
    call = rules["function"]
    assert call["type"] == "concat"
    fixed, added = call["parameters"]["arg_1"], call["parameters"]["arg_2"]
    return fixed, added


def test_results_and_ingested_inputs_expire_after_the_chosen_ages() -> None:
    added = lifecycle_rules()[1]
    assert added == "retentionPolicyRules"
    loop = bicep.variable(APP / "storage.bicep", added)
    assert loop["loop_type"]["detail"] == {"item_name": "rule", "array_name": "retentionRules"}
    rule = loop["config"]
    assert rule["enabled"] is True
    assert rule["definition"]["filters"]["blobTypes"] == ["blockBlob"]
    assert bicep.dotted(rule["definition"]["filters"]["prefixMatch"][0]) == "rule.prefix"
    delete = rule["definition"]["actions"]["baseBlob"]["delete"]
    assert bicep.dotted(delete["daysAfterModificationGreaterThan"]) == "rule.days"
    # main.bicep: results and inputs, each after its own azd-chosen age.
    chosen = bicep.module_config(modules()["storage"])["params"]["retentionRules"]
    assert {(r["prefix"], r["days"]) for r in chosen} == {
        ("${containers.results}/", "resultsRetentionDays"),
        ("${containers.inputs}/", "inputsRetentionDays"),
    }
    parameters = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert parameters["resultsRetentionDays"]["value"] == "${AZURE_RESULTS_RETENTION_DAYS=30}"
    assert parameters["inputsRetentionDays"]["value"] == "${AZURE_INPUTS_RETENTION_DAYS=7}"


def test_staged_uploads_and_grants_expire_after_a_day() -> None:
    rule = lifecycle_rules()[0][0]
    assert rule["enabled"] is True
    assert rule["definition"]["filters"]["prefixMatch"] == "shortLivedPrefixes"
    assert rule["definition"]["actions"]["baseBlob"]["delete"] == {"daysAfterModificationGreaterThan": 1}
    prefixes = bicep.module_config(modules()["storage"])["params"]["shortLivedPrefixes"]
    assert prefixes == ["${containers.staging}/", "${containers.grants}/"]


def test_the_function_app_is_python_311_on_flex_consumption() -> None:
    path = APP / "function-app.bicep"
    assert bicep.resource_config(path, "plan")["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    app = bicep.resource_config(path, "app")
    config = app["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["scaleAndConcurrency"]["alwaysReady"] == [
        {"name": "durable", "instanceCount": "durableAlwaysReadyInstances"}
    ]
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert app["identity"]["type"] == "UserAssigned"
    assert app["properties"]["httpsOnly"] is True
    params = bicep.module_config(modules()["functionApp"])["params"]
    assert params["instanceMemoryMB"] == 2048
    assert params["maximumInstanceCount"] == "maximumInstanceCount"
    # One always-ready instance polls the Durable queues; zone redundancy needs two per group.
    assert params["durableAlwaysReadyInstances"] == {
        "operator": {
            "type": "conditional",
            "operands": {"condition": "zoneRedundant", "true_value": 2, "false_value": 1},
        }
    }


@pytest.mark.parametrize("path", [bicep.MAIN, APP / "function-app.bicep"], ids=lambda path: path.name)
def test_the_instance_limit_can_be_as_low_as_flex_allows(path: Path) -> None:
    # Flex Consumption accepts maximumInstanceCount from 1 (the floor was 40 until March 2026).
    spec = bicep.section(path, "parameters")["maximumInstanceCount"]
    bounds = {d["type"]: d["argument"] for d in spec["decorators"] if d["type"] in ("min_value", "max_value")}
    assert bounds == {"min_value": 1, "max_value": 1000}
    assert spec["default"] == 100


def test_monitoring_and_ai_services_accept_only_entra_id() -> None:
    insights = bicep.resource_config(APP / "monitoring.bicep", "appInsights")
    assert insights["properties"]["DisableLocalAuth"] is True
    account = bicep.resource_config(APP / "ai-services.bicep", "account")
    assert account["kind"] == "AIServices"
    assert account["properties"]["disableLocalAuth"] is True
    assert account["properties"]["customSubDomainName"] == "name"  # required for Entra ID tokens
    settings = bicep.variable(bicep.MAIN, "appSettings")
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identity.outputs.clientId};Authorization=AAD"
    )


def test_ai_services_are_optional() -> None:
    config = modules()["aiServices"]["config"]
    assert config["condition"] == "createAiServices"
    assert bicep.section(bicep.MAIN, "parameters")["existingAiServicesEndpoint"]["default"] == ""


def test_the_identity_gets_exactly_the_roles_it_needs() -> None:
    source = (APP / "rbac.bicep").read_text(encoding="utf-8")
    granted = set(re.findall(r"'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'", source))
    assert granted == set(EXPECTED_ROLES)
    app_roles = bicep.module_config(modules()["appRoles"])["params"]
    assert bicep.dotted(app_roles["principalId"]) == "identity.outputs.principalId"
    assert app_roles["principalType"] == "ServicePrincipal"
    # The deployer gets the same roles only when asked for (opt-in) and azd knows who they are.
    deployer = modules()["deployerRoles"]["config"]
    assert bicep.module_config(modules()["deployerRoles"])["params"]["principalId"] == "principalId"
    condition = deployer["condition"]["operator"]
    assert condition["type"] == "and"
    assert condition["operands"]["operand_1"] == "grantDeployerRoles"
    assert condition["operands"]["operand_2"]["operator"]["operands"]["bool_value"]["function"] == {
        "type": "empty",
        "parameters": {"item_to_test": "principalId"},
    }
    grant = bicep.section(bicep.MAIN, "parameters")["grantDeployerRoles"]
    assert (grant["type"], grant["default"]) == ("bool", False)


def test_the_outputs_the_postdeploy_hooks_read_exist() -> None:
    outputs = set(bicep.section(bicep.MAIN, "outputs"))
    for script in ("postdeploy.sh", "postdeploy.ps1"):
        source = (bicep.INFRA.parent / "scripts" / script).read_text(encoding="utf-8")
        read = set(re.findall(r"(?:value |Get-AzdValue ')(\w+)", source))
        assert len(read) == 10, (script, sorted(read))
        assert read <= outputs, (script, read - outputs)
