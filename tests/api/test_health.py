from __future__ import annotations

import json

import azure.functions as func
import pytest

from api.health import health_report
from api.problems import PROBLEM_CONTENT_TYPE
from core.version import APP_VERSION
from triggers.http_api import health


def call_health() -> func.HttpResponse:
    request = func.HttpRequest(method="GET", url="http://127.0.0.1:7071/api/health", body=b"")
    response: func.HttpResponse = health.build().get_user_function()(request)
    return response


def test_health_reports_version_and_configured_dependencies() -> None:
    response = call_health()
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = json.loads(response.get_body())
    assert body["status"] == "healthy"
    assert body["version"] == APP_VERSION
    assert body["dependencies"]["documentStorage"] == {"configured": True, "auth": "connectionString"}
    assert body["dependencies"]["durableStorage"] == {"configured": True}
    cu = body["dependencies"]["contentUnderstanding"]
    assert cu["auth"] == "key"
    assert cu["apiVersion"] == "2025-11-01"
    assert cu["agenticApiVersion"] == "2026-06-01-preview"
    assert "prebuilt-analyzer-completion" in cu["modelDeployments"]  # the local settings map the aliases
    assert cu["unmappedModelAliases"] == []


def test_health_names_the_model_aliases_without_a_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS", '{"gpt-4.1": "gpt-4.1"}')
    cu = json.loads(call_health().get_body())["dependencies"]["contentUnderstanding"]
    assert cu["unmappedModelAliases"] == [
        "prebuilt-analyzer-completion",
        "prebuilt-analyzer-completion-mini",
        "prebuilt-analyzer-embedding",
    ]


def test_a_retired_api_version_makes_the_app_unhealthy_saying_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTENT_UNDERSTANDING_API_VERSION", "2025-05-01-preview")
    response = call_health()
    assert response.status_code == 503
    problem = json.loads(response.get_body())
    assert problem["error"]["setting"] == "CONTENT_UNDERSTANDING_API_VERSION"
    assert "retired" in problem["detail"]


def test_health_never_shows_secrets(app_settings_env: dict[str, str]) -> None:
    body = call_health().get_body().decode()
    assert app_settings_env["CONTENT_UNDERSTANDING_KEY"] not in body
    assert "UseDevelopmentStorage" not in body


def test_a_misconfigured_app_answers_503_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_FILE_BYTES", "lots")
    response = call_health()
    assert response.status_code == 503
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    problem = json.loads(response.get_body())
    assert problem["status"] == 503
    assert problem["error"]["setting"] == "MAX_FILE_BYTES"
    assert "MAX_FILE_BYTES" in problem["detail"]


def test_durable_storage_with_managed_identity_counts_as_configured() -> None:
    healthy, report = health_report(
        {
            "AzureWebJobsStorage__accountName": "acct",
            "DocumentStorage__blobServiceUri": "https://acct.blob.core.windows.net",
            "CONTENT_UNDERSTANDING_ENDPOINT": "https://cu.example",
        }
    )
    assert healthy
    assert report["dependencies"]["durableStorage"] == {"configured": True}
    assert report["dependencies"]["documentStorage"]["auth"] == "managedIdentity"
    assert report["dependencies"]["contentUnderstanding"]["auth"] == "entraId"
