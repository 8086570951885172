"""infra/ against Azure's published resource type definitions (tests/support/azure_types.py).

The checks must be able to fail: the planted-error tests below copy a real module, break one
thing (a misspelled property, a value outside a closed enum, an API version that does not exist,
a string where a bool belongs) and expect exactly that to be reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.vendor_bicep_types import used_resource_types
from tests.support import azure_types, bicep

BICEP_FILES = sorted(bicep.INFRA.rglob("*.bicep"))
APP = bicep.INFRA / "app"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda path: path.name)
def test_every_resource_matches_its_published_type(path: Path) -> None:
    assert azure_types.check_file(path) == []


def test_the_vendored_definitions_are_exactly_the_types_used() -> None:
    # Small on purpose: nothing vendored that infra/ does not use, nothing used that is missing.
    catalog = azure_types.catalog()
    assert sorted(catalog.resources) == used_resource_types()
    assert catalog.source["repository"] == "Azure/bicep-types-az"
    assert len(catalog.source["commit"]) == 40


def test_every_file_declares_resources_the_checker_sees() -> None:
    # Guards against a vacuous pass: the parser must hand the checker the resources.
    declared = sum(len(bicep.section(path, "resources")) for path in BICEP_FILES)
    assert declared >= 30


def planted(tmp_path: Path, module: str, old: str, new: str) -> list[str]:
    source = (APP / module).read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} must occur once in {module}"
    copy = tmp_path / module
    copy.write_text(source.replace(old, new), encoding="utf-8")
    return azure_types.check_file(copy)


def test_a_misspelled_property_fails(tmp_path: Path) -> None:
    problems = planted(tmp_path, "storage.bicep", "allowBlobPublicAccess:", "allowBlobPublicAcess:")
    assert len(problems) == 1
    assert "properties.allowBlobPublicAcess: not a property of" in problems[0]
    assert "allowBlobPublicAccess" in problems[0]  # the message lists the real name


def test_a_misspelled_property_inside_a_for_expression_fails(tmp_path: Path) -> None:
    problems = planted(tmp_path, "storage.bicep", "tenantId: tenant()", "tenantID: tenant()")
    assert problems == [
        "storage.bicep: resource storage (Microsoft.Storage/storageAccounts@2023-05-01): "
        "properties.networkAcls.resourceAccessRules[*].tenantID: not a property of ResourceAccessRule "
        "(known: resourceId, tenantId)"
    ]


def test_a_value_outside_a_closed_enum_fails(tmp_path: Path) -> None:
    # Many Azure enums are open (any string is accepted, as Bicep does); publicAccess is closed.
    problems = planted(tmp_path, "storage.bicep", "publicAccess: 'None'", "publicAccess: 'Private'")
    assert problems == [
        "storage.bicep: resource containers "
        "(Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01): "
        "properties.publicAccess: 'Private' is not one of 'Container', 'Blob', 'None'"
    ]


def test_both_branches_of_a_conditional_are_checked(tmp_path: Path) -> None:
    problems = planted(tmp_path, "storage.bicep", "'Deny' : 'Allow'", "'Deny' : 'Allowed'")
    assert len(problems) == 1
    assert "networkAcls.defaultAction: 'Allowed' is not one of 'Allow', 'Deny'" in problems[0]


def test_an_api_version_that_does_not_exist_fails(tmp_path: Path) -> None:
    problems = planted(
        tmp_path,
        "identity.bicep",
        "userAssignedIdentities@2023-01-31'",
        "userAssignedIdentities@2023-01-32'",
    )
    assert len(problems) == 1
    assert "userAssignedIdentities@2023-01-32): no such resource type or API version" in problems[0]


def test_a_value_of_the_wrong_kind_fails(tmp_path: Path) -> None:
    problems = planted(tmp_path, "storage.bicep", "allowSharedKeyAccess: false", "allowSharedKeyAccess: 'no'")
    assert len(problems) == 1
    assert "properties.allowSharedKeyAccess: 'no' is not a bool" in problems[0]


def test_a_read_only_property_fails(tmp_path: Path) -> None:
    problems = planted(tmp_path, "function-app.bicep", "httpsOnly: true", "httpsOnly: true\n    state: 'On'")
    assert len(problems) == 1
    assert "properties.state: is read-only" in problems[0]


def test_a_missing_required_property_fails(tmp_path: Path) -> None:
    problems = planted(tmp_path, "storage.bicep", "  kind: 'StorageV2'\n", "")
    expected = "(Microsoft.Storage/storageAccounts@2023-05-01): kind: is required"
    assert any(problem.endswith(expected) for problem in problems)


def test_a_name_that_selects_no_variant_fails(tmp_path: Path) -> None:
    problems = planted(tmp_path, "function-app.bicep", "name: 'ftp'", "name: 'ftps'")
    assert any("name: 'ftps' is not one of ftp, scm" in problem for problem in problems)
