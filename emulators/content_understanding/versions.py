"""What each live API version accepts, and which versions Azure has retired.

Sources, most exact first: the official Python SDK's models (``azure-ai-contentunderstanding``
1.1.0 for 2025-11-01, 1.2.0b3 for 2026-06-01-preview, generated from the same TypeSpec as the
REST specs), the REST specs in Azure/azure-rest-api-specs (``stable/2025-11-01``,
``preview/2026-06-01-preview``) and the Learn pages (``concepts/analyzer-reference.md``,
``concepts/agentic-mode.md``, ``concepts/models-deployments.md``). Where the docs list more than
the SDK (``enableBarcode``, ``enableAnnotations``) the docs win; docs/content-understanding-emulator.md
lists every such choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GA = "2025-11-01"
PREVIEW = "2026-06-01-preview"
# Retired by July 15, 2026 (Learn, concepts/agentic-mode.md, 2026-07-22: "Pro mode is only available
# in the 2025-05-01-preview API, which is now retired"). They answer 400 UnsupportedApiVersion.
RETIRED = ("2024-12-01-preview", "2025-05-01-preview")

_ANALYZER = {
    "description", "tags", "baseAnalyzerId", "processingLocation", "config", "fieldSchema",
    "dynamicFieldSchema", "models", "knowledgeSources",
}  # fmt: skip
# ContentAnalyzerConfig of SDK 1.1.0, plus the two keys the analyzer reference lists for document
# analyzers and the SDK lacks.
_GA_CONFIG = {
    "returnDetails", "locales", "enableOcr", "enableLayout", "enableFigureDescription",
    "enableFigureAnalysis", "enableFormula", "tableFormat", "chartFormat", "annotationFormat",
    "disableFaceBlurring", "estimateFieldSourceAndConfidence", "contentCategories", "enableSegment",
    "segmentPerPage", "omitContent",
    "enableBarcode", "enableAnnotations",
}  # fmt: skip
# ContentAnalyzerConfig of SDK 1.2.0b3 adds these.
_PREVIEW_CONFIG = _GA_CONFIG | {"workflow", "allowInputTruncation", "allowInPageSegments", "chunkingStrategy"}
_FIELD_PROPERTIES = {
    "method", "type", "description", "items", "properties", "examples", "enum", "enumDescriptions", "$ref",
    "estimateSourceAndConfidence",
}  # fmt: skip
_FIELD_TYPES = {"string", "date", "time", "number", "integer", "boolean", "array", "object", "json"}


@dataclass(frozen=True)
class VersionRules:
    name: str
    config_properties: frozenset[str]
    has_workflows: bool  # config.workflow (agentic mode)
    has_inline: bool  # :analyzeInline and :analyzeBinaryInline
    usage_keys: frozenset[str]  # what a result's ``usage`` may report


_GA_USAGE = {
    "documentPagesMinimal", "documentPagesBasic", "documentPagesStandard", "audioHours", "videoHours",
    "contextualizationTokens", "tokens",
}  # fmt: skip
RULES: dict[str, VersionRules] = {
    GA: VersionRules(GA, frozenset(_GA_CONFIG), False, False, frozenset(_GA_USAGE)),
    PREVIEW: VersionRules(
        PREVIEW,
        frozenset(_PREVIEW_CONFIG),
        True,
        True,
        frozenset(
            _GA_USAGE
            | {
                "documentPagesMinimalInline",
                "documentPagesBasicInline",
                "documentPagesStandardInline",
                "advancedContextualizationTokens",
            }
        ),
    ),
}
ANALYZER_PROPERTIES = frozenset(_ANALYZER)
FIELD_PROPERTIES = frozenset(_FIELD_PROPERTIES)
FIELD_TYPES = frozenset(_FIELD_TYPES)
READ_ONLY_ANALYZER_PROPERTIES = frozenset(
    {"analyzerId", "status", "createdAt", "lastModifiedAt", "warnings", "supportedModels"}
)
PATCHABLE_PROPERTIES = frozenset({"description", "tags"})  # ContentAnalyzer fields with "update" visibility
ANALYZE_PROPERTIES = frozenset({"inputs", "modelDeployments"})
INPUT_PROPERTIES = frozenset({"url", "data", "name", "mimeType", "range"})
LABELED_DATA_PROPERTIES = frozenset({"kind", "containerUrl", "prefix", "fileListPath"})
PROCESSING_LOCATIONS = frozenset({"geography", "dataZone", "global"})
TABLE_FORMATS = frozenset({"html", "markdown"})
MAX_FIELDS = 1000
MAX_TAGS = 10

# Workflows (2026-06-01-preview): what a PUT may say, and what the service stores instead.
# "default" (or none) resolves to standard or advanced "based on your analyzer configuration"; the
# emulator always picks standard (the rule is not published).
AGENTIC = "agentic"
WORKFLOW_SELECTORS = {"default": f"standard.{PREVIEW}", AGENTIC: f"{AGENTIC}.{PREVIEW}"}
RESOLVED_WORKFLOWS = frozenset({f"standard.{PREVIEW}", f"advanced.{PREVIEW}", f"{AGENTIC}.{PREVIEW}"})

# Model aliases (concepts/models-deployments.md): prebuilt analyzers name these, and PATCH /defaults
# or a request's modelDeployments map them to deployments.
COMPLETION = "prebuilt-analyzer-completion"
COMPLETION_MINI = "prebuilt-analyzer-completion-mini"
EMBEDDING = "prebuilt-analyzer-embedding"
MODEL_ALIASES = frozenset({COMPLETION, COMPLETION_MINI, EMBEDDING})
# Service limits, "supported generative models" (as of 2026): what supportedModels reports.
SUPPORTED_MODELS = {
    "completion": ["gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "gpt-5", "gpt-5-mini",
                   "gpt-5.2"],
    "embedding": ["text-embedding-3-large", "text-embedding-3-small", "text-embedding-ada-002"],
}  # fmt: skip


@dataclass(frozen=True)
class Prebuilt:
    """A prebuilt analyzer: the content it takes, the models it names, its own fields."""

    kind: str  # document | image | audio | video
    description: str
    models: dict[str, str]
    field_schema: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    inline: bool = False  # may be analyzed with :analyzeInline / :analyzeBinaryInline
    base: bool = False  # may be a custom analyzer's baseAnalyzerId

    def definition(self) -> dict[str, Any]:
        body: dict[str, Any] = {"description": self.description}
        if self.config:
            body["config"] = dict(self.config)
        if self.field_schema:
            body["fieldSchema"] = self.field_schema
        if self.models:
            body["models"] = dict(self.models)
            body["supportedModels"] = {role: list(SUPPORTED_MODELS[role]) for role in self.models}
        return body


_FULL = {"completion": COMPLETION, "embedding": EMBEDDING}
_MINI = {"completion": COMPLETION_MINI, "embedding": EMBEDDING}
_ESTIMATE = {"estimateFieldSourceAndConfidence": True, "returnDetails": True}


def _fields(**fields: tuple[str, str]) -> dict[str, Any]:
    return {name: {"type": kind, "description": text} for name, (kind, text) in fields.items()}


# A subset of Azure's prebuilt analyzers (concepts/prebuilt-analyzers.md); the emulator's fields of
# prebuilt-invoice and prebuilt-receipt are a short list of its own (Azure's are longer).
PREBUILTS: dict[str, Prebuilt] = {
    "prebuilt-read": Prebuilt("document", "Extract text (read)", {}, inline=True),
    "prebuilt-layout": Prebuilt("document", "Extract text and layout", {}, inline=True),
    "prebuilt-document": Prebuilt("document", "Base analyzer for documents", _FULL, base=True),
    "prebuilt-image": Prebuilt("image", "Base analyzer for images", _FULL, base=True),
    "prebuilt-audio": Prebuilt("audio", "Base analyzer for audio", _FULL, base=True),
    "prebuilt-video": Prebuilt("video", "Base analyzer for video", _FULL, base=True),
    "prebuilt-documentSearch": Prebuilt("document", "Documents for retrieval-augmented generation", _MINI),
    "prebuilt-imageSearch": Prebuilt("image", "Images for retrieval-augmented generation", _MINI),
    "prebuilt-audioSearch": Prebuilt("audio", "Audio for retrieval-augmented generation", _MINI),
    "prebuilt-videoSearch": Prebuilt("video", "Video for retrieval-augmented generation", _MINI),
    "prebuilt-invoice": Prebuilt(
        "document",
        "Invoice fields",
        _FULL,
        config=_ESTIMATE,
        field_schema={
            "name": "Invoice",
            "fields": _fields(
                InvoiceId=("string", "Invoice number"),
                InvoiceDate=("date", "Invoice date"),
                DueDate=("date", "Due date"),
                VendorName=("string", "Vendor name"),
                CustomerName=("string", "Customer name"),
                SubTotal=("number", "Subtotal"),
                TotalTax=("number", "Total tax"),
                InvoiceTotal=("number", "Invoice total"),
                AmountDue=("number", "Amount due"),
                PaymentTerm=("string", "Payment terms"),
            ),
        },
    ),
    "prebuilt-receipt": Prebuilt(
        "document",
        "Receipt fields",
        _FULL,
        config=_ESTIMATE,
        field_schema={
            "name": "Receipt",
            "fields": _fields(
                MerchantName=("string", "Merchant name"),
                TransactionDate=("date", "Transaction date"),
                Total=("number", "Total"),
                TotalTax=("number", "Total tax"),
            ),
        },
    ),
}
