"""Pro-mode reference knowledge sources: checked like the service must read them.

For each ``{"kind": "reference", "containerUrl", "prefix", "fileListPath"}`` the emulator reads
``<prefix><fileListPath>`` through the container SAS, expects one JSON line per document
(``{"file": "X.pdf", "resultFile": "X.pdf.result.json"}``, names relative to the prefix), and
reads every listed file and result file. The result file must be a succeeded prebuilt analysis
(``{"status": "Succeeded", "result": {"contents": [...]}}``). Any problem fails the creation.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from emulators.content_understanding.documents import fetch
from emulators.content_understanding.errors import OperationFailure

NOT_ACCESSIBLE = "KnowledgeSourceNotAccessible"
INVALID = "InvalidKnowledgeSource"


def _blob_url(container_url: str, name: str) -> str:
    """The URL of blob ``name`` in the container, signed with the container URL's SAS."""
    parts = urlsplit(container_url)
    path = f"{parts.path.rstrip('/')}/{quote(name, safe='/')}"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _invalid(index: int, problem: str) -> OperationFailure:
    return OperationFailure("InvalidRequest", f"knowledgeSources[{index}]: {problem}", inner_code=INVALID)


async def check_reference_sources(
    session: aiohttp.ClientSession, sources: list[dict[str, Any]], *, allow_remote: bool
) -> str:
    """Read every reference knowledge source as the service would; returns their markdown."""
    markdown: list[str] = []
    for index, source in enumerate(sources):
        prefix = source.get("prefix") or ""
        list_path = prefix + source["fileListPath"]

        async def read(name: str, index: int = index, source: dict[str, Any] = source) -> bytes:
            data, _ = await fetch(
                session, _blob_url(source["containerUrl"], name), f"knowledgeSources[{index}] '{name}'",
                allow_remote=allow_remote, inner_code=NOT_ACCESSIBLE,
            )  # fmt: skip
            return data

        entries = _parse_file_list(await read(list_path), index, list_path)
        for entry in entries:
            if not await read(prefix + entry["file"]):
                raise _invalid(index, f"'{entry['file']}' is empty.")
            markdown += _check_result_file(
                await read(prefix + entry["resultFile"]), index, entry["resultFile"]
            )
    return "\n\n".join(markdown)


def _parse_file_list(data: bytes, index: int, list_path: str) -> list[dict[str, str]]:
    entries = []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise _invalid(index, f"line {number} of '{list_path}' is not JSON.") from None
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("file"), str)
            and isinstance(entry.get("resultFile"), str)
        ):
            raise _invalid(index, f"line {number} of '{list_path}' needs string 'file' and 'resultFile'.")
        entries.append(entry)
    if not entries:
        raise _invalid(index, f"'{list_path}' lists no documents.")
    return entries


def _check_result_file(data: bytes, index: int, name: str) -> list[str]:
    """The markdown of a reference's ``.result.json`` (the whole operation of analysing it)."""
    try:
        body = json.loads(data)
    except ValueError:
        raise _invalid(index, f"result file '{name}' is not JSON.") from None
    result = body.get("result") if isinstance(body, dict) else None
    if (
        body.get("status") != "Succeeded"
        or not isinstance(result, dict)
        or not isinstance(result.get("contents"), list)
    ):
        raise _invalid(index, f"result file '{name}' is not a succeeded analysis result.")
    return [str(content.get("markdown", "")) for content in result["contents"] if isinstance(content, dict)]
