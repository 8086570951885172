"""Pro-mode knowledge bases: reference files laid out the way Content Understanding reads them.

The recipe (``2025-05-01-preview``, the reference notes' "Pro-mode reference knowledge base"):
under one prefix of the references container, each reference document ``X.pdf`` sits beside
``X.pdf.result.json`` (the whole operation JSON of analyzing it with ``prebuilt-documentAnalyzer``),
and ``sources.jsonl`` lists them, one ``{"file": "X.pdf", "resultFile": "X.pdf.result.json"}`` per
line, names relative to the prefix. The analyzer then names the knowledge source as
``{"kind": "reference", "containerUrl": <container SAS URL>, "prefix": <prefix>,
"fileListPath": "sources.jsonl"}``.

Content Understanding reports a broken knowledge base only as an analyzer that ends ``Failed``,
often without detail, so everything is checked here first: ``write_sources_manifest`` refuses
orphan or missing result files, ``validate_knowledge_base`` re-reads what the analyzer will read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings
from azure.storage.blob.aio import ContainerClient

from core import layout
from core.api_versions import get_profile
from core.errors import PermanentError
from core.layout import RESULT_SUFFIX, SOURCES_FILE, Role
from core.naming import check_prefix
from core.settings import get_settings
from storage.client import container_client, ensure_containers
from storage.errors import translated

logger = logging.getLogger(__name__)

REFERENCE_ANALYZER_ID = "prebuilt-documentAnalyzer"
KNOWLEDGE_SOURCE_KIND = "reference"  # pro mode's reference knowledge sources


class KnowledgeBaseError(PermanentError):
    """The knowledge base under a prefix is incomplete or inconsistent; the message says how."""

    code = "InvalidKnowledgeBase"


@dataclass(frozen=True)
class KnowledgeBase:
    """A checked knowledge base: what an analyzer's ``knowledgeSources`` entry needs, but the URL."""

    container: str
    prefix: str
    files: tuple[str, ...]
    file_list_path: str = SOURCES_FILE

    def to_dict(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "prefix": self.prefix,
            "fileListPath": self.file_list_path,
            "files": list(self.files),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KnowledgeBase:
        return cls(
            container=str(data["container"]),
            prefix=str(data["prefix"]),
            files=tuple(str(name) for name in data["files"]),
            file_list_path=str(data.get("fileListPath", SOURCES_FILE)),
        )


async def save_reference_result(prefix: str, file_name: str, operation: Mapping[str, Any]) -> str:
    """Store the analysis ``operation`` JSON of reference ``file_name`` as ``<file>.result.json``."""
    check_prefix(prefix)
    if not file_name or "/" in file_name or file_name.endswith(RESULT_SUFFIX) or file_name == SOURCES_FILE:
        raise KnowledgeBaseError(f"{file_name!r} is not a reference file name")
    _check_operation(operation, file_name)
    await ensure_containers()
    container = _references()
    document = layout.reference_file_blob(prefix, file_name).name
    with translated(f"Checking reference file {document}"):
        try:
            await container.get_blob_client(document).get_blob_properties()
        except ResourceNotFoundError:
            raise KnowledgeBaseError(f"Reference file {document} does not exist") from None
    name = layout.reference_result_blob(prefix, file_name).name
    await _upload_json(container, name, json.dumps(operation, ensure_ascii=False).encode())
    return name


def max_reference_bytes() -> int | None:
    """The pro-mode version's limit on a knowledge base's documents together (``None``: none)."""
    profile = get_profile(get_settings().content_understanding.pro_mode_api_version)
    kind = profile.knowledge_sources.get(KNOWLEDGE_SOURCE_KIND)
    return kind.max_total_bytes if kind is not None else None


async def write_sources_manifest(prefix: str) -> KnowledgeBase:
    """Write ``sources.jsonl`` for every reference file under ``prefix`` and return the checked result."""
    check_prefix(prefix)
    await ensure_containers()
    container = _references()
    sizes: dict[str, int] = {}
    with translated(f"Listing knowledge base {prefix}"):
        async for blob in container.list_blobs(name_starts_with=prefix):
            relative = blob.name[len(prefix) :]
            if "/" not in relative and relative != SOURCES_FILE:
                sizes[relative] = blob.size
    results = {name for name in sizes if name.endswith(RESULT_SUFFIX)}
    files = sorted(set(sizes) - results)
    orphans = sorted(r for r in results if r.removesuffix(RESULT_SUFFIX) not in sizes)
    missing = [f for f in files if f + RESULT_SUFFIX not in results]
    problems = []
    if not files:
        problems.append("it has no reference files")
    if orphans:
        problems.append(f"result files without their document: {', '.join(orphans)}")
    if missing:
        problems.append(f"documents not analyzed yet: {', '.join(missing)}")
    total = sum(sizes[f] for f in files)
    limit = max_reference_bytes()
    if limit is not None and total > limit:
        problems.append(f"its documents total {total} bytes, over the limit of {limit}")
    if problems:
        raise KnowledgeBaseError(f"Knowledge base {prefix} is not ready: {'; '.join(problems)}")
    lines = "".join(json.dumps({"file": f, "resultFile": f + RESULT_SUFFIX}) + "\n" for f in files)
    manifest = layout.sources_manifest_blob(prefix).name
    await _upload_json(container, manifest, lines.encode(), content_type="application/jsonl")
    logger.info("Wrote knowledge base %s with %s reference files", prefix, len(files))
    return KnowledgeBase(container.container_name, prefix, tuple(files))


async def validate_knowledge_base(prefix: str) -> KnowledgeBase:
    """Re-read the knowledge base under ``prefix`` as the analyzer will; ``KnowledgeBaseError`` if broken."""
    check_prefix(prefix)
    container = _references()
    manifest = layout.sources_manifest_blob(prefix).name
    text = await _read_text(container, manifest, what=f"Knowledge base {prefix}")
    files = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        entry = _sources_entry(line, number, prefix)
        result_file = layout.reference_file_blob(prefix, entry["resultFile"]).name
        result_text = await _read_text(container, result_file, what="Result file")
        _check_operation(_parse_json(result_text, result_file), entry["file"])
        await _read_properties(container, layout.reference_file_blob(prefix, entry["file"]).name)
        files.append(entry["file"])
    if not files:
        raise KnowledgeBaseError(f"Knowledge base {prefix} lists no reference files")
    return KnowledgeBase(container.container_name, prefix, tuple(files))


def _sources_entry(line: str, number: int, prefix: str) -> dict[str, str]:
    entry = _parse_json(line, f"{prefix}{SOURCES_FILE} line {number}")
    if (
        not isinstance(entry, dict)
        or not all(isinstance(entry.get(key), str) and entry[key] for key in ("file", "resultFile"))
        or any("/" in entry[key] or ".." in entry[key] for key in ("file", "resultFile"))
    ):
        raise KnowledgeBaseError(
            f'{prefix}{SOURCES_FILE} line {number} must be {{"file": ..., "resultFile": ...}} '
            "with names relative to the prefix"
        )
    return {"file": entry["file"], "resultFile": entry["resultFile"]}


def _check_operation(operation: Any, file_name: str) -> None:
    status = str(operation.get("status", "")).lower() if isinstance(operation, Mapping) else ""
    result = operation.get("result") if isinstance(operation, Mapping) else None
    contents = result.get("contents") if isinstance(result, Mapping) else None
    if status != "succeeded" or not isinstance(contents, list) or not contents:
        raise KnowledgeBaseError(
            f"The analysis of reference file {file_name!r} is not a succeeded operation with contents "
            f"(status {status or 'missing'})"
        )


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise KnowledgeBaseError(f"{where} is not valid JSON") from None


async def _read_text(container: ContainerClient, name: str, *, what: str) -> str:
    with translated(f"Reading {name}"):
        try:
            download = await container.download_blob(name)
        except ResourceNotFoundError:
            raise KnowledgeBaseError(f"{what}: {name} does not exist") from None
        data: bytes = await download.readall()
    return data.decode("utf-8")


async def _read_properties(container: ContainerClient, name: str) -> None:
    with translated(f"Checking {name}"):
        try:
            await container.get_blob_client(name).get_blob_properties()
        except ResourceNotFoundError:
            raise KnowledgeBaseError(f"Reference file {name} is listed but does not exist") from None


async def _upload_json(
    container: ContainerClient, name: str, data: bytes, *, content_type: str = "application/json"
) -> None:
    with translated(f"Writing {name}"):
        await container.upload_blob(
            name, data, overwrite=True, content_settings=ContentSettings(content_type=content_type)
        )


def _references() -> ContainerClient:
    return container_client(Role.REFERENCES)
