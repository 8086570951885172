"""The OpenAPI 3.1 description of the HTTP API, served at ``GET /api/openapi.json``.

The paths, statuses and headers are written here; every body schema is generated from the models
of ``api/models.py`` (the same ones that validate requests and build responses) into
``components/schemas``.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

from api import models
from api.results import RESULT_PAGE, TABLE_PAGE, PageSize
from core.naming import ANALYZER_ID_MAX_LENGTH, ANALYZER_ID_PATTERN, JOB_INSTANCE_ID_PATTERN
from core.version import APP_VERSION

_PROBLEM = {"$ref": "#/components/responses/Problem"}
_UNAVAILABLE = {"$ref": "#/components/responses/Unavailable"}
_INTERNAL = {"$ref": "#/components/responses/InternalError"}
_ANY_JSON = {"application/json": {"schema": {"type": "object"}}}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "a job id as returned by `POST /analyses` (any other id is 404)",
    "schema": {"type": "string", "pattern": JOB_INSTANCE_ID_PATTERN},
}
_ANALYZER_ID = {
    "name": "analyzerId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": ANALYZER_ID_MAX_LENGTH, "pattern": ANALYZER_ID_PATTERN},
}
_INDEX = {"name": "index", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
_START = {
    "name": "start",
    "in": "query",
    "description": "the index of the page's first entry (0, or a nextLink's value)",
    "schema": {"type": "integer", "minimum": 0, "default": 0},
}


def _page_size(size: PageSize) -> dict[str, Any]:
    return {
        "name": "pageSize",
        "in": "query",
        "description": "entries per page, at most; a page also ends once its body reaches 8 MiB",
        "schema": {"type": "integer", "minimum": 1, "maximum": size.maximum, "default": size.default},
    }


_NEXT = {
    "Link": {
        "description": 'the next page, as `<url>; rel="next"` (RFC 8288); absent on the last page',
        "schema": {"type": "string"},
    }
}
_REF_TEMPLATE = "#/components/schemas/{model}"


class _OpenApiSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, as OpenAPI readers like it: no generated titles on members, and
    descriptions in Markdown (the docstrings' reStructuredText literals become code spans)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> dict[str, Any]:
        generated = super().model_schema(schema)
        if "description" in generated:
            generated["description"] = generated["description"].replace("``", "`")
        return generated


@functools.cache
def component_schemas() -> dict[str, Any]:
    """``components/schemas``: every model of the contract and the models they refer to."""
    requests = {models.JobRequestBody, models.UploadForm}
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, "validation" if model in requests else "serialization") for model in models.SCHEMA_MODELS
    ]
    _, document = models_json_schema(modes, ref_template=_REF_TEMPLATE, schema_generator=_OpenApiSchema)
    schemas: dict[str, Any] = document["$defs"]
    return schemas


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    # Inlined where used (readers see a body's members in place); what it refers to stays a $ref.
    schema: dict[str, Any] = component_schemas()[model.__name__]
    return schema


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": _schema(model)}}


def openapi_document() -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": _schema(models.Problem)}}
    no_result = {
        "description": "The job has no result: it is pending or running, or it failed or was "
        "canceled; `jobStatus` says which",
        "content": problem,
    }
    accepted = {
        "description": "Accepted: the job runs in the background",
        "headers": {"Location": {"schema": {"type": "string"}}},
        "content": _json(models.Accepted),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Content Understanding pipeline",
            "version": APP_VERSION,
            "description": "Durable analysis jobs over Azure AI Content Understanding. "
            "Errors are RFC 9457 problems.",
        },
        "servers": [{"url": "/api"}],
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            },
            "responses": {
                "Problem": {
                    "description": "A problem (RFC 9457)",
                    "content": problem,
                },
                "Unavailable": {
                    "description": "Storage or Content Understanding is unavailable for now; try again",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": problem,
                },
                "InternalError": {
                    "description": "An unexpected error (a defect): the problem carries only a "
                    "`correlationId`, under which the app logged the details",
                    "content": problem,
                },
            },
        },
        "security": [{"functionKey": []}],
        "paths": {
            "/analyses": {
                "post": {
                    "summary": "Start an analysis job",
                    "requestBody": {
                        "required": True,
                        "content": {
                            **_json(models.JobRequestBody),
                            "multipart/form-data": {
                                "schema": _schema(models.UploadForm),
                                "encoding": {"request": {"contentType": "application/json"}},
                            },
                        },
                    },
                    "responses": {
                        "202": accepted,
                        "400": _PROBLEM,
                        "409": {
                            "description": "The `idempotencyKey` was already used for a different "
                            "request (a retry must send the same request and files)",
                            "content": problem,
                        },
                        "413": _PROBLEM,
                        "415": _PROBLEM,
                        "500": _INTERNAL,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/analyses/{id}": {
                "get": {
                    "summary": "A job's status, progress and summary",
                    "parameters": [_ID],
                    "responses": {
                        "200": {"description": "Status", "content": _json(models.StatusDocument)},
                        "404": _PROBLEM,
                        "500": _INTERNAL,
                    },
                },
                "delete": {
                    "summary": "Cancel a running job",
                    "parameters": [_ID],
                    "responses": {
                        "202": {
                            "description": "Canceled",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "content": _json(models.Canceled),
                        },
                        "404": _PROBLEM,
                        "409": _PROBLEM,
                        "500": _INTERNAL,
                    },
                },
            },
            "/analyses/{id}/result": {
                "get": {
                    "summary": "A page of the result entries of a job that succeeded or partially "
                    "succeeded, each with its full CU result",
                    "parameters": [_ID, _START, _page_size(RESULT_PAGE)],
                    "responses": {
                        "200": {
                            "description": "A page of the result",
                            "headers": _NEXT,
                            "content": _json(models.ResultDocument),
                        },
                        "400": _PROBLEM,
                        "404": _PROBLEM,
                        "409": no_result,
                        "410": _PROBLEM,
                        "500": _INTERNAL,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/analyses/{id}/results/{index}": {
                "get": {
                    "summary": "One entry of a completed job's result (per-document: the input's index)",
                    "parameters": [_ID, _INDEX],
                    "responses": {
                        "200": {"description": "The entry", "content": _json(models.OperationResult)},
                        "400": _PROBLEM,
                        "404": _PROBLEM,
                        "409": no_result,
                        "410": _PROBLEM,
                        "500": _INTERNAL,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/analyses/{id}/fields": {
                "get": {
                    "summary": "A page of the extracted fields as a table: one row per entry, one column "
                    "per field",
                    "parameters": [
                        _ID,
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["csv", "jsonl"], "default": "csv"},
                        },
                        _START,
                        _page_size(TABLE_PAGE),
                    ],
                    "responses": {
                        "200": {
                            "description": "A page of the table. CSV: the first page starts with the "
                            "header row, later pages hold rows only (joined in order they are one file). "
                            "JSON Lines: one FieldRow object per line.",
                            "headers": _NEXT,
                            "content": {
                                "text/csv": {"schema": {"type": "string"}},
                                "application/jsonl": {"schema": {"type": "string"}},
                            },
                        },
                        "400": _PROBLEM,
                        "404": _PROBLEM,
                        "409": no_result,
                        "410": _PROBLEM,
                        "500": _INTERNAL,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/analyzers/{analyzerId}": {
                "put": {
                    "summary": "Register an analyzer definition and ensure it exists in CU",
                    "parameters": [_ANALYZER_ID],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "202": {
                            "description": "Registered; creation runs in the background",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "content": _json(models.AnalyzerRegistration),
                        },
                        "400": _PROBLEM,
                        "413": _PROBLEM,
                        "500": _INTERNAL,
                        "503": _UNAVAILABLE,
                    },
                },
                "get": {
                    "summary": "The registered definition and the service's view of the analyzer",
                    "parameters": [_ANALYZER_ID],
                    "responses": {
                        "200": {"description": "Analyzer", "content": _json(models.AnalyzerState)},
                        "400": _PROBLEM,
                        "404": _PROBLEM,
                        "500": _INTERNAL,
                        "503": _UNAVAILABLE,
                    },
                },
            },
            "/health": {
                "get": {
                    "summary": "Version and configured dependencies",
                    "security": [],
                    "responses": {
                        "200": {"description": "Healthy", "content": _ANY_JSON},
                        "500": _INTERNAL,
                        "503": _PROBLEM,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI", "content": _ANY_JSON}, "500": _INTERNAL},
                }
            },
        },
    }
