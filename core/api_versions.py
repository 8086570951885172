"""Content Understanding API versions: what each one allows and requires, in one registry.

Everything that differs between CU API versions is a field of an ``ApiVersionProfile``, and
``API_VERSIONS`` maps every version the app speaks to its profile. The settings, the client, the
request bodies, the content-type limits and the analysis steps ask a profile
(``get_profile(version).allow_replace``) and never compare version strings, so adding a version
is one entry here, and dropping one is deleting its entry. Messages that say where a feature
exists ("pro mode exists only in 2025-05-01-preview") are worked out from the registry too.

An *analysis mode* (``AnalysisMode``) is a way of analyzing that an analyzer opts into through one
property of its definition, and that changes what one analyze request may carry: pro mode
(``"mode": "pro"``, 2025-05-01-preview) analyzes several PDF or image inputs together, under
stricter limits. A successor such as agentic mode (``config.workflow: "agentic"``) is one more
``AnalysisMode`` in its version's profile.

Facts: the reference notes on the CU REST protocol (versions and lifecycle, endpoints, analyzer
and analyze bodies, limits), read against the 2025-05-01-preview and 2025-11-01 OpenAPI specs.
"MB" is read as 10^6 bytes, the stricter reading. Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import PermanentError
from core.media_types import IMAGES_AND_PDF, OFFICE, TEXT_FORMATS

PRO_MODE = "pro"
"""The name of 2025-05-01-preview's pro mode (an ``AnalysisMode``)."""

DEFAULT_API_VERSION = "2025-11-01"
"""What ``CONTENT_UNDERSTANDING_API_VERSION`` defaults to: the GA version."""

DEFAULT_PRO_MODE_API_VERSION = "2025-05-01-preview"
"""What ``CONTENT_UNDERSTANDING_PRO_MODE_API_VERSION`` defaults to: the only version with pro mode."""

_MB = 1_000_000


class Lifecycle(enum.StrEnum):
    """Where Azure stands with a version (the app still speaks every version it has a profile for)."""

    GA = "ga"
    PREVIEW = "preview"
    RETIRED = "retired"


@dataclass(frozen=True)
class FileLimits:
    """What one analysis accepts: the largest file per content type, and all inputs together."""

    max_bytes: Mapping[str, int]
    """Content type -> the largest accepted file; a type missing here is refused."""
    max_request_bytes: int | None = None
    """All inputs of one analyze request together; ``None`` when only the per-file limits apply."""


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

    def chosen_by(self, definition: Mapping[str, Any]) -> bool:
        return bool(property_at(definition, self.property_path) == self.value)


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
_STANDARD_LIMITS = FileLimits(
    {
        **dict.fromkeys(IMAGES_AND_PDF, 200 * _MB),
        **dict.fromkeys(OFFICE, 200 * _MB),
        **dict.fromkeys(TEXT_FORMATS, 1 * _MB),
    }
)

PREVIEW_2025_05_01 = ApiVersionProfile(
    version="2025-05-01-preview",
    # Azure retired it (reference notes, December 2026); combined jobs still use it until they move
    # to agentic mode on 2026-06-01-preview.
    lifecycle=Lifecycle.RETIRED,
    analyzer_properties=_COMMON_ANALYZER_PROPERTIES | {"mode", "trainingData"},
    property_notes={"mode": "pro mode", "trainingData": "training data"},
    knowledge_sources={
        # "Reference data: documents only, ≤100 MB total".
        "reference": KnowledgeSourceKind(
            required=("containerUrl", "fileListPath"), max_total_bytes=100 * _MB
        ),
    },
    allow_replace=False,
    model_deployments=False,
    # The spec's AnalyzeInput has no mimeType (the service detects the type); several inputs only
    # in inputs[], which the service accepts for pro-mode analyzers alone.
    analyze_body=AnalyzeBodyShape(single_input_at_top_level=True, input_properties=frozenset({"name"})),
    limits=_STANDARD_LIMITS,
    max_inputs_per_request=1,
    binary_analyze_operation=":analyze",
    default_processing_location="geography",
    modes=(
        AnalysisMode(
            name=PRO_MODE,
            property_path=("mode",),
            value="pro",
            standard_value="standard",
            # PDF, TIFF and images only, at most 100 MB (and 150 pages) per request.
            limits=FileLimits(dict.fromkeys(IMAGES_AND_PDF, 100 * _MB), max_request_bytes=100 * _MB),
            max_inputs_per_request=None,  # no per-request file count is documented
        ),
    ),
)

GA_2025_11_01 = ApiVersionProfile(
    version="2025-11-01",
    lifecycle=Lifecycle.GA,
    analyzer_properties=_COMMON_ANALYZER_PROPERTIES | {"dynamicFieldSchema", "models"},
    property_notes={"models": "model selection"},
    knowledge_sources={
        "labeledData": KnowledgeSourceKind(required=("containerUrl", "prefix", "fileListPath")),
    },
    allow_replace=True,
    model_deployments=True,
    # The GA documentation still says only pro mode (which GA lacks) analyzes several inputs.
    analyze_body=AnalyzeBodyShape(
        single_input_at_top_level=False, input_properties=frozenset({"name", "mimeType"})
    ),
    limits=_STANDARD_LIMITS,
    max_inputs_per_request=1,
    binary_analyze_operation=":analyzeBinary",
    default_processing_location="global",
)

API_VERSIONS: dict[str, ApiVersionProfile] = {
    profile.version: profile for profile in (PREVIEW_2025_05_01, GA_2025_11_01)
}
"""Every API version the app speaks. Adding one is one entry; tests may add one for a test only."""


def get_profile(version: str) -> ApiVersionProfile:
    """The profile of ``version``; ``UnknownApiVersionError`` naming the known versions if none."""
    profile = API_VERSIONS.get(version)
    if profile is None:
        raise UnknownApiVersionError(
            f"Content Understanding API version {version!r} is not supported; "
            f"known versions: {', '.join(known_versions())}"
        )
    return profile


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
