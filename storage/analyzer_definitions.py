"""The app's analyzer definitions: what ``PUT /api/analyzers/{id}`` registered, kept as blobs.

A job that names a registered analyzer carries its definition in the orchestration input, and the
``ensure_analyzer`` sub-orchestration creates or replaces the analyzer in Content Understanding
when its fingerprint differs. Definitions never hold secrets (the API refuses knowledgeSources,
whose container URL would carry a SAS).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from core import layout
from core.jobs import AnalyzerSpec, definition_hash
from core.layout import Role
from core.redact import display_url
from storage.client import container_client, ensure_containers
from storage.errors import translated


def is_prebuilt(analyzer_id: str) -> bool:
    return analyzer_id.startswith("prebuilt-")


async def save_definition(spec: AnalyzerSpec) -> None:
    await ensure_containers()
    name = layout.analyzer_definition_blob(spec["analyzerId"]).name
    with translated(f"Saving analyzer definition {name}"):
        await _container().upload_blob(name, json.dumps(spec).encode(), overwrite=True)


async def load_definition(analyzer_id: str) -> AnalyzerSpec | None:
    name = layout.analyzer_definition_blob(analyzer_id).name
    with translated(f"Reading analyzer definition {name}"):
        try:
            downloaded = await _container().download_blob(name)
        except ResourceNotFoundError:
            return None
        data = await downloaded.readall()
    spec: AnalyzerSpec = json.loads(data)
    return spec


def ensure_instance_id(spec: AnalyzerSpec) -> str:
    """The orchestration that ensures this exact definition: one per analyzer and fingerprint."""
    fingerprint = definition_hash(spec["definition"])
    digest = hashlib.sha256(f"{spec['analyzerId']}\n{fingerprint}".encode()).hexdigest()
    return f"analyzer-{digest[:32]}"


def redacted_service_view(analyzer: dict[str, Any] | None) -> dict[str, Any] | None:
    """The service's analyzer resource without secrets (a knowledge source's SAS URL, should one
    have been set outside the app)."""
    if analyzer is None:
        return None
    view = dict(analyzer)
    if "knowledgeSources" in view:
        view["knowledgeSources"] = [
            {**source, "containerUrl": display_url(str(source.get("containerUrl", "")))}
            for source in view["knowledgeSources"]
        ]
    return view


def _container() -> Any:
    return container_client(Role.ANALYZERS)
