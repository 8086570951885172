"""The import contracts bite: a wrong import planted in a scratch copy makes `lint-imports` fail.

The contracts live in pyproject.toml (``[tool.importlinter]``) and `make lint` checks the real tree.
Here the packages' Python files and pyproject.toml are copied to a temporary directory; the clean
copy passes, and each planted import breaks exactly the contract that forbids it, by name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.support.azurite import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONFIG: dict[str, Any] = PYPROJECT["tool"]["importlinter"]
CONTRACT_NAMES = {contract["id"]: contract["name"] for contract in CONFIG["contracts"]}
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def scratch_copy(target: Path) -> Path:
    """The root packages' Python files and pyproject.toml, as they are in the repository."""
    for package in CONFIG["root_packages"]:
        for source in (REPO_ROOT / package).rglob("*.py"):
            copy = target / source.relative_to(REPO_ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
    shutil.copyfile(REPO_ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def lint_imports(directory: Path) -> tuple[int, str, dict[str, str]]:
    """Exit code, output, and each contract's verdict (KEPT or BROKEN) by name."""
    completed = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        # Wide enough that no contract's name is wrapped onto two lines.
        env={**os.environ, "COLUMNS": "300", "NO_COLOR": "1"},
        check=False,
    )
    output = completed.stdout + completed.stderr
    verdicts = {
        name: match.group(1)
        for name in CONTRACT_NAMES.values()
        if (match := re.search(rf"^{re.escape(name)} (KEPT|BROKEN)$", output, re.MULTILINE))
    }
    return completed.returncode, output, verdicts


def test_the_clean_tree_keeps_every_contract(tmp_path: Path) -> None:
    code, output, verdicts = lint_imports(scratch_copy(tmp_path))
    assert code == 0, output
    assert verdicts == dict.fromkeys(CONTRACT_NAMES.values(), "KEPT"), output


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("orchestrators/__init__.py", "import storage.client", "orchestrators-import-only-core"),
        ("orchestrators/__init__.py", "import content_understanding", "orchestrators-import-only-core"),
        ("orchestrators/__init__.py", "import os", "orchestrators-deterministic"),
        ("orchestrators/__init__.py", "from core import settings", "orchestrators-deterministic"),
        ("core/__init__.py", "import httpx", "core-is-pure"),
        ("storage/__init__.py", "import inputs.ingest", "layers"),
        ("storage/__init__.py", "import content_understanding", "layers"),
        ("api/__init__.py", "import activities.envelope", "api-above-the-durable-functions"),
        ("activities/__init__.py", "import triggers", "activities-below-the-front-doors"),
        ("triggers/__init__.py", "import scripts.azurite", "app-imports-no-tools"),
        ("devhost/__init__.py", "import core.jobs", "tools-import-no-app"),
        ("emulators/__init__.py", "import function_app", "tools-import-no-app"),
        ("emulators/__init__.py", "import devhost", "devhost-and-emulator-independent"),
        ("devhost/durable/__init__.py", "import devhost.host", "devhost-components-below-the-host"),
    ],
)
def test_a_wrong_import_breaks_its_contract(tmp_path: Path, module: str, planted: str, contract: str) -> None:
    tree = scratch_copy(tmp_path)
    with (tree / module).open("a", encoding="utf-8") as file:
        file.write(f"\n{planted}  # planted by the test\n")

    code, output, verdicts = lint_imports(tree)

    assert code != 0, output
    broken = {name for name, verdict in verdicts.items() if verdict == "BROKEN"}
    assert broken == {CONTRACT_NAMES[contract]}, output
    assert len(verdicts) == len(CONTRACT_NAMES), output
