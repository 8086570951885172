"""The models and the region that infra/ deploys Content Understanding with, against published dates.

Dated on purpose: `test_no_default_model_is_past_its_retirement` fails on the day a default model
reaches its published retirement date, so that nobody deploys a model Azure no longer serves.
When it fails, pick the model Content Understanding now recommends, update the defaults in
infra/main.bicep and infra/main.parameters.json, and record its dates below.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any, NamedTuple

import pytest

from tests.support import bicep

APP = bicep.INFRA / "app"


class Lifecycle(NamedTuple):
    # "No new customers" from this day (None: not announced); new deployments then fail.
    deprecation: datetime.date | None
    # Deployments stop working (the earliest date the table gives, "no earlier than" included).
    retirement: datetime.date


# Azure OpenAI model retirement table: MicrosoftDocs/azure-ai-docs,
# articles/ai-foundry/openai/includes/retirement/models.md (commit 31c50ba1, ms.date 2025-12-16),
# published as learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements.
MODEL_LIFECYCLE = {
    ("gpt-5.2", "2025-12-11"): Lifecycle(datetime.date(2026, 12, 12), datetime.date(2027, 5, 12)),
    ("text-embedding-3-large", "1"): Lifecycle(None, datetime.date(2027, 4, 15)),
    # The previous defaults, kept to show what the check says about them.
    ("gpt-4.1", "2025-04-14"): Lifecycle(datetime.date(2026, 4, 14), datetime.date(2026, 10, 14)),
    ("gpt-4.1-mini", "2025-04-14"): Lifecycle(datetime.date(2026, 4, 14), datetime.date(2026, 10, 14)),
}

# Content Understanding's region support page
# (learn.microsoft.com/azure/ai-services/content-understanding/language-region-support), December 2026.
CONTENT_UNDERSTANDING_REGIONS = [
    "australiaeast",
    "eastus",
    "eastus2",
    "northeurope",
    "southcentralus",
    "southeastasia",
    "swedencentral",
    "uksouth",
    "westeurope",
    "westus",
    "westus2",
    "westus3",
]

# What each name Content Understanding resolves is deployed as (deployments are named after models).
MODEL_DEPLOYMENT_NAMES = {
    "'${completionModelName}'": "completionModelName",
    "'${embeddingModelName}'": "embeddingModelName",
    "'prebuilt-analyzer-completion'": "completionModelName",
    "'prebuilt-analyzer-completion-mini'": "completionModelName",
    "'prebuilt-analyzer-embedding'": "embeddingModelName",
}


def main_parameters() -> dict[str, Any]:
    return bicep.section(bicep.MAIN, "parameters")


def default_models() -> list[tuple[str, str]]:
    params = main_parameters()
    return [
        (params["completionModelName"]["default"], params["completionModelVersion"]["default"]),
        (params["embeddingModelName"]["default"], params["embeddingModelVersion"]["default"]),
    ]


def retired(models: list[tuple[str, str]], today: datetime.date) -> list[str]:
    """What is wrong with deploying these models today: unknown, deprecated or retired ones."""
    problems = []
    for name, version in models:
        lifecycle = MODEL_LIFECYCLE.get((name, version))
        if lifecycle is None:
            problems.append(f"{name} {version}: no published dates recorded here; look them up")
        elif today >= lifecycle.retirement:
            problems.append(f"{name} {version}: retired on {lifecycle.retirement}")
    return problems


def allowed(spec: dict[str, Any]) -> list[Any]:
    return next(d["argument"] for d in spec["decorators"] if d["type"] == "allowed")


# --- models ---------------------------------------------------------------------------------------


def test_the_defaults_are_todays_recommendation() -> None:
    # Content Understanding's models page (April 2026) recommends GPT-5.2 with text-embedding-3-large.
    assert default_models() == [("gpt-5.2", "2025-12-11"), ("text-embedding-3-large", "1")]


def test_no_default_model_is_past_its_retirement() -> None:
    assert retired(default_models(), datetime.datetime.now(datetime.UTC).date()) == []


def test_the_retirement_check_can_fail() -> None:
    today = datetime.date(2026, 12, 2)
    assert retired([("gpt-4.1", "2025-04-14")], today) == ["gpt-4.1 2025-04-14: retired on 2026-10-14"]
    assert retired([("gpt-5.2", "2025-12-11")], datetime.date(2027, 5, 12)) == [
        "gpt-5.2 2025-12-11: retired on 2027-05-12"
    ]
    assert retired([("gpt-5.2", "2026-01-01")], today) == [
        "gpt-5.2 2026-01-01: no published dates recorded here; look them up"
    ]


def test_the_parameters_file_defaults_match_the_bicep_defaults() -> None:
    # `${NAME=default}` in main.parameters.json wins over the Bicep default: they must agree.
    mapped = json.loads((bicep.INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    checked = 0
    for name, entry in mapped.items():
        match = re.fullmatch(r"\$\{(\w+)=(.*)\}", str(entry["value"]))
        if not match:
            continue
        checked += 1
        default = main_parameters()[name]["default"]
        expected = str(default).lower() if isinstance(default, bool) else str(default)
        assert match.group(2) == expected, name
    assert checked >= 12


def test_both_models_are_deployed_with_the_chosen_sku() -> None:
    deployments = bicep.variable(bicep.MAIN, "modelDeployments")
    assert [(d["name"], d["model"], d["version"], d["sku"], d["capacity"]) for d in deployments] == [
        (
            "completionModelName",
            "completionModelName",
            "completionModelVersion",
            "modelDeploymentSku",
            "completionModelCapacity",
        ),
        (
            "embeddingModelName",
            "embeddingModelName",
            "embeddingModelVersion",
            "modelDeploymentSku",
            "embeddingModelCapacity",
        ),
    ]
    assert "GlobalStandard" in allowed(main_parameters()["modelDeploymentSku"])


def test_the_prebuilt_analyzer_aliases_are_mapped() -> None:
    # New Content Understanding resources resolve prebuilt analyzers' models through these aliases.
    assert bicep.variable(bicep.MAIN, "derivedModelDeploymentNames") == MODEL_DEPLOYMENT_NAMES
    # The app sends the map with every analysis; the postdeploy hook sets it as the defaults.
    setting = {"function": {"type": "string", "parameters": {"value_to_convert": "modelDeploymentsSetting"}}}
    assert bicep.variable(bicep.MAIN, "appSettings")["CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS"] == setting
    assert bicep.section(bicep.MAIN, "outputs")["CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS"]["value"] == setting


# --- region ---------------------------------------------------------------------------------------


def test_the_ai_services_region_parameter_allows_only_content_understanding_regions() -> None:
    spec = main_parameters()["aiServicesLocation"]
    assert allowed(spec) == ["", *CONTENT_UNDERSTANDING_REGIONS]
    assert spec["default"] == ""


def test_the_account_itself_can_only_be_in_a_content_understanding_region() -> None:
    # Empty aiServicesLocation means the app's region, which must then offer CU: the module's own
    # allowed list makes a deployment elsewhere fail at validation, naming the regions.
    spec = bicep.section(APP / "ai-services.bicep", "parameters")["location"]
    assert allowed(spec) == CONTENT_UNDERSTANDING_REGIONS
    location = bicep.module_config(bicep.section(bicep.MAIN, "modules")["aiServices"])["params"]["location"]
    operands = location["operator"]["operands"]
    assert (operands["true_value"], operands["false_value"]) == ("location", "aiServicesLocation")


@pytest.mark.parametrize("region", CONTENT_UNDERSTANDING_REGIONS)
def test_every_content_understanding_region_also_offers_flex_consumption(region: str) -> None:
    # So an app and its AI Services account can always share a region.
    assert region in allowed(main_parameters()["location"])
