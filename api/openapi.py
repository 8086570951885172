"""The OpenAPI 3.1 description of the HTTP API, served at ``GET /api/openapi.json``."""

from __future__ import annotations

from typing import Any

from core.version import APP_VERSION

_PROBLEM = {"$ref": "#/components/responses/Problem"}
_UNAVAILABLE = {"$ref": "#/components/responses/Unavailable"}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_ANALYZER_ID = {
    "name": "analyzerId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
}
_SOURCE = {
    "oneOf": [
        {
            "type": "object",
            "required": ["blob"],
            "additionalProperties": False,
            "properties": {"blob": {"type": "string", "description": "container/path of an existing blob"}},
        },
        {
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": {"url": {"type": "string", "format": "uri", "description": "an https URL"}},
        },
    ]
}
_JOB_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "analyzerId": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
        "mode": {"enum": ["per-document", "combined"], "default": "per-document"},
        "inputs": {"type": "array", "items": _SOURCE},
        "references": {"type": "array", "items": _SOURCE, "description": "pro mode (combined) only"},
        "partialFailure": {
            "enum": ["fail", "continue"],
            "description": "default: continue for per-document, fail for combined",
        },
        "idempotencyKey": {"type": "string", "minLength": 1, "maxLength": 200},
    },
}
_STATUS = {
    "type": "object",
    "required": ["id", "status", "stage", "progress", "error", "summary", "createdAt", "updatedAt"],
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": ["pending", "running", "succeeded", "partially_succeeded", "failed", "canceled"]},
        "stage": {"type": "string"},
        "progress": {
            "type": "object",
            "properties": {
                **{k: {"type": "integer"} for k in ("total", "ingested", "failed", "analyzing", "done")},
                "polls": {"type": "integer"},
                "nextPollAt": {"type": "string", "format": "date-time"},
                "pollError": {
                    "type": "string",
                    "description": "why the last poll failed, while CU or storage is unavailable",
                },
            },
        },
        "error": {"type": ["object", "null"]},
        "summary": {"type": ["object", "null"], "description": "per-input fates, operations, timings"},
        "createdAt": {"type": ["string", "null"], "format": "date-time"},
        "updatedAt": {"type": ["string", "null"], "format": "date-time"},
    },
}
_RESULT = {
    "type": "object",
    "required": ["id", "analyzerId", "mode", "results"],
    "properties": {
        "id": {"type": "string"},
        "analyzerId": {"type": "string"},
        "mode": {"enum": ["per-document", "combined"]},
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "inputs": {"type": "array", "items": {"type": "string"}},
                    "operationId": {"type": ["string", "null"]},
                    "status": {"type": "string"},
                    "result": {
                        "type": ["object", "null"],
                        "description": "the CU result as the service returned it",
                    },
                },
            },
        },
    },
}


def openapi_document() -> dict[str, Any]:
    json_body = {"application/json": {"schema": _JOB_REQUEST}}
    multipart = {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                    },
                    "references": {
                        "type": "array",
                        "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                    },
                    "request": _JOB_REQUEST,
                },
            },
            "encoding": {"request": {"contentType": "application/json"}},
        }
    }
    accepted = {
        "description": "Accepted: the job runs in the background",
        "headers": {"Location": {"schema": {"type": "string"}}},
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["id", "statusUrl", "resultUrl"],
                    "properties": {k: {"type": "string"} for k in ("id", "statusUrl", "resultUrl")},
                }
            }
        },
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
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            },
            "responses": {
                "Problem": {
                    "description": "A problem (RFC 9457)",
                    "content": {"application/problem+json": {"schema": {"type": "object"}}},
                },
                "Unavailable": {
                    "description": "Storage or Content Understanding is unavailable for now; try again",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                    "content": {"application/problem+json": {"schema": {"type": "object"}}},
                },
            },
        },
        "security": [{"functionKey": []}],
        "paths": {
            "/analyses": {
                "post": {
                    "summary": "Start an analysis job",
                    "requestBody": {"required": True, "content": {**json_body, **multipart}},
                    "responses": {
                        "202": accepted,
                        "400": _PROBLEM,
                        "413": _PROBLEM,
                        "415": _PROBLEM,
                        "503": _UNAVAILABLE,
                    },
                }
            },
            "/analyses/{id}": {
                "get": {
                    "summary": "A job's status, progress and summary",
                    "parameters": [_ID],
                    "responses": {
                        "200": {
                            "description": "Status",
                            "content": {"application/json": {"schema": _STATUS}},
                        },
                        "404": _PROBLEM,
                    },
                },
                "delete": {
                    "summary": "Cancel a running job",
                    "parameters": [_ID],
                    "responses": {"202": {"description": "Canceled"}, "404": _PROBLEM, "409": _PROBLEM},
                },
            },
            "/analyses/{id}/result": {
                "get": {
                    "summary": "The full result of a completed job",
                    "parameters": [_ID],
                    "responses": {
                        "200": {
                            "description": "Result",
                            "content": {"application/json": {"schema": _RESULT}},
                        },
                        "404": _PROBLEM,
                        "409": _PROBLEM,
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
                        "202": {"description": "Registered; creation runs in the background"},
                        "400": _PROBLEM,
                        "503": _UNAVAILABLE,
                    },
                },
                "get": {
                    "summary": "The registered definition and the service's view of the analyzer",
                    "parameters": [_ANALYZER_ID],
                    "responses": {"200": {"description": "Analyzer"}, "404": _PROBLEM, "503": _UNAVAILABLE},
                },
            },
            "/health": {
                "get": {
                    "summary": "Version and configured dependencies",
                    "security": [],
                    "responses": {"200": {"description": "Healthy"}, "503": _PROBLEM},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI"}},
                }
            },
        },
    }
