"""Content Understanding activities: thin shells over the typed functions of activities.cu_steps.

``run_<activity>`` is the typed function behind the activity boundary (``activities/boundary.py``:
payload parsing and the error policy of ``activities/envelope.py``).
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities import cu_steps as steps
from activities.boundary import activity_boundary
from activities.envelope import Envelope
from core.contracts import activities as contracts

bp = df.Blueprint()

run_get_analyzer_state = activity_boundary(contracts.GET_ANALYZER_STATE, steps.get_analyzer_state)
run_begin_create_analyzer = activity_boundary(contracts.BEGIN_CREATE_ANALYZER, steps.begin_create_analyzer)
# Refused once the job's cancel was requested: starting an analysis (billed), polling one (so
# that a monitor ends at its next poll).
run_begin_analysis = activity_boundary(
    contracts.BEGIN_ANALYSIS, steps.begin_analysis, refuses_after_cancel=True
)
run_get_operation = activity_boundary(contracts.GET_OPERATION, steps.get_operation, refuses_after_cancel=True)


@bp.function_name(contracts.GET_ANALYZER_STATE.name)
@bp.activity_trigger(input_name="payload")
async def get_analyzer_state(payload: dict[str, Any]) -> Envelope:
    return await run_get_analyzer_state(payload)


@bp.function_name(contracts.BEGIN_CREATE_ANALYZER.name)
@bp.activity_trigger(input_name="payload")
async def begin_create_analyzer(payload: dict[str, Any]) -> Envelope:
    return await run_begin_create_analyzer(payload)


@bp.function_name(contracts.BEGIN_ANALYSIS.name)
@bp.activity_trigger(input_name="payload")
async def begin_analysis(payload: dict[str, Any]) -> Envelope:
    return await run_begin_analysis(payload)


@bp.function_name(contracts.GET_OPERATION.name)
@bp.activity_trigger(input_name="payload")
async def get_operation(payload: dict[str, Any]) -> Envelope:
    return await run_get_operation(payload)
