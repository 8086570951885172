"""The workbook's and the alerts' queries name only what the app's telemetry writes.

Each query in infra/monitoring/ must read the Application Insights tables the app's telemetry
lands in, only their columns, and only ``customDimensions`` keys that ``core.telemetry_fields``
declares (the e2e test ``tests/e2e/test_telemetry.py`` checks that a real job writes each of
them). The values compared with ``app.event``, ``app.dependency``, ``app.cu.operation``,
``app.job.status`` and ``app.error_code`` must be values the code produces. Every query is used by
infra and printed in docs/operations.md, so that an operator can run it by hand.
"""

from __future__ import annotations

from typing import get_args

import pytest

from core import telemetry_fields as fields
from core.jobs import JobStatus
from telemetry import content_understanding as cu_telemetry
from tests.support import kql
from tests.support.azurite import REPO_ROOT

QUERIES = kql.all_queries()
WORKBOOK_AND_ALERTS = (REPO_ROOT / "infra" / "app" / "monitoring-dashboards.bicep").read_text(
    encoding="utf-8"
)
OPERATIONS = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def test_there_are_the_workbooks_and_the_alerts_queries() -> None:
    names = {query.name for query in QUERIES}
    assert {"jobs-by-status", "job-duration", "step-duration", "inputs-failed-by-code"} <= names
    assert {"cu-throttling", "analysis-time-per-page"} <= names
    assert {"alert-failed-jobs", "alert-jobs-past-deadline", "alert-http-5xx", "alert-cu-throttling"} <= names


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_a_query_reads_known_tables_and_columns(query: kql.Query) -> None:
    assert query.tables, "no table found: the checks would pass vacuously"
    assert query.tables <= set(kql.SCHEMA), query.tables - set(kql.SCHEMA)
    assert not query.unknown, f"not a column of {sorted(query.tables)} nor a known operator: {query.unknown}"


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_a_query_uses_only_attributes_the_app_writes(query: kql.Query) -> None:
    assert query.dimensions <= fields.ATTRIBUTES, query.dimensions - fields.ATTRIBUTES


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_a_query_compares_with_values_the_app_writes(query: kql.Query) -> None:
    operations = {name for _, _, name in cu_telemetry._OPERATIONS}
    known = {
        fields.EVENT: {fields.JOB_STARTED, fields.JOB_FINISHED, fields.INPUT_FAILED},
        fields.DEPENDENCY: {fields.DEPENDENCY_ACTIVITY, fields.DEPENDENCY_CONTENT_UNDERSTANDING},
        fields.CU_OPERATION: operations,
        fields.JOB_STATUS: set(get_args(JobStatus)),
        fields.CU_OPERATION_STATUS: {"NotStarted", "Running", "Succeeded", "Failed", "Canceled"},
    }
    for dimension, values in known.items():
        assert kql.compared_values(query, dimension) <= values, dimension
    # An error code a query looks for must be one the orchestrations produce.
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "orchestrators").glob("*.py"))
    for code in kql.compared_values(query, fields.ERROR_CODE):
        assert f'"{code}"' in sources, code


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_every_query_is_deployed_and_documented(query: kql.Query) -> None:
    assert f"'../monitoring/{query.name}.kql'" in WORKBOOK_AND_ALERTS
    body = "\n".join(line for line in query.text.splitlines() if not line.startswith("//")).strip()
    assert body in OPERATIONS, f"docs/operations.md should show {query.name}.kql as it is"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('dependencies | where resultcode == "429"', "resultcode"),  # a column's case matters
        ('trace | where customDimensions["app.event"] == "job_started"', "trace"),  # no such table
        ("requests | summarize by cloud_RoleInstanceX", "cloud_RoleInstanceX"),
    ],
)
def test_the_checks_catch_a_wrong_name(text: str, problem: str) -> None:
    query = kql.parse("planted", text)
    assert problem in (query.unknown | (query.tables - set(kql.SCHEMA)))


def test_the_checks_catch_an_attribute_nobody_writes() -> None:
    query = kql.parse("planted", 'traces | where customDimensions["app.jobid"] == "x"')
    assert query.dimensions - fields.ATTRIBUTES == {"app.jobid"}


def test_the_deadline_alert_gets_the_deployments_deadline() -> None:
    (query,) = [q for q in QUERIES if q.name == "alert-jobs-past-deadline"]
    assert "let analysis_deadline = 1800s;" in query.text
    replaced = "'let analysis_deadline = 1800s;', 'let analysis_deadline = ${analysisDeadlineSeconds}s;'"
    assert replaced in WORKBOOK_AND_ALERTS
