"""Request bodies, built in one place per API version.

``build_analyzer_body`` and ``build_analyze_body`` turn our inputs into the JSON each version
expects, and refuse (``ContentUnderstandingRequestError``) what that version's service would
reject, so a mistake costs no round trip and names the offending field. Adding a version means
adding its rules here. Facts: the 2025-05-01-preview and 2025-11-01 OpenAPI specs.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from content_understanding.errors import ContentUnderstandingRequestError, redact_url
from core.settings import GA_API_VERSION, PRO_MODE_API_VERSION, SUPPORTED_API_VERSIONS

ANALYZER_ID_PATTERN = re.compile(r"[a-zA-Z0-9._-]{1,64}")
MAX_URL_LENGTH = 8192  # CU's limit on URL properties; the whole SAS URL must fit.

# Properties the service fills in. They are dropped, so a definition read back with GET can be
# sent again as is.
_READ_ONLY = frozenset({"analyzerId", "status", "createdAt", "lastModifiedAt", "warnings", "supportedModels"})

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
_ANALYZER_PROPERTIES: dict[str, frozenset[str]] = {
    PRO_MODE_API_VERSION: _COMMON_ANALYZER_PROPERTIES | {"mode", "trainingData"},
    GA_API_VERSION: _COMMON_ANALYZER_PROPERTIES | {"dynamicFieldSchema", "models"},
}
# Why a property of the other version is refused, for a message that says what to do.
_VERSION_HINTS = {
    "mode": "pro mode exists only in 2025-05-01-preview",
    "trainingData": "training data exists only in 2025-05-01-preview (GA uses knowledgeSources labeledData)",
    "models": "model selection exists only in 2025-11-01",
    "dynamicFieldSchema": "dynamicFieldSchema exists only in 2025-11-01",
}
_KNOWLEDGE_SOURCE_KIND = {PRO_MODE_API_VERSION: "reference", GA_API_VERSION: "labeledData"}
_KNOWLEDGE_SOURCE_REQUIRED = {
    PRO_MODE_API_VERSION: ("containerUrl", "fileListPath"),
    GA_API_VERSION: ("containerUrl", "prefix", "fileListPath"),
}
_MODES = ("standard", "pro")


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


def check_api_version(api_version: str) -> None:
    if api_version not in SUPPORTED_API_VERSIONS:
        raise ContentUnderstandingRequestError(
            f"API version {api_version!r} is not supported; use one of {', '.join(SUPPORTED_API_VERSIONS)}"
        )


def check_analyzer_id(analyzer_id: str) -> None:
    if not ANALYZER_ID_PATTERN.fullmatch(analyzer_id):
        raise ContentUnderstandingRequestError(
            f"Analyzer id {analyzer_id!r} is invalid: use 1-64 letters, digits, '.', '_' or '-'"
        )


def build_analyzer_body(definition: Mapping[str, Any], api_version: str) -> dict[str, Any]:
    """The ``PUT /analyzers/{id}`` body of ``definition`` for ``api_version``."""
    check_api_version(api_version)
    body = {name: copy.deepcopy(value) for name, value in definition.items() if name not in _READ_ONLY}
    unknown = sorted(set(body) - _ANALYZER_PROPERTIES[api_version])
    if unknown:
        hints = [_VERSION_HINTS[name] for name in unknown if name in _VERSION_HINTS]
        raise ContentUnderstandingRequestError(
            f"Analyzer definition has properties API version {api_version} does not accept: "
            f"{', '.join(unknown)}" + (f" ({'; '.join(hints)})" if hints else "")
        )
    if "mode" in body and body["mode"] not in _MODES:
        raise ContentUnderstandingRequestError(
            f"Analyzer mode must be 'standard' or 'pro', got {body['mode']!r}"
        )
    field_schema = body.get("fieldSchema")
    if field_schema is not None and not (
        isinstance(field_schema, dict) and isinstance(field_schema.get("fields"), dict)
    ):
        raise ContentUnderstandingRequestError(
            "Analyzer fieldSchema must be an object with a 'fields' object"
        )
    _check_knowledge_sources(body.get("knowledgeSources"), api_version)
    return body


def _check_knowledge_sources(sources: Any, api_version: str) -> None:
    if sources is None:
        return
    if not isinstance(sources, list):
        raise ContentUnderstandingRequestError("Analyzer knowledgeSources must be a list")
    kind = _KNOWLEDGE_SOURCE_KIND[api_version]
    for index, source in enumerate(sources):
        where = f"knowledgeSources[{index}]"
        if not isinstance(source, dict):
            raise ContentUnderstandingRequestError(f"Analyzer {where} must be an object")
        if source.get("kind") != kind:
            pro_only = source.get("kind") == "reference"
            hint = " (reference knowledge sources are pro mode: 2025-05-01-preview)" if pro_only else ""
            raise ContentUnderstandingRequestError(
                f"Analyzer {where} has kind {source.get('kind')!r}; API version {api_version} accepts "
                f"only {kind!r}{hint}"
            )
        missing = [name for name in _KNOWLEDGE_SOURCE_REQUIRED[api_version] if not source.get(name)]
        if missing:
            raise ContentUnderstandingRequestError(f"Analyzer {where} lacks {', '.join(missing)}")
        _check_url(source["containerUrl"], f"{where}.containerUrl")


def build_analyze_body(
    inputs: Sequence[AnalyzeInput],
    api_version: str,
    model_deployments: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``POST /analyzers/{id}:analyze`` body for ``inputs`` under ``api_version``.

    2025-11-01: ``{"inputs": [one input], "modelDeployments"?}``; the GA documentation still
    says only pro mode analyzes several inputs together, so one input per request.
    2025-05-01-preview: one input goes in the top-level ``url``/``data`` (valid for every
    analyzer); several go in ``inputs[]``, which the service accepts only for pro-mode analyzers.
    That version has no ``mimeType`` (the service detects the type) and no ``modelDeployments``.
    """
    check_api_version(api_version)
    if not inputs:
        raise ContentUnderstandingRequestError("Nothing to analyze: give at least one input")
    for item in inputs:
        _check_input(item)
    if api_version == GA_API_VERSION:
        if len(inputs) > 1:
            raise ContentUnderstandingRequestError(
                f"API version {api_version} analyzes one input per request, got {len(inputs)}; "
                "analyze them one by one, or use pro mode (2025-05-01-preview) for a combined analysis"
            )
        body: dict[str, Any] = {"inputs": [_ga_input(item) for item in inputs]}
        if model_deployments:
            body["modelDeployments"] = dict(model_deployments)
        return body
    if model_deployments:
        raise ContentUnderstandingRequestError(
            f"API version {api_version} has no modelDeployments (they are a 2025-11-01 feature)"
        )
    if len(inputs) == 1:
        return _source(inputs[0])
    return {"inputs": [{**_source(item), **({"name": item.name} if item.name else {})} for item in inputs]}


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


def _ga_input(item: AnalyzeInput) -> dict[str, Any]:
    body = _source(item)
    if item.name:
        body["name"] = item.name
    if item.mime_type:
        body["mimeType"] = item.mime_type
    return body
