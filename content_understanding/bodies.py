"""Request bodies, built in one place from the API version's profile.

``build_analyzer_body`` and ``build_analyze_body`` turn our inputs into the JSON a version
expects, and refuse (``ContentUnderstandingRequestError``) what that version's service would
reject, so a mistake costs no round trip and names the offending field. What a version accepts
is its profile's (``core/api_versions.py``): nothing here names a version.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from content_understanding.errors import ContentUnderstandingRequestError, redact_url
from core.api_versions import (
    API_VERSIONS,
    AnalysisMode,
    ApiVersionProfile,
    UnknownApiVersionError,
    describe_versions,
    get_profile,
    property_at,
    retired_property_note,
)
from core.errors import InputError
from core.naming import check_analyzer_id as check_analyzer_id_rule

MAX_URL_LENGTH = 8192  # CU's limit on URL properties; the whole SAS URL must fit.

# Properties the service fills in. They are dropped, so a definition read back with GET can be
# sent again as is.
_READ_ONLY = frozenset({"analyzerId", "status", "createdAt", "lastModifiedAt", "warnings", "supportedModels"})


@dataclass(frozen=True)
class AnalyzeInput:
    """One document to analyze: a URL the service can read (a SAS URL), or the bytes themselves."""

    url: str | None = None
    data: bytes | None = None
    name: str | None = None
    mime_type: str | None = None

    def describe(self) -> str:
        """A safe label for messages: the name, else the redacted URL."""
        if self.name:
            return repr(self.name)
        return redact_url(self.url) if self.url else "inline data"


def profile_for(api_version: str) -> ApiVersionProfile:
    """The profile of ``api_version``; ``ContentUnderstandingRequestError`` if the app has none
    (a retired version's error says what replaced it)."""
    try:
        return get_profile(api_version)
    except UnknownApiVersionError as error:
        raise ContentUnderstandingRequestError(str(error)) from None


def check_analyzer_id(analyzer_id: str) -> None:
    """Refuse an id the service would refuse, or one a URL layer would rewrite (``.``, ``..``)."""
    try:
        check_analyzer_id_rule(analyzer_id)
    except InputError as error:
        raise ContentUnderstandingRequestError(str(error)) from None


def build_analyzer_body(definition: Mapping[str, Any], api_version: str) -> dict[str, Any]:
    """The ``PUT /analyzers/{id}`` body of ``definition`` for ``api_version``."""
    profile = profile_for(api_version)
    body = {name: copy.deepcopy(value) for name, value in definition.items() if name not in _READ_ONLY}
    unknown = sorted(set(body) - profile.analyzer_properties)
    if unknown:
        hints = [hint for hint in map(_property_hint, unknown) if hint]
        raise ContentUnderstandingRequestError(
            f"Analyzer definition has properties API version {api_version} does not accept: "
            f"{', '.join(unknown)}" + (f" ({'; '.join(hints)})" if hints else "")
        )
    _check_analysis_mode(body, profile)
    field_schema = body.get("fieldSchema")
    if field_schema is not None and not (
        isinstance(field_schema, dict) and isinstance(field_schema.get("fields"), dict)
    ):
        raise ContentUnderstandingRequestError(
            "Analyzer fieldSchema must be an object with a 'fields' object"
        )
    _check_knowledge_sources(body.get("knowledgeSources"), profile)
    return body


def _property_hint(name: str) -> str | None:
    """Where an analyzer property another version accepts exists ("pro mode exists only in ...")."""
    elsewhere = describe_versions(lambda profile: name in profile.analyzer_properties)
    if not elsewhere:
        return retired_property_note(name)
    notes = (profile.property_notes.get(name) for profile in API_VERSIONS.values())
    what = next((note for note in notes if note), name)
    return f"{what} exists only in {elsewhere}"


def _check_analysis_mode(body: Mapping[str, Any], profile: ApiVersionProfile) -> None:
    """The properties that choose an analysis mode hold a value this version knows."""
    allowed: dict[tuple[str, ...], list[str]] = {}
    for mode in profile.modes:
        allowed.setdefault(mode.property_path, [mode.standard_value]).append(mode.value)
    for mode in profile.modes:
        path = mode.property_path
        value = property_at(body, path)
        if value is not None and value not in mode.accepted_values:
            raise ContentUnderstandingRequestError(
                f"Analyzer {'.'.join(path)} must be {' or '.join(map(repr, allowed[path]))}, got {value!r}"
            )
    # A mode of another version, chosen through a property this version also has (config.workflow).
    for other in API_VERSIONS.values():
        for mode in other.modes:
            if mode.chosen_by(body) and not profile.has_mode(mode.name):
                raise ContentUnderstandingRequestError(
                    f"Analyzer {'.'.join(mode.property_path)} {mode.value!r} chooses {mode.name} mode, "
                    f"which exists only in {_versions_with_mode(mode.name)}"
                )
    chosen = profile.mode_of(body)
    if chosen is not None:
        _check_mode_rules(body, chosen)


def _check_mode_rules(body: Mapping[str, Any], mode: AnalysisMode) -> None:
    """What an analyzer of ``mode`` may not have: other bases, other field methods, knowledge sources."""
    base = body.get("baseAnalyzerId")
    if mode.base_analyzers is not None and base is not None and base not in mode.base_analyzers:
        raise ContentUnderstandingRequestError(
            f"A {mode.name} analyzer builds on {' or '.join(sorted(mode.base_analyzers))}, not {base!r}"
        )
    if not mode.knowledge_sources and body.get("knowledgeSources"):
        raise ContentUnderstandingRequestError(f"A {mode.name} analyzer takes no knowledgeSources")
    if mode.field_methods is None:
        return
    schema = body.get("fieldSchema")
    fields = schema.get("fields") if isinstance(schema, Mapping) else None
    for path, method in _field_methods(fields, "fieldSchema.fields"):
        if method not in mode.field_methods:
            raise ContentUnderstandingRequestError(
                f"Analyzer field {path} has method {method!r}; a {mode.name} analyzer's fields use "
                f"{' or '.join(map(repr, sorted(mode.field_methods)))}"
            )


def _field_methods(fields: Any, where: str) -> list[tuple[str, Any]]:
    """Every ``method`` named in a field map, nested items and properties included, with its path."""
    found: list[tuple[str, Any]] = []
    if not isinstance(fields, Mapping):
        return found
    for name, field in fields.items():
        if not isinstance(field, Mapping):
            continue
        path = f"{where}.{name}"
        if "method" in field:
            found.append((path, field["method"]))
        found.extend(_field_methods(field.get("properties"), f"{path}.properties"))
        items = field.get("items")
        if isinstance(items, Mapping):
            found.extend(_field_methods({"items": items}, path))
    return found


def _versions_with_knowledge_source(kind: Any) -> str:
    return describe_versions(lambda profile: kind in profile.knowledge_sources)


def _versions_with_mode(name: str) -> str:
    return describe_versions(lambda profile: profile.has_mode(name))


def _check_knowledge_sources(sources: Any, profile: ApiVersionProfile) -> None:
    if sources is None:
        return
    if not isinstance(sources, list):
        raise ContentUnderstandingRequestError("Analyzer knowledgeSources must be a list")
    kinds = profile.knowledge_sources
    for index, source in enumerate(sources):
        where = f"knowledgeSources[{index}]"
        if not isinstance(source, dict):
            raise ContentUnderstandingRequestError(f"Analyzer {where} must be an object")
        kind = source.get("kind")
        if not isinstance(kind, str) or kind not in kinds:
            elsewhere = _versions_with_knowledge_source(kind)
            hint = f" ({kind} knowledge sources exist only in {elsewhere})" if elsewhere else ""
            raise ContentUnderstandingRequestError(
                f"Analyzer {where} has kind {kind!r}; API version {profile.version} accepts "
                f"only {' or '.join(map(repr, kinds)) or 'none'}{hint}"
            )
        missing = [name for name in kinds[kind].required if not source.get(name)]
        if missing:
            raise ContentUnderstandingRequestError(f"Analyzer {where} lacks {', '.join(missing)}")
        _check_url(source["containerUrl"], f"{where}.containerUrl")


def build_analyze_body(
    inputs: Sequence[AnalyzeInput],
    api_version: str,
    model_deployments: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``POST /analyzers/{id}:analyze`` body for ``inputs`` under ``api_version``.

    The profile says how many inputs one request may carry (in any of the version's analysis
    modes: the service, knowing the analyzer, refuses the rest), whether one input goes in the
    body's own ``url``/``data`` or every input in ``inputs[]``, what an ``inputs[]`` entry carries
    besides its source (``name``, ``mimeType``), and whether ``modelDeployments`` exist.
    """
    profile = profile_for(api_version)
    if not inputs:
        raise ContentUnderstandingRequestError("Nothing to analyze: give at least one input")
    for item in inputs:
        _check_input(item)
    most = profile.most_inputs_per_request
    if most is not None and len(inputs) > most:
        raise ContentUnderstandingRequestError(
            f"API version {api_version} analyzes "
            + ("one input per request" if most == 1 else f"at most {most} inputs per request")
            + f", got {len(inputs)}; analyze them one by one{_combined_analysis_hint(len(inputs))}"
        )
    if model_deployments and not profile.model_deployments:
        elsewhere = describe_versions(lambda p: p.model_deployments)
        raise ContentUnderstandingRequestError(
            f"API version {api_version} has no modelDeployments"
            + (f" (they exist in {elsewhere})" if elsewhere else "")
        )
    shape = profile.analyze_body
    body: dict[str, Any]
    if shape.single_input_at_top_level and len(inputs) == 1:
        body = _source(inputs[0])
    else:
        body = {"inputs": [_input_entry(item, shape.input_properties) for item in inputs]}
    if model_deployments:
        body["modelDeployments"] = dict(model_deployments)
    return body


def _combined_analysis_hint(count: int) -> str:
    """Where ``count`` inputs can be analyzed together: the modes (and versions) that take them."""
    modes = [
        f"{mode.name} mode ({profile.version})"
        for profile in API_VERSIONS.values()
        for mode in profile.modes
        if mode.max_inputs_per_request is None or mode.max_inputs_per_request >= count
    ]
    return f", or use {' or '.join(modes)} for a combined analysis" if modes else ""


def _check_input(item: AnalyzeInput) -> None:
    if (item.url is None) == (item.data is None):
        raise ContentUnderstandingRequestError(
            f"Input {item.describe()} must have exactly one of url or data"
        )
    if item.url is not None:
        _check_url(item.url, f"input {item.describe()}")


def _check_url(url: Any, what: str) -> None:
    if not isinstance(url, str):
        raise ContentUnderstandingRequestError(f"The URL of {what} must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ContentUnderstandingRequestError(
            f"The URL of {what} must be an http(s) URL, got {redact_url(url)}"
        )
    if len(url) > MAX_URL_LENGTH:
        raise ContentUnderstandingRequestError(
            f"The URL of {what} is {len(url)} characters long; Content Understanding accepts {MAX_URL_LENGTH}"
        )


def _source(item: AnalyzeInput) -> dict[str, Any]:
    if item.url is not None:
        return {"url": item.url}
    assert item.data is not None  # _check_input guarantees one of the two
    return {"data": base64.b64encode(item.data).decode("ascii")}


def _input_entry(item: AnalyzeInput, properties: frozenset[str]) -> dict[str, Any]:
    body = _source(item)
    if item.name and "name" in properties:
        body["name"] = item.name
    if item.mime_type and "mimeType" in properties:
        body["mimeType"] = item.mime_type
    return body
