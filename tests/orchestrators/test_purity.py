"""Orchestrators must be deterministic: a static check that their modules read no environment,
clock, randomness, network or files (durable-functions code constraints)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ORCHESTRATORS = sorted(Path("orchestrators").glob("*.py"))

FORBIDDEN_MODULES = {
    "os", "time", "random", "secrets", "uuid", "socket", "subprocess", "threading", "asyncio",
    "httpx", "aiohttp", "requests", "urllib.request", "pathlib", "sqlite3", "shutil", "tempfile",
    "azure.storage", "azure.storage.blob", "azure.identity", "core.settings", "storage.client",
    "content_understanding", "activities.cu_steps", "inputs.ingest",
}  # fmt: skip
FORBIDDEN_CALLS = {"open", "input", "print", "now", "utcnow", "today", "getenv", "sleep", "uuid4", "random"}


def imported_modules(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def called_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def test_there_are_orchestrator_modules_to_check() -> None:
    assert len(ORCHESTRATORS) >= 4


@pytest.mark.parametrize("path", ORCHESTRATORS, ids=lambda p: p.name)
def test_orchestrator_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = imported_modules(tree)
    bad_modules = {
        m for m in modules if m in FORBIDDEN_MODULES or m.split(".")[0] in {"os", "time", "random"}
    }
    assert not bad_modules, f"{path} imports {sorted(bad_modules)}"
    bad_calls = called_names(tree) & FORBIDDEN_CALLS
    assert not bad_calls, f"{path} calls {sorted(bad_calls)}"
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not attributes & {"environ", "getenv"}, f"{path} reads the environment"


def test_the_check_catches_an_impure_module(tmp_path: Path) -> None:
    impure = ast.parse("import os\nfrom datetime import datetime\nx = os.getenv('A')\ny = datetime.now()\n")
    assert "os" in imported_modules(impure)
    assert {"getenv", "now"} <= called_names(impure)
