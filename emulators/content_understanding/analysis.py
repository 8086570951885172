"""An analysis: read every input, extract its text, fill the analyzer's fields, build the result.

Several inputs of a pro-mode analyzer give one consolidated content (their markdown joined, the
fields filled over all of it), as the service returns one result for a pro-mode analysis.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp

from emulators.content_understanding.documents import (
    PAGE_BREAK,
    Extracted,
    check_size,
    detect_mime_type,
    extract,
    fetch,
)
from emulators.content_understanding.errors import OperationFailure
from emulators.content_understanding.fields import fill_fields
from emulators.content_understanding.validation import InputSpec
from emulators.content_understanding.versions import GA

# Pro mode (standard-pro-modes.md): documents only, PDF/TIFF/images, 100 MB per request.
PRO_MODE_TYPES = frozenset(
    {"application/pdf", "image/tiff", "image/jpeg", "image/png", "image/bmp", "image/heif"}
)
PRO_MODE_LIMIT_BYTES = 100 * 1024 * 1024
SOURCE_NOT_ACCESSIBLE = "ContentSourceNotAccessible"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def _load(session: aiohttp.ClientSession, spec: InputSpec, allow_remote: bool) -> tuple[str, bytes]:
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
    *,
    analyzer_id: str,
    definition: dict[str, Any],
    inputs: list[InputSpec],
    api_version: str,
    pro_mode: bool,
    allow_remote: bool,
    knowledge: str = "",
) -> dict[str, Any]:
    """The ``result`` of a succeeded analysis; ``OperationFailure`` fails the operation instead."""
    loaded = await asyncio.gather(*(_load(session, spec, allow_remote) for spec in inputs))
    if pro_mode:
        _check_pro_mode_inputs(inputs, loaded)
    documents = []
    for spec, (mime_type, data) in zip(inputs, loaded, strict=True):
        check_size(mime_type, data, spec.label)
        documents.append(extract(mime_type, data, spec.label))
    if pro_mode and len(documents) > 1:
        documents = [_combine(documents)]
    field_schema = definition.get("fieldSchema")
    contents = [
        _content(document, field_schema, analyzer_id, api_version, knowledge) for document in documents
    ]
    return {
        "analyzerId": analyzer_id,
        "apiVersion": api_version,
        "createdAt": utc_now(),
        "warnings": [warning for document in documents for warning in document.warnings],
        "stringEncoding": "codePoint",
        "contents": contents,
    }


def _check_pro_mode_inputs(inputs: list[InputSpec], loaded: list[tuple[str, bytes]]) -> None:
    for spec, (mime_type, _) in zip(inputs, loaded, strict=True):
        if mime_type not in PRO_MODE_TYPES:
            raise OperationFailure(
                "InvalidRequest",
                f"Pro mode analyzes PDF, TIFF and image files only; '{spec.label}' is {mime_type}.",
                inner_code="UnsupportedContent",
            )
    total = sum(len(data) for _, data in loaded)
    if total > PRO_MODE_LIMIT_BYTES:
        raise OperationFailure(
            "InvalidRequest",
            f"Pro mode analyzes at most {PRO_MODE_LIMIT_BYTES} bytes per request, got {total}.",
            inner_code="InvalidContentLength",
        )


def _combine(documents: list[Extracted]) -> Extracted:
    pages = [page for document in documents for page in document.pages]
    warnings = [warning for document in documents for warning in document.warnings]
    return Extracted("application/pdf", pages, warnings)


def _content(
    document: Extracted,
    field_schema: dict[str, Any] | None,
    analyzer_id: str,
    api_version: str,
    knowledge: str,
) -> dict[str, Any]:
    markdown = document.markdown
    pages, offset = [], 0
    for number, page in enumerate(document.pages, start=1):
        pages.append({"pageNumber": number, "spans": [{"offset": offset, "length": len(page)}]})
        offset += len(page) + len(PAGE_BREAK)
    content: dict[str, Any] = {
        "kind": "document",
        "mimeType": document.mime_type,
        "markdown": markdown,
        "startPageNumber": 1,
        "endPageNumber": len(document.pages),
        "pages": pages,
    }
    if api_version == GA:
        content["analyzerId"] = analyzer_id
    if field_schema:
        content["fields"] = fill_fields(field_schema, markdown, knowledge)
    return content
