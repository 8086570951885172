"""Content Understanding activities: thin shells over activities.cu_steps (errors: activities/envelope.py)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities import cu_steps as analysis
from activities.envelope import envelope
from core import function_names as names

bp = df.Blueprint()


@bp.function_name(names.GET_ANALYZER_STATE)
@bp.activity_trigger(input_name="payload")
async def get_analyzer_state(payload: dict[str, Any]) -> dict[str, Any]:
    return await envelope(analysis.get_analyzer_state(payload["analyzerId"], payload["apiVersion"]))


@bp.function_name(names.BEGIN_CREATE_ANALYZER)
@bp.activity_trigger(input_name="payload")
async def begin_create_analyzer(payload: analysis.CreateAnalyzerRequest) -> dict[str, Any]:
    return await envelope(analysis.begin_create_analyzer(payload))


@bp.function_name(names.BEGIN_ANALYSIS)
@bp.activity_trigger(input_name="payload")
async def begin_analysis(payload: analysis.BeginAnalysisRequest) -> dict[str, Any]:
    return await envelope(analysis.begin_analysis(payload))


@bp.function_name(names.GET_OPERATION)
@bp.activity_trigger(input_name="payload")
async def get_operation(payload: analysis.GetOperationRequest) -> dict[str, Any]:
    return await envelope(analysis.get_operation(payload))
