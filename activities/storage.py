"""Storage activities: ingest inputs, package an agentic job's documents, grant SAS, save results, clean up.

Each decorated activity is a thin shell: ``run_<activity>`` is its plain typed function
(``activities/storage_steps.py``) behind the activity boundary (``activities/boundary.py``), which
parses the payload into the activity's request type and applies the error policy:

- **transient** (storage busy or unreachable, a URL timing out, a blob changing mid-read): the
  activity *raises* ``TransientError``, and ``call_activity_with_retry`` has the host try again;
- **permanent** (bad input, a missing blob, a refused URL, a package over the agentic limits, a
  malformed payload): the activity *returns*
  ``{"ok": false, "error": {"code", "message", "transient": false}}`` at once, so nothing
  hopeless is retried and the orchestrator can report the input's fate;
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
run_package_inputs = activity_boundary(
    contracts.PACKAGE_INPUTS, steps.package_inputs, refuses_after_cancel=True
)
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


@bp.function_name(contracts.PACKAGE_INPUTS.name)
@bp.activity_trigger(input_name="payload")
async def package_inputs(payload: dict[str, Any]) -> Envelope:
    return await run_package_inputs(payload)


@bp.function_name(contracts.CLEANUP_JOB.name)
@bp.activity_trigger(input_name="payload")
async def cleanup_job(payload: dict[str, Any]) -> Envelope:
    return await run_cleanup_job(payload)
