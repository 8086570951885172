"""What each API version accepts, from its OpenAPI spec (2025-05-01-preview, 2025-11-01)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREVIEW = "2025-05-01-preview"
GA = "2025-11-01"

_COMMON_ANALYZER = {"description", "tags", "baseAnalyzerId", "processingLocation", "config", "fieldSchema"}
_PREVIEW_CONFIG = {
    "returnDetails", "locales", "enableFace", "personDirectoryId", "enableOcr", "enableLayout", "tableFormat",
    "enableFormula", "disableFaceBlurring", "disableContentFiltering", "estimateFieldSourceAndConfidence",
    "segmentationMode", "segmentationDefinition",
}  # fmt: skip
_GA_CONFIG = _PREVIEW_CONFIG | {
    "enableFigureDescription", "enableFigureAnalysis", "chartFormat", "annotationFormat", "contentCategories",
    "enableSegment", "segmentPerPage", "omitContent",
}  # fmt: skip
_FIELD_PROPERTIES = {
    "method", "type", "description", "items", "properties", "examples", "enum", "enumDescriptions", "$ref",
}  # fmt: skip
_FIELD_TYPES = {"string", "date", "time", "number", "integer", "boolean", "array", "object"}


@dataclass(frozen=True)
class VersionRules:
    name: str
    analyzer_properties: frozenset[str]
    config_properties: frozenset[str]
    table_formats: frozenset[str]
    field_properties: frozenset[str]
    field_types: frozenset[str]
    knowledge_source_kind: str
    knowledge_source_required: tuple[str, ...]
    analyze_properties: frozenset[str]
    input_properties: frozenset[str]
    patchable_properties: frozenset[str]
    prebuilt_analyzers: dict[str, dict[str, Any]]
    has_defaults: bool  # GET/PATCH /defaults and model deployments
    max_inputs: int  # inputs per analyze request (pro mode: unlimited, see analysis.py)


# Prebuilt analyzers. GA ones name the models they need, so analyzing with them requires a
# deployment for each (per request `modelDeployments` or `PATCH /defaults`).
_GA_MODELS = {"completion": "gpt-4.1"}
PREBUILT_DOCUMENT_KINDS = {"document", "image", "audio", "video"}

RULES: dict[str, VersionRules] = {
    PREVIEW: VersionRules(
        name=PREVIEW,
        analyzer_properties=frozenset(_COMMON_ANALYZER | {"mode", "trainingData", "knowledgeSources"}),
        config_properties=frozenset(_PREVIEW_CONFIG),
        table_formats=frozenset({"html"}),
        field_properties=frozenset(_FIELD_PROPERTIES),
        field_types=frozenset(_FIELD_TYPES),
        knowledge_source_kind="reference",
        knowledge_source_required=("containerUrl", "fileListPath"),
        analyze_properties=frozenset({"url", "data", "inputs"}),
        input_properties=frozenset({"url", "data", "name"}),
        patchable_properties=frozenset({"description", "tags", "knowledgeSources"}),
        prebuilt_analyzers={
            f"prebuilt-{kind}Analyzer": {"kind": kind, "description": f"Prebuilt {kind} analyzer"}
            for kind in PREBUILT_DOCUMENT_KINDS
        },
        has_defaults=False,
        max_inputs=1,
    ),
    GA: VersionRules(
        name=GA,
        analyzer_properties=frozenset(
            _COMMON_ANALYZER | {"dynamicFieldSchema", "models", "knowledgeSources"}
        ),
        config_properties=frozenset(_GA_CONFIG),
        table_formats=frozenset({"html", "markdown"}),
        field_properties=frozenset(_FIELD_PROPERTIES | {"estimateSourceAndConfidence"}),
        field_types=frozenset(_FIELD_TYPES | {"json"}),
        knowledge_source_kind="labeledData",
        knowledge_source_required=("containerUrl", "prefix", "fileListPath"),
        analyze_properties=frozenset({"inputs", "modelDeployments"}),
        input_properties=frozenset({"url", "data", "name", "mimeType", "range"}),
        patchable_properties=frozenset({"description", "tags"}),
        prebuilt_analyzers={
            f"prebuilt-{kind}": {
                "kind": kind,
                "description": f"Prebuilt {kind} analyzer",
                "models": _GA_MODELS,
            }
            for kind in PREBUILT_DOCUMENT_KINDS
        },
        has_defaults=True,
        max_inputs=1,
    ),
}
READ_ONLY_ANALYZER_PROPERTIES = frozenset(
    {"analyzerId", "status", "createdAt", "lastModifiedAt", "warnings", "supportedModels"}
)
PROCESSING_LOCATIONS = frozenset({"geography", "dataZone", "global"})
PRO_MODE_BASE_ANALYZER = "prebuilt-documentAnalyzer"
MAX_FIELDS = {"pro": 100, "standard": 1000}
MAX_TAGS = 10


def prebuilt_analyzer(analyzer_id: str) -> tuple[str, dict[str, Any]] | None:
    """``(version, description)`` of a prebuilt analyzer id, whichever version defines it."""
    for version, rules in RULES.items():
        if analyzer_id in rules.prebuilt_analyzers:
            return version, rules.prebuilt_analyzers[analyzer_id]
    return None
