"""The HTTP contract (api/models.py): one set of models behind validation, responses and OpenAPI."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from pydantic import BaseModel, ValidationError

from api import models
from api.analyses import status_document
from api.job_request import parse_job_request
from api.openapi import openapi_document
from api.problems import input_error_response, json_response, problem_response
from core.errors import InputError
from core.naming import ANALYZER_ID_PATTERN
from core.settings import Settings
from inputs import sources
from tests.conftest import example_settings

# Every route and status the document described before it was generated from the models.
DOCUMENTED = {
    ("/analyses", "post"): {"202", "400", "413", "415", "503"},
    ("/analyses/{id}", "get"): {"200", "404"},
    ("/analyses/{id}", "delete"): {"202", "404", "409"},
    ("/analyses/{id}/result", "get"): {"200", "400", "404", "409", "410", "503"},
    ("/analyses/{id}/results/{index}", "get"): {"200", "400", "404", "409", "410", "503"},
    ("/analyses/{id}/fields", "get"): {"200", "400", "404", "409", "410", "503"},
    ("/analyzers/{analyzerId}", "put"): {"202", "400", "503"},
    ("/analyzers/{analyzerId}", "get"): {"200", "404", "503"},
    ("/health", "get"): {"200", "503"},
    ("/openapi.json", "get"): {"200"},
}


def validator(model: type[BaseModel]) -> Draft202012Validator:
    """A JSON Schema validator for ``model``'s component, refs resolved within the OpenAPI document."""
    document = openapi_document()
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{model.__name__}", "components": document["components"]}
    )


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    validate_openapi(document)
    json.dumps(document)  # served as JSON


def test_every_route_and_status_stays_documented() -> None:
    paths = openapi_document()["paths"]
    for (path, method), statuses in DOCUMENTED.items():
        assert statuses <= set(paths[path][method]["responses"]), (path, method)


def test_bodies_are_generated_from_the_models() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    assert {model.__name__ for model in models.SCHEMA_MODELS} <= set(schemas)
    post = document["paths"]["/analyses"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == schemas["JobRequestBody"]
    assert post["responses"]["202"]["content"]["application/json"]["schema"] == schemas["Accepted"]
    problem = document["components"]["responses"]["Problem"]["content"]["application/problem+json"]
    assert problem["schema"] == schemas["Problem"]
    # The sources a request may name are the registry's user-facing kinds, nothing else.
    items = schemas["JobRequestBody"]["properties"]["inputs"]["items"]["oneOf"]
    assert [item["$ref"].rsplit("/", 1)[1] for item in items] == [
        model.__name__ for model in sources.request_models()
    ]
    # Optional members are never documented as null.
    assert schemas["JobRequestBody"]["properties"]["analyzerId"] == {
        "type": "string",
        "maxLength": 64,
        "pattern": ANALYZER_ID_PATTERN,
        "description": "default: the app's DEFAULT_ANALYZER_ID",
    }


VALID_BODIES: list[dict[str, Any]] = [
    {"inputs": [{"blob": "intake/a.pdf"}]},
    {"analyzerId": "invoices", "mode": "agentic", "references": [{"url": "https://example.com/r.pdf"}]},
    {"inputs": [{"blob": "intake/a.pdf"}], "apiVersion": "2025-11-01"},
    {"inputs": [{"url": "https://example.com/a.pdf"}], "partialFailure": "fail", "idempotencyKey": "k-1"},
    {"idempotencyKey": None},
]
INVALID_BODIES: list[dict[str, Any]] = [
    {"colour": "red"},
    {"analyzerId": "bad id"},
    {"analyzerId": None},
    {"analyzerId": 7},
    {"mode": "batch"},
    {"mode": "combined"},
    {"apiVersion": None},
    {"apiVersion": 2025},
    {"mode": None},
    {"partialFailure": "maybe"},
    {"partialFailure": None},
    {"idempotencyKey": "has space"},
    {"idempotencyKey": ""},
    {"inputs": "intake/a.pdf"},
    {"inputs": None},
    {"inputs": [{"blob": ""}]},
    {"inputs": [{"blob": 7}]},
    {"inputs": [{"blob": "intake/a.pdf", "url": "https://example.com/a"}]},
    {"inputs": [{"staged": "job-1/a.pdf", "name": "a.pdf"}]},
    {"inputs": [{"file": "a.pdf"}]},
    {"inputs": [7]},
]


@pytest.mark.parametrize("body", VALID_BODIES + INVALID_BODIES, ids=json.dumps)
def test_the_published_schema_and_the_validation_agree(body: dict[str, Any]) -> None:
    published = validator(models.JobRequestBody).is_valid(body)
    try:
        models.JobRequestBody.model_validate(body)
        validated = True
    except ValidationError:
        validated = False
    assert published == validated == (body in VALID_BODIES)


def parse(body: dict[str, Any], **changes: Any) -> Any:
    configured = replace(Settings.from_env(example_settings()), **changes)
    return parse_job_request(json.dumps(body).encode(), "application/json", configured)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"inputs": [{"blob": "intake/a.pdf"}], "zeta": 1, "alpha": 2}, "UnknownField", "alpha, zeta"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "analyzerId": None}, "InvalidField", "analyzerId must be"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "mode": None}, "InvalidField", "mode must be a string"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "mode": 3}, "InvalidField", "mode must be a string"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "partialFailure": 1}, "InvalidField", "partialFailure"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "mode": "all"}, "InvalidMode", "got 'all'"),
        ({"inputs": None}, "InvalidInputs", "inputs must be a list"),
        ({"inputs": [{"blob": ""}]}, "InvalidInputs", "inputs[0].blob must be a non-empty string"),
        ({"references": [{"blob": 5}]}, "InvalidInputs", "references[0].blob must be a non-empty string"),
        ({"inputs": [{"staged": "job-1/a.pdf", "name": "a"}]}, "InvalidInputs", '{"blob": ...} or {"url"'),
        ({"inputs": [{"blob": "intake/a.pdf"}, 7]}, "InvalidInputs", "inputs[1] must be"),
        # The request's own fields are reported before its sources, as before.
        ({"inputs": [{"blob": "grants/x"}], "analyzerId": "a b"}, "InvalidAnalyzerId", "must be 1-64"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "analyzerId": ".."}, "InvalidAnalyzerId", "not only dots"),
        ({"inputs": [{"file": "a"}], "idempotencyKey": "a b"}, "InvalidIdempotencyKey", "printable"),
        ({"inputs": [{"blob": "intake/../grants/job-1/x.json"}]}, "BlobNotAllowed", "plain container/path"),
    ],
)
def test_validation_errors_map_to_the_problem_codes(body: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(body)
    assert caught.value.code == code
    assert message in caught.value.message


def test_an_explicit_null_idempotency_key_is_no_key() -> None:
    request = parse({"inputs": [{"blob": "intake/a.pdf"}], "idempotencyKey": None})
    assert request.idempotency_key is None


class Runtime(Enum):
    Running = "Running"
    Completed = "Completed"
    Terminated = "Terminated"


@dataclass
class FakeStatus:
    """The members of the Durable client's status object that ``status_document`` reads."""

    runtime_status: Runtime | None
    custom_status: Any
    output: Any
    created_time: datetime | None = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    last_updated_time: datetime | None = datetime(2026, 12, 1, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "polling"),
    [
        (FakeStatus(None, None, None, None, None), None),
        (
            FakeStatus(Runtime.Running, {"stage": "analyzing", "total": 2, "done": 1}, None),
            {"polls": 3, "nextPollAt": "2026-12-01T10:06:00.000000Z", "pollError": "CU unavailable"},
        ),
        (
            FakeStatus(Runtime.Completed, {"stage": "done"}, {"status": "succeeded", "inputs": []}),
            None,
        ),
        (FakeStatus(Runtime.Terminated, {}, "Canceled by the user"), None),
    ],
)
def test_status_documents_match_their_schema(status: FakeStatus, polling: dict[str, Any] | None) -> None:
    response = json_response(status_document("job-1", status, polling))
    document = json.loads(response.get_body())
    validator(models.StatusDocument).validate(document)
    assert list(document) == [
        "id",
        "status",
        "stage",
        "progress",
        "error",
        "summary",
        "createdAt",
        "updatedAt",
    ]
    assert None not in document["progress"].values()


def test_problems_match_their_schema() -> None:
    responses = [
        problem_response(404, "No analysis with id 'x'"),
        problem_response(409, "Not yet", jobStatus="running"),
        input_error_response(InputError("Too big", code="InputTooLarge", input_name="a.pdf")),
    ]
    for response in responses:
        assert response.mimetype == "application/problem+json"
        problem = json.loads(response.get_body())
        validator(models.Problem).validate(problem)
        assert list(problem)[:4] == ["type", "title", "status", "detail"]
    assert json.loads(responses[2].get_body())["input"] == "a.pdf"
    assert responses[2].status_code == 413


def test_a_result_document_matches_its_schema() -> None:
    # The shape GET /result serves (api/results.py): a page of entries, each one an OperationResult.
    document = {
        "id": "job-1",
        "analyzerId": "prebuilt-document",
        "mode": "per-document",
        "total": 3,
        "results": [
            {
                "index": 0,
                "inputs": ["a.pdf"],
                "operationId": "op-1",
                "status": "succeeded",
                "error": None,
                "result": {"contents": []},
            },
            {
                "index": 1,
                "inputs": ["b.pdf"],
                "operationId": "op-2",
                "status": "failed",
                "error": {
                    "code": "InvalidRequest",
                    "message": "Invalid Request.",
                    "innererror": {"code": "ContentSourceNotAccessible", "message": "no"},
                },
                "result": None,
            },
        ],
        "nextLink": "/api/analyses/job-1/result?start=2&pageSize=2",
    }
    validator(models.ResultDocument).validate(document)
    assert models.ResultDocument.model_validate(document).model_dump(mode="json") == document
    last_page = {**document, "results": [], "nextLink": None}
    assert not validator(models.ResultDocument).is_valid(last_page)  # absent, never null
    del last_page["nextLink"]
    validator(models.ResultDocument).validate(last_page)
