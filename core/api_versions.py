"""Content Understanding API versions: what each one allows and requires, in one registry.

Everything that differs between CU API versions is a field of an ``ApiVersionProfile``, and
``API_VERSIONS`` maps every version the app speaks to its profile. The settings, the client, the
request bodies, the content-type limits and the analysis steps ask a profile
(``get_profile(version).allow_replace``) and never compare version strings, so adding a version
is one entry here, and dropping one is deleting its entry. Messages that say where a feature
exists ("pro mode exists only in 2025-05-01-preview") are worked out from the registry too.

An *analysis mode* (``AnalysisMode``) is a way of analyzing that an analyzer opts into through one
property of its definition, and that changes what one analyze request may carry: agentic mode
(``config.workflow: "agentic"``, 2026-06-01-preview) reasons over one input file, which may hold
several related documents, under the limits of one document (200 MB, 300 pages).

Versions Azure has retired are listed in ``RETIRED_API_VERSIONS`` with what replaced them, so that
a setting or a request naming one is refused with a message that says so (``RetiredApiVersionError``)
instead of failing at Content Understanding; retiring a version is moving its entry there.

Facts: the reference notes on the CU REST protocol (versions and lifecycle, endpoints, analyzer
and analyze bodies, limits, and the December 2026 update: agentic mode, inline analysis, model
aliases, retired versions), read against the 2025-11-01 OpenAPI spec and the SDK's 1.2.0b3 models.
"MB" is read as 10^6 bytes, the stricter reading. Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import PermanentError
from core.media_types import IMAGES_AND_PDF, OFFICE, TEXT_FORMATS

AGENTIC_MODE = "agentic"
"""The name of 2026-06-01-preview's agentic mode (an ``AnalysisMode``)."""

DEFAULT_API_VERSION = "2025-11-01"
"""What ``CONTENT_UNDERSTANDING_API_VERSION`` defaults to: the GA version."""

DEFAULT_AGENTIC_API_VERSION = "2026-06-01-preview"
"""What ``CONTENT_UNDERSTANDING_AGENTIC_API_VERSION`` defaults to: the version with agentic mode."""

MODEL_ALIASES = (
    "prebuilt-analyzer-completion",
    "prebuilt-analyzer-completion-mini",
    "prebuilt-analyzer-embedding",
)
"""The model names Azure's prebuilt analyzers use (2025-11-01 and later), each mapped to a deployment
through ``PATCH /defaults`` or an analyze request's ``modelDeployments``."""

_MB = 1_000_000


class Lifecycle(enum.StrEnum):
    """Where Azure stands with a version: the app speaks GA and preview ones, and refuses retired ones."""

    GA = "ga"
    PREVIEW = "preview"


@dataclass(frozen=True)
class FileLimits:
    """What one analysis accepts: the largest file per content type, and all inputs together."""

    max_bytes: Mapping[str, int]
    """Content type -> the largest accepted file; a type missing here is refused."""
    max_request_bytes: int | None = None
    """All inputs of one analyze request together; ``None`` when only the per-file limits apply."""
    max_pages: int | None = None
    """The most pages (or images) one analyze request may hold; ``None``: no page limit is checked."""


@dataclass(frozen=True)
class AnalysisMode:
    """A way of analyzing besides the standard one, chosen by one property of the analyzer."""

    name: str
    property_path: tuple[str, ...]
    """Where the analyzer definition chooses it: ``("mode",)``, or ``("config", "workflow")``."""
    value: str
    """The value at ``property_path`` that chooses this mode."""
    standard_value: str
    """The value at ``property_path`` that means standard analysis (absent means standard too)."""
    limits: FileLimits
    max_inputs_per_request: int | None
    """How many inputs one analyze request may carry in this mode; ``None``: no documented limit."""
    field_methods: frozenset[str] | None = None
    """The field ``method`` values an analyzer of this mode may name; ``None``: any."""
    base_analyzers: frozenset[str] | None = None
    """The ``baseAnalyzerId`` values it may build on (e.g. documents only); ``None``: any."""
    knowledge_sources: bool = True
    """Whether it may have ``knowledgeSources`` (labeled samples)."""
    resolved_value: str | None = None
    """What the service reports at ``property_path`` once it resolved this choice (``GET`` shows
    ``"agentic.2026-06-01-preview"`` for ``"agentic"``): a definition read back chooses the same."""
    resolved_standard_values: frozenset[str] = frozenset()
    """What it reports for standard analysis once resolved (``"standard.2026-06-01-preview"``)."""

    def chosen_by(self, definition: Mapping[str, Any]) -> bool:
        value = property_at(definition, self.property_path)
        return value is not None and value in (self.value, self.resolved_value)

    @property
    def accepted_values(self) -> tuple[str, ...]:
        """Every value ``property_path`` may hold in a definition of this mode's version."""
        resolved = (self.resolved_value,) if self.resolved_value else ()
        return (self.standard_value, self.value, *resolved, *sorted(self.resolved_standard_values))


@dataclass(frozen=True)
class KnowledgeSourceKind:
    """One ``knowledgeSources[].kind`` an analyzer may have, and what such a source must give."""

    required: tuple[str, ...]
    max_total_bytes: int | None = None
    """The documents behind all sources of this kind together; ``None``: no documented limit."""


@dataclass(frozen=True)
class AnalyzeBodyShape:
    """How the ``POST :analyze`` JSON body carries its inputs."""

    single_input_at_top_level: bool
    """One input goes in the body's own ``url``/``data``; otherwise every input is in ``inputs[]``."""
    input_properties: frozenset[str]
    """What an ``inputs[]`` entry may carry besides ``url``/``data`` (``name``, ``mimeType``)."""


@dataclass(frozen=True)
class ApiVersionProfile:
    """What one Content Understanding API version allows and requires."""

    version: str
    lifecycle: Lifecycle
    analyzer_properties: frozenset[str]
    """The writable properties of an analyzer definition (``PUT /analyzers/{id}``)."""
    property_notes: Mapping[str, str]
    """What a property of this version is, in words, for messages when another version refuses it."""
    knowledge_sources: Mapping[str, KnowledgeSourceKind]
    """Accepted ``knowledgeSources[].kind`` values."""
    allow_replace: bool
    """``PUT /analyzers/{id}?allowReplace=true`` exists; without it an existing id answers 409."""
    model_deployments: bool
    """Analyze requests may name model deployments (``modelDeployments``)."""
    analyze_body: AnalyzeBodyShape
    limits: FileLimits
    """Standard analysis's file limits."""
    max_inputs_per_request: int | None
    """How many inputs one standard analyze request may carry; ``None``: no documented limit."""
    binary_analyze_operation: str
    """The operation that takes a file's raw bytes as the body (``:analyze`` or ``:analyzeBinary``)."""
    default_processing_location: str
    """Where the service processes data when neither the analyzer nor the request says."""
    modes: tuple[AnalysisMode, ...] = field(default=())
    model_aliases: tuple[str, ...] = ()
    """The model aliases its prebuilt analyzers name (each needs a deployment, see ``MODEL_ALIASES``)."""
    inline_analysis: frozenset[str] = frozenset()
    """Analyzers that ``:analyzeInline``/``:analyzeBinaryInline`` serve (200 with the result, no
    operation); the app does not use it yet, and it exists in no GA version."""

    def mode(self, name: str) -> AnalysisMode:
        """The analysis mode ``name``; ``PermanentError`` naming the versions that have it if absent."""
        for mode in self.modes:
            if mode.name == name:
                return mode
        elsewhere = describe_versions(lambda profile: profile.has_mode(name))
        raise PermanentError(
            f"{name.capitalize()} mode needs API version {elsewhere or '(none has it)'}, not {self.version}",
            code="UnsupportedMode",
        )

    def has_mode(self, name: str) -> bool:
        return any(mode.name == name for mode in self.modes)

    def mode_of(self, definition: Mapping[str, Any]) -> AnalysisMode | None:
        """The analysis mode an analyzer ``definition`` chooses (``None``: standard analysis)."""
        return next((mode for mode in self.modes if mode.chosen_by(definition)), None)

    def file_limits(self, mode: str | None = None) -> FileLimits:
        """The file limits of standard analysis, or of analysis mode ``mode``."""
        return self.limits if mode is None else self.mode(mode).limits

    @property
    def most_inputs_per_request(self) -> int | None:
        """The most inputs any analyze request of this version may carry, in any mode."""
        counts = [self.max_inputs_per_request, *(mode.max_inputs_per_request for mode in self.modes)]
        return None if None in counts else max(count for count in counts if count is not None)


class UnknownApiVersionError(PermanentError):
    """A version the registry has no profile for; the message names the known ones."""

    code = "UnsupportedApiVersion"


class RetiredApiVersionError(UnknownApiVersionError):
    """A version Azure has retired; the message says what replaced it."""

    code = "RetiredApiVersion"


@dataclass(frozen=True)
class RetiredApiVersion:
    """A version Azure no longer serves: what replaced it, for the message that refuses it."""

    version: str
    retired: str
    """When, and on whose word (the reference notes' sources)."""
    successor: str
    """What to use instead, in words that name the live version."""
    property_notes: Mapping[str, str] = field(default_factory=dict)
    """Analyzer properties that existed only here, in words ("mode": "pro mode")."""


def property_at(definition: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in a nested definition, or ``None`` when any step is missing."""
    value: Any = definition
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


_COMMON_ANALYZER_PROPERTIES = frozenset(
    {
        "description",
        "tags",
        "baseAnalyzerId",
        "processingLocation",
        "config",
        "fieldSchema",
        "knowledgeSources",
    }
)
_LABELED_DATA = KnowledgeSourceKind(required=("containerUrl", "fileListPath"))
_GA_ANALYZE_BODY = AnalyzeBodyShape(
    single_input_at_top_level=False, input_properties=frozenset({"name", "mimeType"})
)
_STANDARD_LIMITS = FileLimits(
    {
        **dict.fromkeys(IMAGES_AND_PDF, 200 * _MB),
        **dict.fromkeys(OFFICE, 200 * _MB),
        **dict.fromkeys(TEXT_FORMATS, 1 * _MB),
    }
)

GA_2025_11_01 = ApiVersionProfile(
    version="2025-11-01",
    lifecycle=Lifecycle.GA,
    analyzer_properties=_COMMON_ANALYZER_PROPERTIES | {"dynamicFieldSchema", "models"},
    property_notes={"models": "model selection"},
    # The spec marks a labeled-data source's prefix optional (reference notes, December 2026).
    knowledge_sources={"labeledData": _LABELED_DATA},
    allow_replace=True,
    model_deployments=True,
    # The GA documentation still says only pro mode (which GA lacks) analyzes several inputs.
    analyze_body=_GA_ANALYZE_BODY,
    limits=_STANDARD_LIMITS,
    max_inputs_per_request=1,
    binary_analyze_operation=":analyzeBinary",
    default_processing_location="global",
    model_aliases=MODEL_ALIASES,
)

PREVIEW_2026_06_01 = ApiVersionProfile(
    version="2026-06-01-preview",
    lifecycle=Lifecycle.PREVIEW,
    # GA's analyzer, plus config.workflow (agentic), config.chunkingStrategy and friends inside config.
    analyzer_properties=_COMMON_ANALYZER_PROPERTIES | {"dynamicFieldSchema", "models"},
    property_notes={"models": "model selection"},
    knowledge_sources={"labeledData": _LABELED_DATA},
    allow_replace=True,
    model_deployments=True,
    analyze_body=_GA_ANALYZE_BODY,
    limits=_STANDARD_LIMITS,
    max_inputs_per_request=1,
    binary_analyze_operation=":analyzeBinary",
    default_processing_location="global",
    modes=(
        AnalysisMode(
            name=AGENTIC_MODE,
            property_path=("config", "workflow"),
            value="agentic",
            standard_value="default",
            # One input file per request, which may hold several related documents; document
            # analyzers only: a document's limits (PDF, TIFF, images, Office: 200 MB, 300 pages).
            limits=FileLimits(
                {**dict.fromkeys(IMAGES_AND_PDF, 200 * _MB), **dict.fromkeys(OFFICE, 200 * _MB)},
                max_request_bytes=200 * _MB,
                max_pages=300,
            ),
            max_inputs_per_request=1,
            # "generate and classify fields only (no extract); no labeled samples; document
            # analyzers only" (reference notes, December 2026).
            field_methods=frozenset({"generate", "classify"}),
            base_analyzers=frozenset({"prebuilt-document"}),
            knowledge_sources=False,
            # GET reports the choice resolved and versioned (the emulator's notes, SDK 1.2.0b3).
            resolved_value="agentic.2026-06-01-preview",
            resolved_standard_values=frozenset({"standard.2026-06-01-preview"}),
        ),
    ),
    model_aliases=MODEL_ALIASES,
    inline_analysis=frozenset({"prebuilt-read", "prebuilt-layout"}),
)

API_VERSIONS: dict[str, ApiVersionProfile] = {
    profile.version: profile for profile in (GA_2025_11_01, PREVIEW_2026_06_01)
}
"""Every API version the app speaks. Adding one is one entry; tests may add one for a test only."""

RETIRED_API_VERSIONS: dict[str, RetiredApiVersion] = {
    retired.version: retired
    for retired in (
        RetiredApiVersion(
            version="2024-12-01-preview",
            retired="by July 15, 2026 (Learn, standard and pro modes)",
            successor="2025-11-01 (GA)",
        ),
        RetiredApiVersion(
            version="2025-05-01-preview",
            retired='by July 15, 2026; "now retired" (Learn, agentic mode, 2026-07-22)',
            successor='agentic mode (config.workflow "agentic") in 2026-06-01-preview, '
            "or standard analysis in 2025-11-01 (GA)",
            property_notes={"mode": "pro mode", "trainingData": "training data"},
        ),
    )
}
"""Versions Azure no longer serves: settings and requests naming one are refused with these words."""


def get_profile(version: str) -> ApiVersionProfile:
    """The profile of ``version``; ``RetiredApiVersionError`` saying what replaced a retired one,
    ``UnknownApiVersionError`` naming the known versions for any other."""
    profile = API_VERSIONS.get(version)
    if profile is None:
        retired = RETIRED_API_VERSIONS.get(version)
        if retired is not None:
            raise RetiredApiVersionError(retired_message(retired))
        raise UnknownApiVersionError(
            f"Content Understanding API version {version!r} is not supported; "
            f"known versions: {', '.join(known_versions())}"
        )
    return profile


def retired_message(retired: RetiredApiVersion) -> str:
    return (
        f"Content Understanding API version {retired.version} is retired in Azure ({retired.retired}); "
        f"use {retired.successor}"
    )


def retired_property_note(name: str) -> str | None:
    """Where an analyzer property of a retired version went ("pro mode existed only in ...")."""
    for retired in RETIRED_API_VERSIONS.values():
        if name in retired.property_notes:
            return (
                f"{retired.property_notes[name]} existed only in {retired.version}, which Azure retired; "
                f"use {retired.successor}"
            )
    return None


def known_versions() -> tuple[str, ...]:
    return tuple(API_VERSIONS)


def versions_where(test: Callable[[ApiVersionProfile], bool]) -> tuple[str, ...]:
    """The versions whose profile passes ``test``, in registry order."""
    return tuple(version for version, profile in API_VERSIONS.items() if test(profile))


def describe_versions(test: Callable[[ApiVersionProfile], bool]) -> str:
    """``versions_where(test)`` for a message: "2025-11-01", "A or B" ("" when there is none)."""
    versions = versions_where(test)
    if not versions:
        return ""
    return versions[0] if len(versions) == 1 else f"{', '.join(versions[:-1])} or {versions[-1]}"
