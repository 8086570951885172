"""Checks Bicep resource declarations against Azure's published resource type definitions.

This does, offline, the part of the Bicep compiler's type check that catches deployment
failures early: the resource type and API version exist, every property written is one the
type has (and is not read-only), required properties are there, and literal values have the
right kind (string, number, bool, object, array) and, for closed enums, one of the allowed
values. The definitions are the subset of Azure/bicep-types-az vendored in
tests/deployment/data/azure-resource-types.json by scripts/vendor_bicep_types.py.

Values that are expressions (parameters, variables, function calls, property accessors) are not
evaluated: only their literal parts are checked. A conditional (``a ? 'x' : 'y'``) has both
branches checked, a ``for`` expression its item. pycep gives identifiers and string literals the
same shape, so a string equal to a name declared in the file counts as an identifier.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import bicep

TYPES_FILE = Path(__file__).resolve().parent.parent / "deployment" / "data" / "azure-resource-types.json"

# ObjectTypePropertyFlags in bicep-types.
REQUIRED = 1
READ_ONLY = 2
# Keys of a resource declaration that Bicep itself understands, beyond the type's properties.
BICEP_KEYWORDS = {"parent", "scope", "dependsOn"}


@dataclass(frozen=True)
class Catalog:
    """The vendored type definitions: ``resources`` maps ``Type@version`` to a body type index."""

    resources: dict[str, int]
    types: list[dict[str, Any]]
    source: dict[str, Any]

    def body(self, type_at_version: str) -> int | None:
        for name, index in self.resources.items():
            if name.lower() == type_at_version.lower():
                return index
        return None

    def node(self, reference: dict[str, str]) -> dict[str, Any]:
        return self.types[int(reference["$ref"][2:])]


@functools.cache
def catalog(path: Path = TYPES_FILE) -> Catalog:
    document = json.loads(path.read_text(encoding="utf-8"))
    return Catalog(document["resources"], document["types"], document["source"])


def declared_names(tree: dict[str, Any]) -> set[str]:
    """Parameters, variables, resources, modules, and loop variables anywhere in the file."""
    parts = ("parameters", "variables", "resources", "modules")
    names = {name for part in parts for name in tree.get(part) or {}}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            loop = node.get("loop_type")
            detail = loop.get("detail") if isinstance(loop, dict) else None
            if isinstance(detail, dict):
                names.update(str(detail[key]) for key in ("item_name", "index_name") if detail.get(key))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return names


def unwrap(config: dict[str, Any]) -> dict[str, Any]:
    """A declaration's body, looking through pycep's ``if (...)`` and ``for`` wrappers."""
    while "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def check_file(path: Path, types: Catalog | None = None) -> list[str]:
    """Every problem found in the resource declarations of one Bicep file."""
    types = types or catalog()
    tree = bicep.parse(path)
    names = declared_names(tree)
    problems: list[str] = []
    for symbol, resource in (tree.get("resources") or {}).items():
        type_at_version = f"{resource['type']}@{resource['api_version']}"
        where = f"{path.name}: resource {symbol} ({type_at_version})"
        body = types.body(type_at_version)
        if body is None:
            problems.append(
                f"{where}: no such resource type or API version in the vendored definitions "
                "(a typo, or run scripts/vendor_bicep_types.py after changing it)"
            )
            continue
        checker = _Checker(types, names, where, problems)
        config = unwrap(resource["config"])
        checker.resource(types.types[body], config, existing=bool(resource.get("existing")))
    return problems


class _Checker:
    def __init__(self, types: Catalog, names: set[str], where: str, problems: list[str]) -> None:
        self.types = types
        self.names = names
        self.where = where
        self.problems = problems

    def problem(self, at: str, text: str) -> None:
        self.problems.append(f"{self.where}: {at}: {text}")

    def resource(self, body: dict[str, Any], config: dict[str, Any], *, existing: bool) -> None:
        properties = self.resource_properties(body, config)
        for key, value in config.items():
            if key in BICEP_KEYWORDS:
                continue
            if key not in properties:
                known = _writable(properties)
                self.problem(key, f"not a property of {body['name']} (known: {known})")
                continue
            if existing:
                continue  # an existing resource declares its name (and scope) only
            spec = properties[key]
            if spec.get("flags", 0) & READ_ONLY and key != "name":
                self.problem(key, "is read-only")
            self.value(self.types.node(spec["type"]), value, key)
        if not existing:
            self.required(properties, config, "")

    def resource_properties(self, body: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        """A body's properties; a body discriminated by name (``sites/config``) takes its variant's."""
        if body["$type"] != "DiscriminatedObjectType":
            properties: dict[str, Any] = body["properties"]
            return properties
        chosen = config.get(body["discriminator"])
        merged = dict(body.get("baseProperties", {}))
        if isinstance(chosen, str) and chosen in body["elements"]:
            merged.update(self.types.node(body["elements"][chosen]).get("properties", {}))
        elif isinstance(chosen, str) and not self.is_expression(chosen):
            allowed = ", ".join(sorted(body["elements"]))
            self.problem(body["discriminator"], f"{chosen!r} is not one of {allowed}")
            return merged
        else:
            for reference in body["elements"].values():
                merged.update(self.types.node(reference).get("properties", {}))
        return merged

    def required(self, properties: dict[str, Any], given: dict[str, Any], at: str) -> None:
        for key, spec in properties.items():
            if spec.get("flags", 0) & REQUIRED and not spec.get("flags", 0) & READ_ONLY and key not in given:
                self.problem(f"{at}{key}" if at else key, "is required")

    def value(self, node: dict[str, Any], value: Any, at: str) -> None:
        if value is None:
            return  # null: the property is left out
        if self.is_expression(value):
            self.expression(node, value, at)
            return
        kind = node["$type"]
        if kind == "AnyType":
            return
        if kind == "StringLiteralType":
            if not isinstance(value, str) or value != node["value"]:
                self.problem(at, f"{value!r} is not {node['value']!r}")
        elif kind == "UnionType":
            self.union(node, value, at)
        elif kind == "StringType":
            if not isinstance(value, str):
                self.problem(at, f"{value!r} is not a string")
        elif kind == "IntegerType":
            if isinstance(value, bool) or not isinstance(value, int):
                self.problem(at, f"{value!r} is not an integer")
            else:
                if "minValue" in node and value < node["minValue"]:
                    self.problem(at, f"{value} is below the minimum {node['minValue']}")
                if "maxValue" in node and value > node["maxValue"]:
                    self.problem(at, f"{value} is above the maximum {node['maxValue']}")
        elif kind == "BooleanType":
            if not isinstance(value, bool):
                self.problem(at, f"{value!r} is not a bool")
        elif kind == "ArrayType":
            if not isinstance(value, list):
                self.problem(at, "is not an array")
                return
            item = self.types.node(node["itemType"])
            for position, element in enumerate(value):
                self.value(item, element, f"{at}[{position}]")
        elif kind == "ObjectType":
            self.object(node, value, at)
        elif kind == "DiscriminatedObjectType":
            self.discriminated(node, value, at)
        else:
            raise AssertionError(f"unknown type kind {kind} at {at}")

    def is_expression(self, value: Any) -> bool:
        if isinstance(value, str):
            return value in self.names or "${" in value
        return isinstance(value, dict) and (
            set(value) <= {"operator", "function"} or "loop_type" in value or "interpolation" in value
        )

    def expression(self, node: dict[str, Any], value: Any, at: str) -> None:
        """Checks the literal parts of an expression: both branches of a conditional, a for's item."""
        if not isinstance(value, dict):
            return
        if "loop_type" in value:
            if node["$type"] != "ArrayType":
                self.problem(at, "a for expression where the type is not an array")
                return
            self.value(self.types.node(node["itemType"]), unwrap(value), f"{at}[*]")
            return
        operator = value.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "conditional":
            operands = operator["operands"]
            self.value(node, operands["true_value"], at)
            self.value(node, operands["false_value"], at)

    def union(self, node: dict[str, Any], value: Any, at: str) -> None:
        elements = [self.types.node(element) for element in node["elements"]]
        literals = [element["value"] for element in elements if element["$type"] == "StringLiteralType"]
        if any(element["$type"] != "StringLiteralType" for element in elements):
            # An open enum (any string allowed) or a union of shapes: accept what fits any member.
            for element in elements:
                trial: list[str] = []
                _Checker(self.types, self.names, self.where, trial).value(element, value, at)
                if not trial:
                    return
            self.problem(at, f"{value!r} fits none of the allowed types")
            return
        if value not in literals:
            self.problem(at, f"{value!r} is not one of {', '.join(repr(v) for v in literals)}")

    def object(self, node: dict[str, Any], value: Any, at: str, extra: dict[str, Any] | None = None) -> None:
        if not isinstance(value, dict):
            self.problem(at, "is not an object")
            return
        properties = {**(node.get("properties") or {}), **(extra or {})}
        additional = node.get("additionalProperties")
        for key, item in value.items():
            path = f"{at}.{key}"
            if key in properties:
                spec = properties[key]
                if spec.get("flags", 0) & READ_ONLY:
                    self.problem(path, "is read-only")
                self.value(self.types.node(spec["type"]), item, path)
            elif additional is not None:
                self.value(self.types.node(additional), item, path)
            else:
                known = _writable(properties)
                self.problem(path, f"not a property of {node.get('name', 'this object')} (known: {known})")
        self.required(properties, value, f"{at}.")

    def discriminated(self, node: dict[str, Any], value: Any, at: str) -> None:
        if not isinstance(value, dict):
            self.problem(at, "is not an object")
            return
        discriminator = node["discriminator"]
        chosen = value.get(discriminator)
        elements = node["elements"]
        if isinstance(chosen, str) and not self.is_expression(chosen):
            if chosen not in elements:
                allowed = ", ".join(sorted(elements))
                self.problem(f"{at}.{discriminator}", f"{chosen!r} is not one of {allowed}")
                return
            variant = self.types.node(elements[chosen])
            base = {"$type": "ObjectType", "name": node.get("name"), "properties": node.get("baseProperties")}
            self.object(base, value, at, extra=variant.get("properties", {}))
            return
        # Unknown variant: every property of any variant is allowed.
        merged = dict(node.get("baseProperties", {}))
        for reference in elements.values():
            merged.update(self.types.node(reference).get("properties", {}))
        self.object({"$type": "ObjectType", "name": node.get("name"), "properties": merged}, value, at)


def _writable(properties: dict[str, Any]) -> str:
    """The names a template may set, for error messages."""
    names = sorted(key for key, spec in properties.items() if not spec.get("flags", 0) & READ_ONLY)
    return ", ".join(names) or "none"
