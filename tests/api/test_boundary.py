"""The HTTP boundary's catch-all: an unexpected exception is a 500 problem with a logged correlation id."""

from __future__ import annotations

import inspect
import json
import logging
from typing import Any

import azure.functions as func
import pytest

from api.boundary import answered, answered_now
from api.problems import json_response

SECRET_URL = "https://acct.blob.core.windows.net/grants/x.json?sv=2025&sig=TOPSECRET"


async def failing() -> func.HttpResponse:
    raise RuntimeError(f"could not read {SECRET_URL}")


async def test_an_unexpected_exception_is_a_500_problem_quoting_a_logged_correlation_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="api.boundary")

    response = await answered("GET /api/analyses/{id}", failing())

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    problem = json.loads(response.get_body())
    assert (problem["status"], problem["code"], problem["title"]) == (500, "InternalError", "Internal error")
    correlation_id = problem["correlationId"]
    assert correlation_id in problem["detail"]
    # Nothing of the error itself reaches the client: no message, no stack, no URL.
    body = response.get_body().decode()
    assert "RuntimeError" not in body
    assert "acct.blob" not in body
    assert "Traceback" not in body
    # The log has the id, the route and the stack, with the signature redacted.
    (record,) = caplog.records
    logged = record.getMessage()
    assert correlation_id in logged
    assert "GET /api/analyses/{id}" in logged
    assert "RuntimeError" in logged
    assert "Traceback" in logged
    assert "TOPSECRET" not in logged


async def test_each_failure_gets_its_own_correlation_id() -> None:
    first = json.loads((await answered("r", failing())).get_body())["correlationId"]
    second = json.loads((await answered("r", failing())).get_body())["correlationId"]
    assert first != second


async def test_a_handler_that_answers_is_passed_through(caplog: pytest.LogCaptureFixture) -> None:
    async def fine() -> func.HttpResponse:
        return json_response({"ok": True}, status=202)

    response = await answered("r", fine())

    assert (response.status_code, json.loads(response.get_body())) == (202, {"ok": True})
    assert caplog.records == []


def test_synchronous_handlers_are_guarded_too() -> None:
    def broken() -> func.HttpResponse:
        raise KeyError("x")

    assert answered_now("GET /api/health", broken).status_code == 500
    assert answered_now("GET /api/health", lambda: json_response({})).status_code == 200


class Exploding:
    """Stands in for a handler module: every handler it has raises."""

    def __getattr__(self, name: str) -> Any:
        async def handler(*args: Any, **kwargs: Any) -> func.HttpResponse:
            raise RuntimeError(f"{name} broke")

        return handler


def explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("broke")


async def test_every_http_route_answers_through_the_catch_all(monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.durable_functions as df

    from triggers import http_api

    for name in ("analyses", "analyzers", "results"):
        monkeypatch.setattr(http_api, name, Exploding())
    monkeypatch.setattr(http_api, "health_report", explode)
    monkeypatch.setattr(http_api, "openapi_document", explode)
    app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)  # function_app's own may index only once
    app.register_functions(http_api.bp)
    routes = [f for f in app.get_functions() if f.is_http_function()]
    request = func.HttpRequest(
        "GET", "/api/x", body=b"", route_params={"id": "i", "analyzerId": "a", "index": "0"}
    )

    answers = {}
    for route in routes:
        # The function as written (the durable decorator's wrapper would parse the client binding).
        user_function = getattr(route.get_user_function(), "__wrapped__", route.get_user_function())
        arguments = {"req": request, "client": None}
        parameters = inspect.signature(user_function).parameters
        result = user_function(**{name: arguments[name] for name in parameters})
        answers[route.get_function_name()] = await result if inspect.isawaitable(result) else result

    assert len(answers) == 10
    for name, response in answers.items():
        assert response.status_code == 500, name
        assert json.loads(response.get_body())["code"] == "InternalError", name
