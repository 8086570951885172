"""azure.yaml against azd's published JSON schema (vendored in tests/deployment/data/).

The schema refers to a few extension schemas by URL (for hosts such as azure.ai.agent that this
project does not use); they are never fetched: an empty `referencing` registry retrieves nothing,
so a reference to one fails the test instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry

from tests.support.azurite import REPO_ROOT

SCHEMA = Path(__file__).parent / "data" / "azure.yaml.schema.json"


def problems(project: Any) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema, registry=Registry())
    return sorted(
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(project)
    )


def azure_yaml() -> dict[str, Any]:
    project: dict[str, Any] = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text(encoding="utf-8"))
    return project


def test_the_schema_is_azds_v1() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert (
        schema["$id"] == "https://raw.githubusercontent.com/Azure/azure-dev/main/schemas/v1.0/azure.yaml.json"
    )
    first_line = (REPO_ROOT / "azure.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema={schema['$id']}"


def test_azure_yaml_is_valid() -> None:
    assert problems(azure_yaml()) == []


# The schema leaves a service's host and language open (extensions add their own), but it
# closes hooks: their shell is an enum and they allow no other properties.


def test_a_service_without_a_project_fails() -> None:
    project = azure_yaml()
    del project["services"]["api"]["project"]
    assert [problem.split(":")[0] for problem in problems(project)] == ["services/api"]


def test_an_unknown_hook_shell_fails() -> None:
    project = azure_yaml()
    project["hooks"]["postdeploy"]["posix"]["shell"] = "bash"
    assert [problem.split(":")[0] for problem in problems(project)] == ["hooks/postdeploy"]


def test_a_misspelled_hook_property_fails() -> None:
    project = azure_yaml()
    hook = project["hooks"]["postdeploy"]["posix"]
    hook["continueOnErorr"] = hook.pop("continueOnError")
    assert [problem.split(":")[0] for problem in problems(project)] == ["hooks/postdeploy"]


@pytest.mark.parametrize("name", ["CU_Pipeline", "-pipeline", "x"])
def test_an_invalid_project_name_fails(name: str) -> None:
    project = azure_yaml()
    project["name"] = name
    assert any(problem.startswith("name:") for problem in problems(project))
