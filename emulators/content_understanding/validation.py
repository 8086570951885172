"""Checks a request body against its API version, as strictly as the service: a refusal is a
``ServiceError`` (400 InvalidRequest) naming the offending property in ``target``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from emulators.content_understanding.errors import invalid
from emulators.content_understanding.versions import (
    MAX_FIELDS,
    MAX_TAGS,
    PRO_MODE_BASE_ANALYZER,
    PROCESSING_LOCATIONS,
    READ_ONLY_ANALYZER_PROPERTIES,
    VersionRules,
)

MAX_URL_LENGTH = 8192
_METHODS = {"generate", "extract", "classify"}
_MODES = {"standard", "pro"}


@dataclass(frozen=True)
class InputSpec:
    """One input of an analyze request: a URL to fetch or the bytes themselves."""

    url: str | None
    data: bytes | None
    name: str | None
    mime_type: str | None

    @property
    def label(self) -> str:
        """The input's name, else its URL's file name: what fault settings and messages use."""
        if self.name:
            return self.name
        if self.url:
            return unquote(urlsplit(self.url).path.rstrip("/").rpartition("/")[2])
        return "data"


def _object(value: Any, target: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"'{target}' must be a JSON object.", target=target)
    return value


def _unknown(body: dict[str, Any], allowed: frozenset[str], target: str, version: str) -> None:
    for name in body:
        if name not in allowed:
            where = f"{target}.{name}" if target else name
            raise invalid(f"The property '{where}' is not supported in API version {version}.", target=where)


def _url(value: Any, target: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        raise invalid(f"'{target}' must be an absolute http(s) URL.", target=target)
    if len(value) > MAX_URL_LENGTH:
        raise invalid(f"'{target}' is longer than {MAX_URL_LENGTH} characters.", target=target)
    return value


def validate_analyzer(body: Any, rules: VersionRules, base_ids: set[str]) -> dict[str, Any]:
    """The stored definition of a ``PUT /analyzers/{id}`` body (read-only properties dropped)."""
    body = _object(body, "resource")
    definition = {k: v for k, v in body.items() if k not in READ_ONLY_ANALYZER_PROPERTIES}
    _unknown(definition, rules.analyzer_properties, "", rules.name)
    base = definition.get("baseAnalyzerId")
    if not isinstance(base, str) or not base:
        raise invalid("The property 'baseAnalyzerId' is required.", target="baseAnalyzerId")
    if base not in base_ids:
        raise invalid(f"The base analyzer '{base}' does not exist.", target="baseAnalyzerId")
    mode = definition.get("mode", "standard")
    if mode not in _MODES:
        raise invalid("'mode' must be 'standard' or 'pro'.", target="mode")
    if mode == "pro" and base != PRO_MODE_BASE_ANALYZER:
        raise invalid(f"Pro mode analyzers must use '{PRO_MODE_BASE_ANALYZER}'.", target="baseAnalyzerId")
    if "description" in definition and not isinstance(definition["description"], str):
        raise invalid("'description' must be a string.", target="description")
    _check_tags(definition.get("tags"))
    if definition.get("processingLocation", "global") not in PROCESSING_LOCATIONS:
        raise invalid(
            "'processingLocation' must be geography, dataZone or global.", target="processingLocation"
        )
    if "config" in definition:
        config = _object(definition["config"], "config")
        _unknown(config, rules.config_properties, "config", rules.name)
        if "tableFormat" in config and config["tableFormat"] not in rules.table_formats:
            raise invalid(
                f"'config.tableFormat' must be one of {sorted(rules.table_formats)}.", target="config"
            )
    if "fieldSchema" in definition:
        _check_field_schema(definition["fieldSchema"], rules, mode)
    if "models" in definition:
        models = _object(definition["models"], "models")
        if not all(isinstance(v, str) for v in models.values()):
            raise invalid("'models' must map model roles to model names.", target="models")
    if "trainingData" in definition:
        training = _object(definition["trainingData"], "trainingData")
        if training.get("kind") != "blob":
            raise invalid("'trainingData.kind' must be 'blob'.", target="trainingData.kind")
        _url(training.get("containerUrl"), "trainingData.containerUrl")
    check_knowledge_sources(definition.get("knowledgeSources"), rules)
    return definition


def _check_tags(tags: Any) -> None:
    if tags is None:
        return
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise invalid("'tags' must map names to strings.", target="tags")
    if len(tags) > MAX_TAGS:
        raise invalid(f"An analyzer has at most {MAX_TAGS} tags.", target="tags")


def check_knowledge_sources(sources: Any, rules: VersionRules) -> None:
    if sources is None:
        return
    if not isinstance(sources, list):
        raise invalid("'knowledgeSources' must be an array.", target="knowledgeSources")
    for index, source in enumerate(sources):
        target = f"knowledgeSources[{index}]"
        source = _object(source, target)
        if source.get("kind") != rules.knowledge_source_kind:
            raise invalid(
                f"'{target}.kind' must be '{rules.knowledge_source_kind}' in API version {rules.name}.",
                target=f"{target}.kind",
            )
        allowed = frozenset({"kind", "containerUrl", "prefix", "fileListPath"})
        _unknown(source, allowed, target, rules.name)
        for name in rules.knowledge_source_required:
            if not isinstance(source.get(name), str) or not source[name]:
                raise invalid(f"The property '{target}.{name}' is required.", target=f"{target}.{name}")
        _url(source["containerUrl"], f"{target}.containerUrl")


def _check_field_schema(schema: Any, rules: VersionRules, mode: str) -> None:
    schema = _object(schema, "fieldSchema")
    _unknown(schema, frozenset({"name", "description", "fields", "definitions"}), "fieldSchema", rules.name)
    fields = _object(schema.get("fields"), "fieldSchema.fields")
    if len(fields) > MAX_FIELDS[mode]:
        raise invalid(
            f"A {mode} mode analyzer has at most {MAX_FIELDS[mode]} fields.", target="fieldSchema.fields"
        )
    for name, definition in fields.items():
        _check_field(definition, f"fieldSchema.fields.{name}", rules, mode)
    for name, definition in _object(schema.get("definitions", {}), "fieldSchema.definitions").items():
        _check_field(definition, f"fieldSchema.definitions.{name}", rules, mode)


def _check_field(definition: Any, target: str, rules: VersionRules, mode: str) -> None:
    definition = _object(definition, target)
    _unknown(definition, rules.field_properties, target, rules.name)
    if "$ref" in definition:
        return  # resolved against fieldSchema.definitions at analysis time
    if definition.get("type") not in rules.field_types:
        raise invalid(f"'{target}.type' must be one of {sorted(rules.field_types)}.", target=f"{target}.type")
    method = definition.get("method")
    if method is not None and method not in _METHODS:
        raise invalid(f"'{target}.method' must be generate, extract or classify.", target=f"{target}.method")
    if mode == "pro" and method == "extract":
        raise invalid("Pro mode supports only generate and classify fields.", target=f"{target}.method")
    if method == "classify" and not definition.get("enum"):
        raise invalid(f"The classify field '{target}' needs an 'enum'.", target=f"{target}.enum")
    if "enum" in definition and not (
        isinstance(definition["enum"], list) and all(isinstance(v, str) for v in definition["enum"])
    ):
        raise invalid(f"'{target}.enum' must be an array of strings.", target=f"{target}.enum")
    if definition["type"] == "array":
        _check_field(definition.get("items"), f"{target}.items", rules, mode)
    if definition["type"] == "object":
        for name, sub in _object(definition.get("properties"), f"{target}.properties").items():
            _check_field(sub, f"{target}.properties.{name}", rules, mode)


def validate_patch(body: Any, rules: VersionRules) -> dict[str, Any]:
    """A ``PATCH /analyzers/{id}`` merge patch (``application/merge-patch+json``)."""
    patch = _object(body, "resource")
    _unknown(patch, rules.patchable_properties, "", rules.name)
    if patch.get("description") is not None and not isinstance(patch["description"], str):
        raise invalid("'description' must be a string.", target="description")
    if patch.get("tags") is not None:
        _check_tags(patch["tags"])
    check_knowledge_sources(patch.get("knowledgeSources"), rules)
    return patch


def validate_analyze(body: Any, rules: VersionRules) -> tuple[list[InputSpec], dict[str, str]]:
    """The inputs and per-request model deployments of a ``POST :analyze`` JSON body."""
    body = _object(body, "body")
    _unknown(body, rules.analyze_properties, "", rules.name)
    inputs: list[InputSpec] = []
    if "url" in body or "data" in body:  # 2025-05-01-preview's single-input form
        inputs.append(_input({k: body[k] for k in ("url", "data") if k in body}, "", rules))
    if "inputs" in body:
        items = body["inputs"]
        if not isinstance(items, list):
            raise invalid("'inputs' must be an array.", target="inputs")
        inputs.extend(_input(item, f"inputs[{i}]", rules) for i, item in enumerate(items))
    if not inputs:
        what = "'inputs'" if "url" not in rules.analyze_properties else "one of 'url', 'data' or 'inputs'"
        raise invalid(f"The request must specify {what}.", target="inputs")
    deployments = _object(body.get("modelDeployments", {}), "modelDeployments")
    if not all(isinstance(v, str) and v for v in deployments.values()):
        raise invalid(
            "'modelDeployments' must map model names to deployment names.", target="modelDeployments"
        )
    return inputs, deployments


def _input(item: Any, target: str, rules: VersionRules) -> InputSpec:
    item = _object(item, target or "body")
    _unknown(item, rules.input_properties, target, rules.name)
    prefix = f"{target}." if target else ""
    if ("url" in item) == ("data" in item):
        raise invalid(f"Specify exactly one of '{prefix}url' or '{prefix}data'.", target=f"{prefix}url")
    url = _url(item["url"], f"{prefix}url") if "url" in item else None
    data = None
    if "data" in item:
        try:
            data = base64.b64decode(item["data"], validate=True) if isinstance(item["data"], str) else None
        except binascii.Error:
            data = None
        if data is None:
            raise invalid(f"'{prefix}data' must be base64-encoded bytes.", target=f"{prefix}data")
    for name in ("name", "mimeType"):
        if name in item and not isinstance(item[name], str):
            raise invalid(f"'{prefix}{name}' must be a string.", target=f"{prefix}{name}")
    return InputSpec(url=url, data=data, name=item.get("name"), mime_type=item.get("mimeType"))
