"""The app's HTTP API: routes bound to the plain handlers in ``api/`` (nothing else lives here).

Every handler runs through ``api.boundary.answered``: an exception none of them turned into a
response is a ``500`` problem with a correlation id (logged), never an empty 500.

Routes (all errors are ``application/problem+json``):
  POST   /api/analyses                 start a job (multipart files or JSON references)  -> 202
  GET    /api/analyses/{id}            status, stage, progress, error, summary
  GET    /api/analyses/{id}/result     a page of the result's entries (409 unless the job succeeded)
  GET    /api/analyses/{id}/results/{index}  one entry of the result and its full CU result
  GET    /api/analyses/{id}/fields     the extracted fields as a table (CSV or JSON Lines), a page
  DELETE /api/analyses/{id}            cancel a running job                              -> 202
  PUT    /api/analyzers/{id}           register a definition and ensure the analyzer     -> 202
  GET    /api/analyzers/{id}           the registered definition and the service's state
  GET    /api/openapi.json             the OpenAPI 3.1 description of all this
  GET    /api/health                   version and configured dependencies (anonymous)
"""

from __future__ import annotations

import os

import azure.durable_functions as df
import azure.functions as func

from api import analyses, analyzers, results
from api.boundary import answered, answered_now
from api.health import health_report
from api.openapi import openapi_document
from api.problems import json_response, problem_response

bp = df.Blueprint()


@bp.function_name("health")
@bp.route(route="health", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness and configuration: 200 with the version and configured dependencies, else 503."""
    return answered_now("GET /api/health", _health)


def _health() -> func.HttpResponse:
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


@bp.function_name("openapi")
@bp.route(route="openapi.json", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return answered_now("GET /api/openapi.json", lambda: json_response(openapi_document()))


@bp.function_name("start_analysis")
@bp.route(route="analyses", methods=[func.HttpMethod.POST])
@bp.durable_client_input(client_name="client")
async def start_analysis(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await answered("POST /api/analyses", analyses.submit_analysis(req, client))


@bp.function_name("get_analysis")
@bp.route(route="analyses/{id}", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
async def get_analysis(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await answered("GET /api/analyses/{id}", analyses.analysis_status(req.route_params["id"], client))


@bp.function_name("get_analysis_result")
@bp.route(route="analyses/{id}/result", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
async def get_analysis_result(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    return await answered(
        "GET /api/analyses/{id}/result", results.result_page(req.route_params["id"], req.params, client)
    )


@bp.function_name("get_analysis_result_entry")
@bp.route(route="analyses/{id}/results/{index}", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
async def get_analysis_result_entry(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    return await answered(
        "GET /api/analyses/{id}/results/{index}",
        results.result_entry(req.route_params["id"], req.route_params["index"], client),
    )


@bp.function_name("get_analysis_fields")
@bp.route(route="analyses/{id}/fields", methods=[func.HttpMethod.GET])
@bp.durable_client_input(client_name="client")
async def get_analysis_fields(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    return await answered(
        "GET /api/analyses/{id}/fields", results.fields_table(req.route_params["id"], req.params, client)
    )


@bp.function_name("cancel_analysis")
@bp.route(route="analyses/{id}", methods=[func.HttpMethod.DELETE])
@bp.durable_client_input(client_name="client")
async def cancel_analysis(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await answered("DELETE /api/analyses/{id}", analyses.cancel(req.route_params["id"], client))


@bp.function_name("put_analyzer")
@bp.route(route="analyzers/{analyzerId}", methods=[func.HttpMethod.PUT])
@bp.durable_client_input(client_name="client")
async def put_analyzer(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return await answered("PUT /api/analyzers/{analyzerId}", analyzers.register_analyzer(req, client))


@bp.function_name("get_analyzer")
@bp.route(route="analyzers/{analyzerId}", methods=[func.HttpMethod.GET])
async def get_analyzer(req: func.HttpRequest) -> func.HttpResponse:
    return await answered(
        "GET /api/analyzers/{analyzerId}", analyzers.analyzer_state(req.route_params["analyzerId"])
    )
