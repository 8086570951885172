"""The app's HTTP API. Each decorated function is a thin shell over plain, typed functions."""

from __future__ import annotations

import os

import azure.durable_functions as df
import azure.functions as func

from services.health import health_report
from triggers.http_problems import json_response, problem_response

bp = df.Blueprint()


@bp.function_name("health")
@bp.route(route="health", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness and configuration: 200 with the version and configured dependencies, else 503."""
    healthy, report = health_report(os.environ)
    if not healthy:
        return problem_response(
            503,
            report["error"]["message"],
            title="Misconfigured",
            version=report["version"],
            error=report["error"],
        )
    return json_response(report)
