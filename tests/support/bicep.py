"""Reading infra/*.bicep in tests, through pycep-parser's syntax tree.

pycep is a parser, not the Bicep compiler (which is a .NET binary that no Python or npm package
ships without downloading it at install time): it catches syntax errors and lets tests read
declarations, but it does not type-check resource properties or API versions. In its tree an
identifier and a string literal look alike (``location`` and ``'location'`` both become
``"location"``), interpolations stay as ``"${...}"`` text, and expressions are nested dicts.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pycep import BicepParser

from tests.support.azurite import REPO_ROOT

INFRA = REPO_ROOT / "infra"
MAIN = INFRA / "main.bicep"


@functools.cache
def _parser() -> BicepParser:
    # Building the grammar is the slow part (about half a second): do it once per session.
    return BicepParser(cache=False)


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    """The syntax tree of one Bicep file: parameters, variables, resources, modules, outputs."""
    tree: dict[str, Any] = dict(_parser().parse(file_path=path))
    return tree


def section(path: Path, name: str) -> dict[str, Any]:
    """One top-level section of a file (``parameters``, ``variables``, ...), empty when absent."""
    value: dict[str, Any] = parse(path).get(name) or {}
    return value


def module_config(module: dict[str, Any]) -> dict[str, Any]:
    """A module's ``name``/``scope``/``params``, looking through an ``if (...)`` condition."""
    config: dict[str, Any] = module["config"]
    return config.get("config", config) if "condition" in config else config


def variable(path: Path, name: str) -> Any:
    return section(path, "variables")[name]["value"]


def resource_config(path: Path, name: str) -> dict[str, Any]:
    config: dict[str, Any] = section(path, "resources")[name]["config"]
    return config


def identifiers(path: Path) -> set[str]:
    """Every name declared in a file; a bare string equal to one of them is an identifier."""
    return {
        name for part in ("parameters", "variables", "resources", "modules") for name in section(path, part)
    }


def literal(value: Any, path: Path) -> str | None:
    """The value as the app would see it, when it is fixed in the file; ``None`` when computed.

    Handles string literals and ``someVariable.key`` where the variable is an object of literals,
    which is how the app settings in main.bicep are written.
    """
    if isinstance(value, str):
        return None if value in identifiers(path) or "${" in value else value
    accessor = value.get("operator", {}) if isinstance(value, dict) else {}
    if accessor.get("type") == "property_accessor":
        owner, key = accessor["operands"]["operand_1"], accessor["operands"]["operand_2"]
        variables = section(path, "variables")
        if isinstance(owner, str) and isinstance(key, str) and owner in variables:
            fields = variables[owner]["value"]
            if isinstance(fields, dict):
                return literal(fields.get(key), path)
    return None


def dotted(value: Any) -> str | None:
    """``a.b.c`` for a chain of property accessors (``identity.outputs.clientId``), else ``None``."""
    if isinstance(value, str):
        return value
    accessor = value.get("operator", {}) if isinstance(value, dict) else {}
    if accessor.get("type") != "property_accessor":
        return None
    owner, rest = dotted(accessor["operands"]["operand_1"]), dotted(accessor["operands"]["operand_2"])
    return f"{owner}.{rest}" if owner and rest else None
