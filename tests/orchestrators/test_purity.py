"""Orchestrators must be deterministic: a static check for what the import contracts cannot see.

The contracts in pyproject.toml (``lint-imports``) already keep orchestrators from importing
anything but ``core``, the Durable SDK and the calm part of the standard library (no ``os``,
``time``, ``random``, ``uuid``, threads, sockets or files). Left for this test: calls that need no
forbidden import (``datetime.now()``, ``open``, ``print``), reads of the environment, and which
``azure.*`` packages are imported, because the import graph knows external packages only by their
top-level name, so ``azure.storage`` and ``azure.durable_functions`` look alike there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ORCHESTRATORS = sorted(Path("orchestrators").rglob("*.py"))

# Submodules of packages that the import graph sees only whole: the Durable SDK is the one part
# of ``azure`` orchestrators use, and ``urllib.parse`` is pure where ``urllib.request`` is not.
ALLOWED_AZURE = "azure.durable_functions"
FORBIDDEN_SUBMODULES = ("urllib.request",)
FORBIDDEN_CALLS = {"open", "input", "print", "now", "utcnow", "today", "getenv", "sleep", "uuid4", "random"}


def imported_modules(tree: ast.AST) -> set[str]:
    """Every module the code imports, and ``package.name`` for each ``from package import name``."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def is_forbidden_submodule(module: str) -> bool:
    def within(package: str) -> bool:
        return module == package or module.startswith(f"{package}.")

    if within("azure"):
        return module != "azure" and not within(ALLOWED_AZURE)
    return any(within(package) for package in FORBIDDEN_SUBMODULES)


def called_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def impurities(source: str) -> list[str]:
    """What makes this module's code non-deterministic or impure, in words; empty when pure."""
    tree = ast.parse(source)
    found = []
    foreign = {module for module in imported_modules(tree) if is_forbidden_submodule(module)}
    if foreign:
        found.append(f"imports {sorted(foreign)}")
    calls = called_names(tree) & FORBIDDEN_CALLS
    if calls:
        found.append(f"calls {sorted(calls)}")
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    if attributes & {"environ", "getenv"}:
        found.append("reads the environment")
    return found


def test_there_are_orchestrator_modules_to_check() -> None:
    assert len(ORCHESTRATORS) >= 4


@pytest.mark.parametrize("path", ORCHESTRATORS, ids=lambda p: str(p))
def test_orchestrator_module_is_pure(path: Path) -> None:
    assert impurities(path.read_text(encoding="utf-8")) == [], path


@pytest.mark.parametrize(
    ("source", "finding"),
    [
        ("from datetime import datetime\nx = datetime.now()\n", "calls ['now']"),
        ("import datetime\nx = datetime.datetime.utcnow()\n", "calls ['utcnow']"),
        ("with open('f') as f:\n    pass\n", "calls ['open']"),
        ("def f(o):\n    return o.environ['A']\n", "reads the environment"),
        (
            "from azure.storage.blob import BlobClient\n",
            "imports ['azure.storage.blob', 'azure.storage.blob.BlobClient']",
        ),
        ("import azure.identity\n", "imports ['azure.identity']"),
        ("import azure.functions as func\n", "imports ['azure.functions']"),
        ("from azure import storage\n", "imports ['azure.storage']"),
        ("from urllib import request\n", "imports ['urllib.request']"),
    ],
)
def test_the_check_catches_an_impure_module(source: str, finding: str) -> None:
    assert impurities(source) == [finding]


def test_the_durable_sdk_and_pure_urllib_are_allowed() -> None:
    source = "import azure.durable_functions as df\nfrom azure.durable_functions import Task\n"
    assert impurities(source + "from urllib.parse import quote\n") == []
