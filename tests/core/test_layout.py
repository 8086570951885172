"""The storage layout: every blob path in one pure module, and every container role configured."""

from __future__ import annotations

import hashlib
import json

import pytest

from core import layout
from core.errors import InputError
from core.layout import BlobPath, Role
from core.settings import Settings
from tests.conftest import example_settings


def test_every_role_resolves_to_its_configured_container() -> None:
    storage = Settings.from_env({**example_settings(), "RESULTS_CONTAINER": "job-results"}).storage
    names = {role: storage.container(role) for role in Role}
    assert names[Role.RESULTS] == "job-results"
    assert names[Role.INPUTS] == storage.inputs_container
    assert len(set(names.values())) == len(Role)  # no two roles share a container


def test_per_job_paths() -> None:
    assert layout.input_blob("job-1", 3, "a.pdf") == BlobPath(Role.INPUTS, "job-1/3-a.pdf")
    assert layout.staged_upload_blob("job-1", "f00", "a.pdf") == BlobPath(Role.STAGING, "job-1/f00-a.pdf")
    assert layout.result_blob("job-1", "result") == BlobPath(Role.RESULTS, "job-1/result.json")
    assert layout.result_blob("job-1", layout.operation_result_key("0")).name == "job-1/operation-0.json"
    assert layout.operation_record_blob("job-1", "0") == BlobPath(
        Role.RESULTS, "job-1/operation-0.started.json"
    )
    assert layout.analyzer_definition_blob("invoices") == BlobPath(Role.ANALYZERS, "invoices.json")
    assert layout.result_index_blob("job-1") == BlobPath(Role.RESULTS, "job-1/result-index.json")
    assert layout.result_index_part_blob("job-1", 12).name == "job-1/result-index-12.json"
    assert layout.field_columns_blob("job-1").name == "job-1/field-columns.json"
    for part in (-1, True, "0"):
        with pytest.raises(ValueError, match="part"):
            layout.result_index_part_blob("job-1", part)  # type: ignore[arg-type]


def test_a_grant_blob_is_a_function_of_its_scope() -> None:
    scope = {"kind": "blob", "container": "inputs", "blob": "job-1/0-a.pdf", "permissions": "r"}
    digest = hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:32]
    grant = layout.grant_blob("job-1", scope)
    assert grant == BlobPath(Role.GRANTS, f"job-1/blob-{digest}.json")
    assert layout.grant_blob("job-1", dict(reversed(scope.items()))) == grant
    assert layout.grant_blob("job-1", {**scope, "blob": "job-1/1-b.pdf"}) != grant
    assert layout.is_grant_name(grant.name)
    assert not layout.is_grant_name("job-1/x/blob.json")
    assert not layout.is_grant_name(None)


def test_an_agentic_job_s_package_lives_beside_its_inputs_and_cannot_be_one_of_them() -> None:
    package = layout.package_blob("job-1")
    assert package == BlobPath(Role.INPUTS, "job-1/package.pdf")
    assert layout.belongs_to_job("job-1", package.name)
    # Every input's name starts with its index, so no input can be called package.pdf.
    assert layout.input_blob("job-1", 0, "package.pdf").name == "job-1/0-package.pdf"


@pytest.mark.parametrize("job_id", ["", "../x", "a/b", "job..1", "-job"])
def test_job_paths_refuse_unsafe_job_ids(job_id: str) -> None:
    with pytest.raises(InputError) as caught:
        layout.input_blob(job_id, 0, "a.pdf")
    assert caught.value.code == "InvalidJobId"


def test_job_membership() -> None:
    assert layout.belongs_to_job("job-1", "job-1/0-a.pdf")
    assert not layout.belongs_to_job("job-1", "job-1/")
    assert not layout.belongs_to_job("job-1", "job-10/0-a.pdf")
    assert layout.job_prefix("job-1") == "job-1/"
    assert set(layout.USER_READABLE) == {Role.INTAKE, Role.REFERENCES}
    assert set(layout.JOB_SCRATCH) == {Role.STAGING, Role.GRANTS}
