"""The app's analyzer definitions: what ``PUT /api/analyzers/{id}`` registered, kept as blobs.

A job that names a registered analyzer carries its definition in the orchestration input, and the
``ensure_analyzer`` sub-orchestration creates or replaces the analyzer in Content Understanding
when its fingerprint differs. Definitions never hold secrets: a pro-mode knowledge base comes from
a job's reference documents, and its SAS is added only inside the activity that calls CU.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from core.jobs import AnalyzerSpec, definition_hash
from core.redact import display_url
from core.settings import get_settings
from storage.client import ensure_containers, get_blob_service_client
from storage.errors import translated


def is_prebuilt(analyzer_id: str) -> bool:
    return analyzer_id.startswith("prebuilt-")


async def save_definition(spec: AnalyzerSpec) -> None:
    await ensure_containers()
    name = _blob(spec["analyzerId"])
    with translated(f"Saving analyzer definition {name}"):
        await _container().upload_blob(name, json.dumps(spec).encode(), overwrite=True)


async def load_definition(analyzer_id: str) -> AnalyzerSpec | None:
    name = _blob(analyzer_id)
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
    fingerprint = definition_hash(spec["definition"], [])
    digest = hashlib.sha256(f"{spec['analyzerId']}\n{fingerprint}".encode()).hexdigest()
    return f"analyzer-{digest[:32]}"


def redacted_service_view(analyzer: dict[str, Any] | None) -> dict[str, Any] | None:
    """The service's analyzer resource without secrets (a knowledge source's SAS URL)."""
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
    return get_blob_service_client().get_container_client(get_settings().storage.analyzers_container)


def _blob(analyzer_id: str) -> str:
    return f"{analyzer_id}.json"
