"""An analysis: read the input, extract its text, fill the analyzer's fields, build the result and
its ``usage``.

One input per request (both live versions). An agentic analyzer's input may hold several logical
documents (a contract and its appendix in one PDF): its fields are answered over the whole file,
which is what the emulator does for every analyzer, and its usage is billed at the advanced
contextualization rate (``advancedContextualizationTokens``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp

from emulators.content_understanding.documents import (
    PAGE_BREAK,
    TEXT_TYPES,
    Extracted,
    check_size,
    detect_mime_type,
    extract,
    fetch,
)
from emulators.content_understanding.fields import fill_fields
from emulators.content_understanding.validation import InputSpec
from emulators.content_understanding.versions import GA

SOURCE_NOT_ACCESSIBLE = "ContentSourceNotAccessible"
TOKENS_PER_PAGE = 1000  # contextualization tokens per page (pricing explainer)
OFFICE_PREFIX = "application/vnd.openxmlformats-officedocument."


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AnalyzerView:
    """What an analysis needs to know of its analyzer."""

    analyzer_id: str
    definition: dict[str, Any]
    agentic: bool
    completion_model: str | None  # the model name its fields are generated with, if any


async def load(session: aiohttp.ClientSession, spec: InputSpec, allow_remote: bool) -> tuple[str, bytes]:
    """The input's type and bytes: fetched like the service does, or the bytes sent."""
    if spec.data is not None:
        return detect_mime_type(spec.mime_type, None, spec.label, spec.data), spec.data
    assert spec.url is not None
    data, header = await fetch(
        session,
        spec.url,
        f"input '{spec.label}'",
        allow_remote=allow_remote,
        inner_code=SOURCE_NOT_ACCESSIBLE,
    )
    return detect_mime_type(spec.mime_type, header, spec.label, data), data


async def analyze(
    session: aiohttp.ClientSession,
    analyzer: AnalyzerView,
    spec: InputSpec,
    *,
    api_version: str,
    allow_remote: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``result`` and ``usage`` of a succeeded analysis; ``OperationFailure`` fails it instead."""
    mime_type, data = await load(session, spec, allow_remote)
    check_size(mime_type, data, spec.label)
    document = extract(mime_type, data, spec.label)
    return build_result(analyzer, document, api_version=api_version, inline=False)


def build_result(
    analyzer: AnalyzerView,
    document: Extracted,
    *,
    api_version: str,
    inline: bool,
    warnings: tuple[dict[str, Any], ...] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    content = _content(document, analyzer)
    result = {
        "analyzerId": analyzer.analyzer_id,
        "apiVersion": api_version,
        "createdAt": utc_now(),
        "warnings": [*warnings, *document.warnings],
        "stringEncoding": "codePoint",
        "contents": [content],
    }
    return result, _usage(analyzer, document, content, api_version=api_version, inline=inline)


def _content(document: Extracted, analyzer: AnalyzerView) -> dict[str, Any]:
    markdown = document.markdown
    pages, starts, offset = [], [], 0
    for number, page in enumerate(document.pages, start=1):
        pages.append({"pageNumber": number, "spans": [{"offset": offset, "length": len(page)}]})
        starts.append(offset)
        offset += len(page) + len(PAGE_BREAK)
    content: dict[str, Any] = {
        "kind": "document",
        "mimeType": document.mime_type,
        "analyzerId": analyzer.analyzer_id,
        "markdown": markdown,
        "startPageNumber": 1,
        "endPageNumber": len(document.pages),
        "pages": pages,
    }
    field_schema = analyzer.definition.get("fieldSchema")
    if field_schema:
        config = analyzer.definition.get("config") or {}
        estimate = bool(config.get("estimateFieldSourceAndConfidence"))
        content["fields"] = fill_fields(field_schema, markdown, estimate=estimate, page_starts=starts)
    return content


def _usage(
    analyzer: AnalyzerView, document: Extracted, content: dict[str, Any], *, api_version: str, inline: bool
) -> dict[str, Any]:
    """Deterministic meters in the shape of GA ``UsageDetails``: pages by extraction level, and, when
    fields are generated, contextualization and model tokens (keyed ``<model>-input``/``-output``
    as in concepts/models-deployments.md)."""
    pages = len(document.pages)
    if document.mime_type in TEXT_TYPES or document.mime_type.startswith(OFFICE_PREFIX):
        level = "Minimal"  # digital text: nothing to recognise
    elif analyzer.analyzer_id == "prebuilt-read":
        level = "Basic"
    else:
        level = "Standard"
    usage: dict[str, Any] = {f"documentPages{level}{'Inline' if inline else ''}": pages}
    fields = content.get("fields")
    if fields is not None and analyzer.completion_model:
        meter = "advancedContextualizationTokens" if analyzer.agentic and api_version != GA else None
        usage[meter or "contextualizationTokens"] = TOKENS_PER_PAGE * pages
        usage["tokens"] = {
            f"{analyzer.completion_model}-input": len(content["markdown"]) // 4 + 50 * len(fields),
            f"{analyzer.completion_model}-output": 20 * len(fields),
        }
    return usage
