"""infra/ through checkov, the infrastructure linter, with the reviewed skip list infra/checkov.yaml.

checkov runs offline from its own virtual environment (.tools/checkov, made by `make setup`; its
pinned dependencies would clash with the app's). It reads Bicep with an older pycep than ours,
so the test also insists that it parsed every file: a file it cannot read is a file it did not
check. Where checkov is not installed the tests are skipped, except in CI (CI=true), where
`make test` has installed it and its absence is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.azurite import REPO_ROOT

CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"
CONFIG = REPO_ROOT / "infra" / "checkov.yaml"
INFRA = REPO_ROOT / "infra"


def skip_list() -> dict[str, str]:
    """Check id -> the reason written next to it in infra/checkov.yaml."""
    entries = re.findall(r"^\s*-\s*(CKV_\w+)\s*#\s*(.+)$", CONFIG.read_text(encoding="utf-8"), re.MULTILINE)
    return dict(entries)


def run_checkov(directory: Path, *options: str) -> dict[str, Any]:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHECKOV} is missing: `make setup` installs it")
        pytest.skip("checkov is not installed here: run `make setup`")
    environment = {
        **os.environ,
        # Offline: no guideline download from the vendor, no version check.
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    }
    command = [str(CHECKOV), "--directory", str(directory), "--framework", "bicep", "--output", "json"]
    command += ["--skip-download", "--quiet", *options]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment, check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout)
    first: dict[str, Any] = report[0] if isinstance(report, list) else report
    return first


def failed_checks(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(check["check_id"], check["file_path"]) for check in report["results"]["failed_checks"]}


@pytest.fixture(scope="module")
def unskipped() -> dict[str, Any]:
    """One run of every check, nothing skipped: what the skip list is reviewed against."""
    return run_checkov(INFRA)


def test_checkov_read_every_bicep_file(unskipped: dict[str, Any]) -> None:
    assert unskipped["summary"]["parsing_errors"] == 0
    assert unskipped["summary"]["resource_count"] >= 40
    assert unskipped["summary"]["passed"] >= 20


def test_every_failing_check_is_reviewed_and_every_skip_still_needed(unskipped: dict[str, Any]) -> None:
    failing = {check_id for check_id, _ in failed_checks(unskipped)}
    reviewed = set(skip_list())
    assert failing - reviewed == set(), "fix these, or review them into infra/checkov.yaml with a reason"
    assert reviewed - failing == set(), "these pass now: remove them from infra/checkov.yaml"


def test_every_skip_has_a_reason() -> None:
    reasons = skip_list()
    assert len(reasons) >= 10
    assert all(len(reason.split()) >= 3 for reason in reasons.values()), reasons


def test_with_the_skip_list_nothing_fails(unskipped: dict[str, Any]) -> None:
    remaining = {
        (check_id, path) for check_id, path in failed_checks(unskipped) if check_id not in skip_list()
    }
    assert remaining == set()


def test_a_planted_weakness_fails_with_the_skip_list(tmp_path: Path) -> None:
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    storage = copy / "app" / "storage.bicep"
    text = storage.read_text(encoding="utf-8")
    text = text.replace("minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'")
    text = text.replace("supportsHttpsTrafficOnly: true", "supportsHttpsTrafficOnly: false")
    storage.write_text(text, encoding="utf-8")
    report = run_checkov(copy, "--config-file", str(CONFIG))
    assert {check_id for check_id, _ in failed_checks(report)} == {"CKV_AZURE_44", "CKV_AZURE_3"}
