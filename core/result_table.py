"""A job's extracted fields as a table: one row per result entry, one column per field.

Pure functions, shared by the storage that reads results and the API that serves the table as CSV
or JSON Lines. A row starts with the entry's own columns (``META_COLUMNS``), then one column per
field that Content Understanding returned, named after where it sits in the result:

- a field of ``contents[0]`` is ``fields.<Name>``; a field of a later content (a result with
  several contents, such as a document split into segments) is ``contents.<i>.fields.<Name>``;
- an object field (``valueObject``) becomes one column per property, ``fields.<Name>.<Property>``,
  recursively; an object CU left empty gives no cell (its columns come from the rows that have it);
- an array field (``valueArray``) stays one column holding the list of its items' values (an
  object item as ``{property: value}``): its length differs from row to row, so one column per item
  would make the table's columns depend on the data;
- any other field holds its one value (``valueString``, ``valueDate``, ``valueTime``,
  ``valueNumber``, ``valueInteger``, ``valueBoolean``, ``valueJson``); a field CU could not fill
  (only ``type``) is empty. Confidence, spans and source are left out: the table is the values.

Reference for the field shape: ``ContentField`` in the CU REST API (2025-11-01), one ``value*``
member by ``type``, ``valueArray`` of fields and ``valueObject`` of named fields.

CSV cells (RFC 4180, ``\\r\\n`` line ends, UTF-8): an empty cell for null, ``true``/``false``,
numbers as JSON writes them, lists and objects as compact JSON, strings as they are (quoted where
CSV needs it). A JSON Lines row is one object per line, the same columns as keys, values with
their JSON types.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any, NotRequired, TypedDict

# Bump when a rule above changes: the columns saved for a job under an older version are redone.
TABLE_FORMAT = 1

META_COLUMNS: tuple[str, ...] = ("index", "input", "operationId", "status", "errorCode", "errorMessage")
INPUT_SEPARATOR = "; "  # an entry over several inputs (one operation for all) names them all
_VALUE_KEYS = (
    "valueString",
    "valueDate",
    "valueTime",
    "valueNumber",
    "valueInteger",
    "valueBoolean",
    "valueJson",
)


class ResultEntry(TypedDict):
    """One entry of a job's result: a CU operation (in per-document mode, one document) and its fate."""

    index: int  # its position in the job's result, from 0
    key: str  # the operation's key: its response is stored as layout.operation_result_key(key)
    inputs: list[str]  # the names of the inputs it analysed
    operationId: str | None  # None: no operation was started
    status: str  # succeeded | failed | canceled | timed_out | skipped
    error: NotRequired[dict[str, Any] | None]  # {"code", "message", ...} when it did not succeed


def public_status(status: str) -> str:
    """CU's operation status in the API's snake_case (``TimedOut`` -> ``timed_out``)."""
    return "timed_out" if status == "TimedOut" else status.lower()


def field_cells(result: Mapping[str, Any] | None) -> dict[str, Any]:
    """The field columns of one CU result (``AnalyzeResult``), in the order CU returned them."""
    cells: dict[str, Any] = {}
    if not isinstance(result, Mapping):
        return cells
    contents = result.get("contents")
    if not isinstance(contents, list):
        return cells
    for position, content in enumerate(contents):
        fields = content.get("fields") if isinstance(content, Mapping) else None
        if not isinstance(fields, Mapping):
            continue
        prefix = "fields" if position == 0 else f"contents.{position}.fields"
        for name, field in fields.items():
            _flatten(f"{prefix}.{name}", field, cells)
    return cells


def table_row(entry: ResultEntry, result: Mapping[str, Any] | None) -> dict[str, Any]:
    """The row of ``entry``: its own columns, then its fields (``result``: CU's ``AnalyzeResult``)."""
    error = innermost_error(entry.get("error") or {})
    row: dict[str, Any] = {
        "index": entry["index"],
        "input": INPUT_SEPARATOR.join(entry["inputs"]),
        "operationId": entry["operationId"],
        "status": entry["status"],
        "errorCode": error.get("code"),
        "errorMessage": error.get("message"),
    }
    row.update(field_cells(result))
    return row


def innermost_error(error: Mapping[str, Any]) -> Mapping[str, Any]:
    """The most specific error: Azure answers a generic outer one ("Invalid Request.") and puts the
    detail in ``innererror`` (which may nest); the table shows the detail."""
    while isinstance(error.get("innererror"), Mapping) and error["innererror"].get("code"):
        error = error["innererror"]
    return error


def merge_columns(columns: list[str], seen: set[str], row: Iterable[str]) -> None:
    """Append the columns of ``row`` not yet in ``columns`` (``seen`` mirrors it), keeping order."""
    for column in row:
        if column not in seen:
            seen.add(column)
            columns.append(column)


def csv_lines(columns: list[str], rows: Iterable[Mapping[str, Any]], *, header: bool) -> str:
    """``rows`` as CSV over ``columns`` (a cell missing from a row is empty), with the header or not."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column)) for column in columns])
    return out.getvalue()


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def jsonl_line(columns: list[str], row: Mapping[str, Any]) -> str:
    """One JSON Lines row: every column as a key, in column order, null where the row has no cell."""
    document = {column: row.get(column) for column in columns}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def _flatten(column: str, field: Any, cells: dict[str, Any]) -> None:
    if not isinstance(field, Mapping):
        cells[column] = None
        return
    members = field.get("valueObject")
    if isinstance(members, Mapping):
        for name, member in members.items():
            _flatten(f"{column}.{name}", member, cells)
        return
    if field.get("type") == "object" and "valueArray" not in field:
        return  # an object CU left empty: no properties to name
    cells[column] = field_value(field)


def field_value(field: Any) -> Any:
    """A field's value as plain JSON: its ``value*`` member, arrays and objects resolved recursively."""
    if not isinstance(field, Mapping):
        return None
    members = field.get("valueObject")
    if isinstance(members, Mapping):
        return {name: field_value(member) for name, member in members.items()}
    items = field.get("valueArray")
    if isinstance(items, list):
        return [field_value(item) for item in items]
    for key in _VALUE_KEYS:
        if key in field:
            return field[key]
    return None
