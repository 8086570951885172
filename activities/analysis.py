"""Content Understanding activities: thin shells over services.analysis (errors: activities/envelope.py)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities.envelope import envelope
from orchestrators import names
from services import analysis

bp = df.Blueprint()


@bp.activity_trigger(input_name="payload", activity=names.GET_ANALYZER_STATE)
async def get_analyzer_state(payload: dict[str, Any]) -> dict[str, Any]:
    return await envelope(analysis.get_analyzer_state(payload["analyzerId"], payload["apiVersion"]))


@bp.activity_trigger(input_name="payload", activity=names.BEGIN_CREATE_ANALYZER)
async def begin_create_analyzer(payload: analysis.CreateAnalyzerRequest) -> dict[str, Any]:
    return await envelope(analysis.begin_create_analyzer(payload))


@bp.activity_trigger(input_name="payload", activity=names.BEGIN_ANALYSIS)
async def begin_analysis(payload: analysis.BeginAnalysisRequest) -> dict[str, Any]:
    return await envelope(analysis.begin_analysis(payload))


@bp.activity_trigger(input_name="payload", activity=names.GET_OPERATION)
async def get_operation(payload: analysis.GetOperationRequest) -> dict[str, Any]:
    return await envelope(analysis.get_operation(payload))

