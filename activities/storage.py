"""Storage activities: ingest inputs, grant SAS, save results, build knowledge bases, clean up.

Each decorated activity is a thin shell over a typed plain function (``run_<activity>``), which
tests call directly; the work itself is in ``services/``.

Error policy. Python's ``RetryOptions`` retries every failure alike, so the two kinds of failure
travel differently:

- **transient** (storage busy or unreachable, a URL timing out, a blob changing mid-read): the
  activity *raises* ``TransientError``, and ``call_activity_with_retry`` has the host try again;
- **permanent** (bad input, a missing blob, a refused URL, a broken knowledge base): the activity
  *returns* ``{"ok": false, "error": {"code", "message", "transient": false}}`` at once, so nothing
  hopeless is retried and the orchestrator can report the input's fate;
- success returns ``{"ok": true, ...payload}``.

Anything else (a bug) raises as is. No return value carries a SAS: ``create_sas`` returns a
grant's name and expiry only (see ``storage.grants``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import azure.durable_functions as df

from activities.envelope import envelope
from core.errors import InputError
from core.function_names import (
    ADD_REFERENCE_FILE,
    CLEANUP_JOB,
    CREATE_SAS,
    INGEST_INPUT,
    SAVE_RESULTS,
    WRITE_KNOWLEDGE_BASE,
)
from inputs import references
from inputs.ingest import ingest_input as ingest_one, parse_source
from storage import grants, knowledge_base, results
from storage.result_document import write_result_document

Payload = Mapping[str, Any]
Envelope = dict[str, Any]
_T = TypeVar("_T")

bp = df.Blueprint()


@bp.function_name(INGEST_INPUT)
@bp.activity_trigger(input_name="payload")
async def ingest_input(payload: dict[str, Any]) -> Envelope:
    """``{"jobId", "index", "source", "proMode"?}`` -> ``{"ok": true, "input": {...}}``."""
    return await run_ingest_input(payload)


@bp.function_name(CREATE_SAS)
@bp.activity_trigger(input_name="payload")
async def create_sas(payload: dict[str, Any]) -> Envelope:
    """``{"jobId", "kind": "input"|"reference", "blob"}`` or ``{"jobId", "kind": "container",
    "container", "prefix"}`` -> ``{"ok": true, "grant": {"grant", "expiresAt"}}``."""
    return await run_create_sas(payload)


@bp.function_name(SAVE_RESULTS)
@bp.activity_trigger(input_name="payload")
async def save_results(payload: dict[str, Any]) -> Envelope:
    """``{"jobId", "analyzerId", "mode", "operations": [{key, inputs, operationId, status}]}`` ->
    ``{"ok": true, "resultBlob": <name>}``: the job's result document, assembled from the saved
    operation responses (never passed through history)."""
    return await run_save_results(payload)


@bp.function_name(ADD_REFERENCE_FILE)
@bp.activity_trigger(input_name="payload")
async def add_reference_file(payload: dict[str, Any]) -> Envelope:
    """``{"jobId", "prefix", "index", "source"}`` -> ``{"ok": true, "file": {...}}``."""
    return await run_add_reference_file(payload)


@bp.function_name(WRITE_KNOWLEDGE_BASE)
@bp.activity_trigger(input_name="payload")
async def write_knowledge_base(payload: dict[str, Any]) -> Envelope:
    """``{"prefix"}`` -> ``{"ok": true, "knowledgeBase": {"container", "prefix", "fileListPath",
    "files"}}``, after writing ``sources.jsonl`` and checking the whole knowledge base."""
    return await run_write_knowledge_base(payload)


@bp.function_name(CLEANUP_JOB)
@bp.activity_trigger(input_name="payload")
async def cleanup_job(payload: dict[str, Any]) -> Envelope:
    """``{"jobId"}`` -> ``{"ok": true, "deleted": <count>}`` (the job's staging and grant blobs)."""
    return await run_cleanup_job(payload)


async def run_ingest_input(payload: Payload) -> Envelope:
    index = payload.get("index") if isinstance(payload, Mapping) else None

    async def work() -> Envelope:
        ingested = await ingest_one(
            _text(payload, "jobId"),
            _integer(payload, "index"),
            parse_source(_field(payload, "source", dict)),
            pro_mode=_flag(payload, "proMode"),
        )
        return {"input": ingested.to_dict()}

    result = await envelope(work())
    return result if result["ok"] else {**result, "index": index}


async def run_create_sas(payload: Payload) -> Envelope:
    async def work() -> Envelope:
        job_id = _text(payload, "jobId")
        kind = payload.get("kind", "input")
        if kind == "input":
            grant = await grants.create_input_grant(job_id, _text(payload, "blob"))
        elif kind == "reference":
            grant = await grants.create_reference_grant(job_id, _text(payload, "blob"))
        elif kind == "container":
            grant = await grants.create_container_grant(
                job_id, _text(payload, "container"), _text(payload, "prefix")
            )
        else:
            raise _bad_payload(f"'kind' must be input, reference or container, not {kind!r}")
        return {"grant": dict(grant)}

    return await envelope(work())


async def run_save_results(payload: Payload) -> Envelope:
    async def work() -> Envelope:
        blob = await write_result_document(
            _text(payload, "jobId"),
            _text(payload, "analyzerId"),
            _text(payload, "mode"),
            _field(payload, "operations", list),
        )
        return {"resultBlob": blob}

    return await envelope(work())


async def run_add_reference_file(payload: Payload) -> Envelope:
    async def work() -> Envelope:
        added = await references.add_reference_file(
            _text(payload, "jobId"),
            _text(payload, "prefix"),
            _integer(payload, "index"),
            parse_source(_field(payload, "source", dict)),
        )
        return {"file": added.to_dict()}

    return await envelope(work())


async def run_write_knowledge_base(payload: Payload) -> Envelope:
    async def work() -> Envelope:
        prefix = _text(payload, "prefix")
        await knowledge_base.write_sources_manifest(prefix)
        checked = await knowledge_base.validate_knowledge_base(prefix)
        return {"knowledgeBase": checked.to_dict()}

    return await envelope(work())


async def run_cleanup_job(payload: Payload) -> Envelope:
    async def work() -> Envelope:
        return {"deleted": await results.cleanup_job(_text(payload, "jobId"))}

    return await envelope(work())


def _field(payload: Payload, key: str, kind: type[_T]) -> _T:
    value = payload.get(key) if isinstance(payload, Mapping) else None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _bad_payload(f"'{key}' must be a {kind.__name__}")
    return value


def _text(payload: Payload, key: str) -> str:
    value = _field(payload, key, str)
    if not value:
        raise _bad_payload(f"'{key}' must not be empty")
    return value


def _integer(payload: Payload, key: str) -> int:
    return _field(payload, key, int)


def _flag(payload: Payload, key: str) -> bool:
    return _field(payload, key, bool) if key in payload else False


def _bad_payload(problem: str) -> InputError:
    return InputError(f"Activity input is malformed: {problem}", code="InvalidActivityInput")
