"""Storage activities: ingest inputs, grant SAS, save results, build knowledge bases, clean up.

Each decorated activity is a thin shell: ``run_<activity>`` is its plain typed function
(``activities/storage_steps.py``) behind the activity boundary (``activities/boundary.py``), which
parses the payload into the activity's request type and applies the error policy:

- **transient** (storage busy or unreachable, a URL timing out, a blob changing mid-read): the
  activity *raises* ``TransientError``, and ``call_activity_with_retry`` has the host try again;
- **permanent** (bad input, a missing blob, a refused URL, a broken knowledge base, a malformed
  payload): the activity *returns* ``{"ok": false, "error": {"code", "message", "transient": false}}``
  at once, so nothing hopeless is retried and the orchestrator can report the input's fate;
- success returns ``{"ok": true, ...result}``.

Requests and results are declared in ``core/contracts/activities.py``.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities import storage_steps as steps
from activities.boundary import activity_boundary
from activities.envelope import Envelope
from core.contracts import activities as contracts

bp = df.Blueprint()

# Refused once the job's cancel was requested: ingesting (a lasting copy), granting (a grant blob
# the clean-up may already have passed), adding a reference file.
run_ingest_input = activity_boundary(contracts.INGEST_INPUT, steps.ingest_input, refuses_after_cancel=True)
run_create_sas = activity_boundary(contracts.CREATE_SAS, steps.create_sas, refuses_after_cancel=True)
run_save_results = activity_boundary(contracts.SAVE_RESULTS, steps.save_results)
run_add_reference_file = activity_boundary(
    contracts.ADD_REFERENCE_FILE, steps.add_reference_file, refuses_after_cancel=True
)
run_write_knowledge_base = activity_boundary(contracts.WRITE_KNOWLEDGE_BASE, steps.write_knowledge_base)
run_cleanup_job = activity_boundary(contracts.CLEANUP_JOB, steps.cleanup_job)


@bp.function_name(contracts.INGEST_INPUT.name)
@bp.activity_trigger(input_name="payload")
async def ingest_input(payload: dict[str, Any]) -> Envelope:
    return await run_ingest_input(payload)


@bp.function_name(contracts.CREATE_SAS.name)
@bp.activity_trigger(input_name="payload")
async def create_sas(payload: dict[str, Any]) -> Envelope:
    return await run_create_sas(payload)


@bp.function_name(contracts.SAVE_RESULTS.name)
@bp.activity_trigger(input_name="payload")
async def save_results(payload: dict[str, Any]) -> Envelope:
    return await run_save_results(payload)


@bp.function_name(contracts.ADD_REFERENCE_FILE.name)
@bp.activity_trigger(input_name="payload")
async def add_reference_file(payload: dict[str, Any]) -> Envelope:
    return await run_add_reference_file(payload)


@bp.function_name(contracts.WRITE_KNOWLEDGE_BASE.name)
@bp.activity_trigger(input_name="payload")
async def write_knowledge_base(payload: dict[str, Any]) -> Envelope:
    return await run_write_knowledge_base(payload)


@bp.function_name(contracts.CLEANUP_JOB.name)
@bp.activity_trigger(input_name="payload")
async def cleanup_job(payload: dict[str, Any]) -> Envelope:
    return await run_cleanup_job(payload)
