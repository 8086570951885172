"""Reading the monitoring queries (infra/monitoring/*.kql) well enough to check their names.

Not a KQL parser: a tokenizer that knows comments, string literals, ``customDimensions["..."]``
look-ups, names a query defines itself (``let x =``, ``name = ...`` in extend/project/summarize),
and the operators and functions the queries use. Every other identifier must be a table or a
column of the Application Insights schema below, so a typo, an unknown column or an operator
these checks do not know makes the test fail until someone looks.

The schema is Application Insights' classic one (what a workbook on the component and a log alert
scoped to it query): ``requests`` (the host's HTTP and trigger invocations), ``dependencies``
(every span the app exports that is not a request: activities, CU and storage calls) and
``traces`` (log records). Source: learn.microsoft.com/azure/azure-monitor/app/data-model-complete
and the Azure Monitor exporter's span/log mapping (azure-monitor-opentelemetry-exporter,
``export/trace/_exporter.py``: CLIENT spans with ``http.request.method`` become ``HTTP``
dependencies whose ``resultCode`` is ``http.response.status_code``; other attributes go to
``customDimensions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.azurite import REPO_ROOT

QUERIES = REPO_ROOT / "infra" / "monitoring"

_COMMON = {"timestamp", "name", "customDimensions", "operation_Id", "operation_Name", "cloud_RoleName"}
SCHEMA: dict[str, frozenset[str]] = {
    "requests": frozenset(_COMMON | {"resultCode", "success", "duration", "url", "id"}),
    "dependencies": frozenset(
        _COMMON | {"type", "target", "data", "resultCode", "success", "duration", "id"}
    ),
    "traces": frozenset(_COMMON | {"message", "severityLevel"}),
}

KEYWORDS = frozenset(
    {
        *("let", "where", "extend", "project", "summarize", "by", "order", "sort", "desc", "asc", "render"),
        *("timechart", "columnchart", "barchart", "piechart", "table", "join", "kind", "inner", "leftanti"),
        *(
            "leftouter",
            "on",
            "union",
            "and",
            "or",
            "not",
            "in",
            "between",
            "top",
            "take",
            "limit",
            "distinct",
        ),
        *("bin", "count", "countif", "sum", "sumif", "percentile", "percentiles", "avg", "max", "min"),
        *("dcount", "ago", "now", "iff", "tostring", "toint", "todouble", "tolong", "isnotempty", "isempty"),
        *("true", "false", "has", "contains", "startswith", "endswith"),
    }
)

_COMMENT = re.compile(r"//[^\n]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_DIMENSION = re.compile(r'customDimensions\["([^"]+)"\]')
_DEFINED = re.compile(r"(?:\blet\s+)?\b([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")
_IDENTIFIER = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*)\b")
_TIMESPAN = re.compile(r"\b\d+(?:\.\d+)?(?:d|h|m|s|ms)\b")
_TABLE_START = re.compile(r"(?:^|=|\(|;)\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?=\n?\s*\|)", re.MULTILINE)


@dataclass
class Query:
    name: str
    text: str
    tables: set[str] = field(default_factory=set)
    dimensions: set[str] = field(default_factory=set)
    defined: set[str] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)

    @property
    def unknown(self) -> set[str]:
        """Identifiers that are neither operators, names the query defines, nor schema names."""
        columns = set().union(*(SCHEMA.get(table, frozenset()) for table in self.tables))
        return self.identifiers - KEYWORDS - self.defined - columns - set(SCHEMA)


def read(path: Path) -> Query:
    return parse(path.stem, path.read_text(encoding="utf-8"))


def parse(name: str, text: str) -> Query:
    query = Query(name, text)
    code = _COMMENT.sub("", text)
    query.dimensions = set(_DIMENSION.findall(code))
    code = _DIMENSION.sub(" customDimensions ", code)
    code = _STRING.sub(" ", code)
    code = _TIMESPAN.sub(" ", code)
    query.defined = set(_DEFINED.findall(code))
    query.tables = {m.group(1) for m in _TABLE_START.finditer(code)} - query.defined
    query.identifiers = set(_IDENTIFIER.findall(code))
    return query


def all_queries() -> list[Query]:
    return [read(path) for path in sorted(QUERIES.glob("*.kql"))]


def compared_values(query: Query, dimension: str) -> set[str]:
    """String values a query compares ``customDimensions[dimension]`` with (``==`` or ``in (...)``)."""
    key = re.escape(dimension)
    code = _COMMENT.sub("", query.text)
    values = set(re.findall(rf'customDimensions\["{key}"\]\s*==\s*"([^"]*)"', code))
    for group in re.findall(rf'customDimensions\["{key}"\]\s+in\s*\(([^)]*)\)', code):
        values.update(re.findall(r'"([^"]*)"', group))
    return values
