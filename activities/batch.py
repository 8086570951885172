"""The per-document job's batch activities: thin shells over ``activities/batch_steps.py``.

``run_<activity>`` is the typed function behind the activity boundary (``activities/boundary.py``:
payload parsing and the error policy of ``activities/envelope.py``).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities import batch_steps as steps
from activities.boundary import activity_boundary
from activities.envelope import Envelope
from core.contracts import activities as contracts

bp = df.Blueprint()

# Ingests, grants and CU analyses are billed or lasting work: after a cancel they do not start
# (core/cancellation.py); a poll refuses too, so that a batch the cancel event missed stops
# polling. ``save_batch`` only records how the batch ended, which a canceled job still reports.
run_prepare_inputs = activity_boundary(
    contracts.PREPARE_INPUTS, steps.prepare_inputs, refuses_after_cancel=True
)
run_begin_analyses = activity_boundary(
    contracts.BEGIN_ANALYSES, steps.begin_analyses, refuses_after_cancel=True
)
run_poll_operations = activity_boundary(
    contracts.POLL_OPERATIONS, steps.poll_operations, refuses_after_cancel=True
)
run_save_batch = activity_boundary(contracts.SAVE_BATCH, steps.save_batch)


@bp.function_name(contracts.PREPARE_INPUTS.name)
@bp.activity_trigger(input_name="payload")
async def prepare_inputs(payload: dict[str, Any]) -> Envelope:
    return await run_prepare_inputs(payload)


@bp.function_name(contracts.BEGIN_ANALYSES.name)
@bp.activity_trigger(input_name="payload")
async def begin_analyses(payload: dict[str, Any]) -> Envelope:
    return await run_begin_analyses(payload)


@bp.function_name(contracts.POLL_OPERATIONS.name)
@bp.activity_trigger(input_name="payload")
async def poll_operations(payload: dict[str, Any]) -> Envelope:
    return await run_poll_operations(payload)


@bp.function_name(contracts.SAVE_BATCH.name)
@bp.activity_trigger(input_name="payload")
async def save_batch(payload: dict[str, Any]) -> Envelope:
    return await run_save_batch(payload)
