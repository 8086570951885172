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
    AGENTIC,
    ANALYZE_PROPERTIES,
    ANALYZER_PROPERTIES,
    FIELD_PROPERTIES,
    FIELD_TYPES,
    INPUT_PROPERTIES,
    LABELED_DATA_PROPERTIES,
    MAX_FIELDS,
    MAX_TAGS,
    MODEL_ALIASES,
    PATCHABLE_PROPERTIES,
    PREBUILTS,
    PROCESSING_LOCATIONS,
    READ_ONLY_ANALYZER_PROPERTIES,
    RESOLVED_WORKFLOWS,
    SUPPORTED_MODELS,
    TABLE_FORMATS,
    WORKFLOW_SELECTORS,
    VersionRules,
)

MAX_URL_LENGTH = 8192
MAX_INPUTS = 1  # per analyze request, both live versions ("regardless of workflow" in 2026-06-01-preview)
_METHODS = {"generate", "extract", "classify"}


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


def _boolean(config: dict[str, Any], name: str) -> None:
    if name in config and not isinstance(config[name], bool):
        raise invalid(f"'config.{name}' must be true or false.", target=f"config.{name}")


def validate_analyzer(body: Any, rules: VersionRules) -> dict[str, Any]:
    """The stored definition of a ``PUT /analyzers/{id}`` body (read-only properties dropped,
    ``config.workflow`` resolved to the versioned value the service reports)."""
    body = _object(body, "resource")
    definition = {k: v for k, v in body.items() if k not in READ_ONLY_ANALYZER_PROPERTIES}
    _unknown(definition, ANALYZER_PROPERTIES, "", rules.name)
    base = definition.get("baseAnalyzerId")  # optional in the spec and the SDK
    if base is not None and not (isinstance(base, str) and base in PREBUILTS and PREBUILTS[base].base):
        bases = ", ".join(sorted(name for name, prebuilt in PREBUILTS.items() if prebuilt.base))
        raise invalid(
            f"The base analyzer '{base}' does not exist; use one of {bases}.", target="baseAnalyzerId"
        )
    if "description" in definition and not isinstance(definition["description"], str):
        raise invalid("'description' must be a string.", target="description")
    _check_tags(definition.get("tags"))
    if definition.get("processingLocation", "global") not in PROCESSING_LOCATIONS:
        raise invalid(
            "'processingLocation' must be geography, dataZone or global.", target="processingLocation"
        )
    if "dynamicFieldSchema" in definition and not isinstance(definition["dynamicFieldSchema"], bool):
        raise invalid("'dynamicFieldSchema' must be true or false.", target="dynamicFieldSchema")
    config = _check_config(definition.get("config"), rules)
    if config is not None:
        definition["config"] = config
    agentic = bool(config and str(config.get("workflow", "")).startswith(AGENTIC))
    if agentic and base is not None and PREBUILTS[base].kind != "document":
        raise invalid("Agentic mode supports document analyzers only.", target="baseAnalyzerId")
    if agentic and definition.get("knowledgeSources"):
        raise invalid("Agentic mode does not support labeled samples.", target="knowledgeSources")
    if "fieldSchema" in definition:
        estimate = bool(config and config.get("estimateFieldSourceAndConfidence"))
        _check_field_schema(definition["fieldSchema"], rules, agentic=agentic, estimate=estimate)
    if "models" in definition:
        _check_models(_object(definition["models"], "models"))
    check_knowledge_sources(definition.get("knowledgeSources"))
    return definition


def _check_config(value: Any, rules: VersionRules) -> dict[str, Any] | None:
    if value is None:
        return None if not rules.has_workflows else {"workflow": WORKFLOW_SELECTORS["default"]}
    config = dict(_object(value, "config"))
    _unknown(config, rules.config_properties, "config", rules.name)
    if "tableFormat" in config and config["tableFormat"] not in TABLE_FORMATS:
        raise invalid(
            f"'config.tableFormat' must be one of {sorted(TABLE_FORMATS)}.", target="config.tableFormat"
        )
    for name in ("returnDetails", "enableOcr", "enableLayout", "enableFormula", "enableBarcode",
                 "enableAnnotations", "estimateFieldSourceAndConfidence", "enableSegment", "omitContent",
                 "allowInputTruncation"):  # fmt: skip
        _boolean(config, name)
    if rules.has_workflows:
        workflow = config.get("workflow", "default")
        if workflow in WORKFLOW_SELECTORS:
            config["workflow"] = WORKFLOW_SELECTORS[workflow]
        elif workflow not in RESOLVED_WORKFLOWS:  # a GET result sent back keeps its resolved value
            raise invalid("'config.workflow' must be 'default' or 'agentic'.", target="config.workflow")
    return config


def _check_models(models: dict[str, Any]) -> None:
    """Model names must be among the base analyzer's ``supportedModels`` (analyzer-reference.md,
    ``models``); the prebuilt aliases are accepted too."""
    for role, model in models.items():
        if role not in SUPPORTED_MODELS:
            raise invalid(
                f"'models.{role}' is not a model role; use completion or embedding.", target="models"
            )
        if not isinstance(model, str) or (model not in SUPPORTED_MODELS[role] and model not in MODEL_ALIASES):
            raise invalid(
                f"'models.{role}' must be one of the supported models: {', '.join(SUPPORTED_MODELS[role])}.",
                target=f"models.{role}",
            )


def _check_tags(tags: Any) -> None:
    if tags is None:
        return
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise invalid("'tags' must map names to strings.", target="tags")
    if len(tags) > MAX_TAGS:
        raise invalid(f"An analyzer has at most {MAX_TAGS} tags.", target="tags")


def check_knowledge_sources(sources: Any) -> None:
    """``labeledData`` sources: ``containerUrl`` and ``fileListPath`` required, ``prefix`` optional
    (SDK ``LabeledDataKnowledgeSource``)."""
    if sources is None:
        return
    if not isinstance(sources, list):
        raise invalid("'knowledgeSources' must be an array.", target="knowledgeSources")
    for index, source in enumerate(sources):
        target = f"knowledgeSources[{index}]"
        source = _object(source, target)
        if source.get("kind") != "labeledData":
            raise invalid(f"'{target}.kind' must be 'labeledData'.", target=f"{target}.kind")
        _unknown(source, LABELED_DATA_PROPERTIES, target, "this")
        for name in ("containerUrl", "fileListPath"):
            if not isinstance(source.get(name), str) or not source[name]:
                raise invalid(f"The property '{target}.{name}' is required.", target=f"{target}.{name}")
        if "prefix" in source and not isinstance(source["prefix"], str):
            raise invalid(f"'{target}.prefix' must be a string.", target=f"{target}.prefix")
        _url(source["containerUrl"], f"{target}.containerUrl")


def _check_field_schema(schema: Any, rules: VersionRules, *, agentic: bool, estimate: bool) -> None:
    schema = _object(schema, "fieldSchema")
    _unknown(schema, frozenset({"name", "description", "fields", "definitions"}), "fieldSchema", rules.name)
    fields = _object(schema.get("fields"), "fieldSchema.fields")
    if len(fields) > MAX_FIELDS:
        raise invalid(f"An analyzer has at most {MAX_FIELDS} fields.", target="fieldSchema.fields")
    for name, definition in fields.items():
        _check_field(definition, f"fieldSchema.fields.{name}", rules, agentic=agentic, estimate=estimate)
    for name, definition in _object(schema.get("definitions", {}), "fieldSchema.definitions").items():
        _check_field(definition, f"fieldSchema.definitions.{name}", rules, agentic=agentic, estimate=estimate)


def _check_field(definition: Any, target: str, rules: VersionRules, *, agentic: bool, estimate: bool) -> None:
    definition = _object(definition, target)
    _unknown(definition, FIELD_PROPERTIES, target, rules.name)
    if "$ref" in definition:
        return  # resolved against fieldSchema.definitions at analysis time
    if definition.get("type") not in FIELD_TYPES:
        raise invalid(f"'{target}.type' must be one of {sorted(FIELD_TYPES)}.", target=f"{target}.type")
    method = definition.get("method")
    if method is not None and method not in _METHODS:
        raise invalid(f"'{target}.method' must be generate, extract or classify.", target=f"{target}.method")
    if agentic and method == "extract":
        raise invalid("Agentic mode supports only generate and classify fields.", target=f"{target}.method")
    if "estimateSourceAndConfidence" in definition and not isinstance(
        definition["estimateSourceAndConfidence"], bool
    ):
        raise invalid(f"'{target}.estimateSourceAndConfidence' must be true or false.", target=target)
    # analyzer-reference.md, method: "Extract requires [estimateSourceAndConfidence] to be set to true
    # for this field"; the field's own setting overrides the analyzer's.
    if method == "extract" and not definition.get("estimateSourceAndConfidence", estimate):
        raise invalid(
            f"The extract field '{target}' needs estimateSourceAndConfidence (on the field, or "
            "config.estimateFieldSourceAndConfidence on the analyzer).",
            target=f"{target}.estimateSourceAndConfidence",
        )
    if method == "classify" and not definition.get("enum"):
        raise invalid(f"The classify field '{target}' needs an 'enum'.", target=f"{target}.enum")
    if "enum" in definition and not (
        isinstance(definition["enum"], list) and all(isinstance(v, str) for v in definition["enum"])
    ):
        raise invalid(f"'{target}.enum' must be an array of strings.", target=f"{target}.enum")
    if definition["type"] == "array":
        _check_field(definition.get("items"), f"{target}.items", rules, agentic=agentic, estimate=estimate)
    if definition["type"] == "object":
        for name, sub in _object(definition.get("properties"), f"{target}.properties").items():
            _check_field(sub, f"{target}.properties.{name}", rules, agentic=agentic, estimate=estimate)


def validate_patch(body: Any, rules: VersionRules) -> dict[str, Any]:
    """A ``PATCH /analyzers/{id}`` merge patch (``application/merge-patch+json``): in both versions
    only ``description`` and ``tags`` have update visibility in the SDK's ``ContentAnalyzer``."""
    patch = _object(body, "resource")
    _unknown(patch, PATCHABLE_PROPERTIES, "", rules.name)
    if patch.get("description") is not None and not isinstance(patch["description"], str):
        raise invalid("'description' must be a string.", target="description")
    if patch.get("tags") is not None:
        _check_tags(patch["tags"])
    return patch


def validate_analyze(body: Any, rules: VersionRules) -> tuple[list[InputSpec], dict[str, str]]:
    """The inputs and per-request model deployments of a ``POST :analyze`` JSON body."""
    body = _object(body, "body")
    _unknown(body, ANALYZE_PROPERTIES, "", rules.name)
    items = body.get("inputs")
    if not isinstance(items, list) or not items:
        raise invalid("The request must specify 'inputs'.", target="inputs")
    if len(items) > MAX_INPUTS:
        raise invalid(
            f"An analyze request takes {MAX_INPUTS} input in API version {rules.name}.", target="inputs"
        )
    inputs = [_input(item, f"inputs[{i}]", rules) for i, item in enumerate(items)]
    deployments = _object(body.get("modelDeployments", {}), "modelDeployments")
    if not all(isinstance(v, str) and v for v in deployments.values()):
        raise invalid(
            "'modelDeployments' must map model names to deployment names.", target="modelDeployments"
        )
    return inputs, deployments


def _input(item: Any, target: str, rules: VersionRules) -> InputSpec:
    item = _object(item, target)
    _unknown(item, INPUT_PROPERTIES, target, rules.name)
    if ("url" in item) == ("data" in item):
        raise invalid(f"Specify exactly one of '{target}.url' or '{target}.data'.", target=f"{target}.url")
    url = _url(item["url"], f"{target}.url") if "url" in item else None
    data = None
    if "data" in item:
        try:
            data = base64.b64decode(item["data"], validate=True) if isinstance(item["data"], str) else None
        except binascii.Error:
            data = None
        if data is None:
            raise invalid(f"'{target}.data' must be base64-encoded bytes.", target=f"{target}.data")
    for name in ("name", "mimeType", "range"):
        if name in item and not isinstance(item[name], str):
            raise invalid(f"'{target}.{name}' must be a string.", target=f"{target}.{name}")
    return InputSpec(url=url, data=data, name=item.get("name"), mime_type=item.get("mimeType"))
