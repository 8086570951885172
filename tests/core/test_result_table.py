"""The fields table's rules: how CU fields become columns, and how cells are written in CSV and JSONL."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from core.result_table import (
    META_COLUMNS,
    ResultEntry,
    csv_lines,
    field_cells,
    jsonl_line,
    merge_columns,
    public_status,
    table_row,
)

# Shaped like CU's ContentField (2025-11-01): one value member by type, arrays and objects of fields.
INVOICE = {
    "contents": [
        {
            "kind": "document",
            "fields": {
                "InvoiceNumber": {"type": "string", "valueString": "INV-1", "confidence": 0.9, "spans": []},
                "Total": {"type": "number", "valueNumber": 1250.5},
                "Count": {"type": "integer", "valueInteger": 3},
                "Paid": {"type": "boolean", "valueBoolean": False},
                "Due": {"type": "date", "valueDate": "2026-12-31"},
                "At": {"type": "time", "valueTime": "09:30:00"},
                "Raw": {"type": "json", "valueJson": {"a": [1, 2]}},
                "Missing": {"type": "string"},
                "Vendor": {
                    "type": "object",
                    "valueObject": {
                        "Name": {"type": "string", "valueString": "Contoso"},
                        "Address": {
                            "type": "object",
                            "valueObject": {"City": {"type": "string", "valueString": "Zürich"}},
                        },
                    },
                },
                "Empty": {"type": "object"},
                "Items": {
                    "type": "array",
                    "valueArray": [
                        {
                            "type": "object",
                            "valueObject": {
                                "Sku": {"type": "string", "valueString": "A-1"},
                                "Qty": {"type": "integer", "valueInteger": 2},
                            },
                        },
                        {"type": "object", "valueObject": {"Sku": {"type": "string"}}},
                    ],
                },
                "Tags": {"type": "array", "valueArray": [{"type": "string", "valueString": "x"}]},
                "NoTags": {"type": "array"},
            },
        },
        {"kind": "document", "fields": {"Total": {"type": "number", "valueNumber": 7}}},
        {"kind": "document"},
    ]
}


def entry(**overrides: Any) -> ResultEntry:
    base: ResultEntry = {
        "index": 4,
        "key": "4",
        "inputs": ["a.pdf"],
        "operationId": "op-4",
        "status": "succeeded",
        "error": None,
    }
    return {**base, **overrides}  # type: ignore[typeddict-item]


def test_fields_flatten_to_one_column_each() -> None:
    assert field_cells(INVOICE) == {
        "fields.InvoiceNumber": "INV-1",
        "fields.Total": 1250.5,
        "fields.Count": 3,
        "fields.Paid": False,
        "fields.Due": "2026-12-31",
        "fields.At": "09:30:00",
        "fields.Raw": {"a": [1, 2]},
        "fields.Missing": None,
        # Objects: a column per property, recursively.
        "fields.Vendor.Name": "Contoso",
        "fields.Vendor.Address.City": "Zürich",
        # An empty object ("Empty") names no property, so it has no cell.
        # Arrays: one column with the list of values (items' objects as {property: value}).
        "fields.Items": [{"Sku": "A-1", "Qty": 2}, {"Sku": None}],
        "fields.Tags": ["x"],
        "fields.NoTags": None,
        # A later content's fields are named after it.
        "contents.1.fields.Total": 7,
    }


def test_results_without_fields_have_no_field_cells() -> None:
    for result in (None, {}, {"contents": None}, {"contents": [{"kind": "document"}]}, {"contents": ["x"]}):
        assert field_cells(result) == {}


def test_a_row_starts_with_the_entry_then_its_fields() -> None:
    row = table_row(entry(), {"contents": [{"fields": {"A": {"type": "string", "valueString": "v"}}}]})
    assert list(row) == [*META_COLUMNS, "fields.A"]
    assert row == {
        "index": 4,
        "input": "a.pdf",
        "operationId": "op-4",
        "status": "succeeded",
        "errorCode": None,
        "errorMessage": None,
        "fields.A": "v",
    }
    failed = table_row(
        entry(status="failed", operationId=None, error={"code": "BlobNotFound", "message": "gone"}), None
    )
    assert (failed["errorCode"], failed["errorMessage"], failed["operationId"]) == (
        "BlobNotFound",
        "gone",
        None,
    )
    several = table_row(entry(inputs=["a.pdf", "b.pdf"]), None)
    assert several["input"] == "a.pdf; b.pdf"


def test_columns_keep_the_order_they_first_appear_in() -> None:
    columns = list(META_COLUMNS)
    seen = set(columns)
    merge_columns(columns, seen, ["fields.B", "fields.A"])
    merge_columns(columns, seen, ["fields.A", "fields.C", "index"])
    assert columns == [*META_COLUMNS, "fields.B", "fields.A", "fields.C"]


def test_csv_cells_round_trip_through_a_csv_reader() -> None:
    columns = [*META_COLUMNS, "fields.Text", "fields.N", "fields.B", "fields.L", "fields.Absent"]
    row = {
        **table_row(entry(), None),
        "fields.Text": 'line one\nline "two", with comma',
        "fields.N": 1250.0,
        "fields.B": True,
        "fields.L": [{"a": "ü"}],
    }
    text = csv_lines(columns, [row], header=True)

    assert text.endswith("\r\n")
    header, values = list(csv.reader(io.StringIO(text, newline="")))
    assert header == columns
    assert dict(zip(header, values, strict=True)) == {
        "index": "4",
        "input": "a.pdf",
        "operationId": "op-4",
        "status": "succeeded",
        "errorCode": "",
        "errorMessage": "",
        "fields.Text": 'line one\nline "two", with comma',
        "fields.N": "1250.0",
        "fields.B": "true",
        "fields.L": '[{"a":"ü"}]',
        "fields.Absent": "",
    }
    assert csv_lines(columns, [row], header=False).count("\r\n") == 1  # the embedded \n is quoted


def test_a_jsonl_line_has_every_column_with_its_json_type() -> None:
    columns = [*META_COLUMNS, "fields.N", "fields.L", "fields.Absent"]
    line = jsonl_line(columns, {**table_row(entry(), None), "fields.N": 2, "fields.L": ["x\ny"]})

    assert line.endswith("\n")
    assert line.count("\n") == 1
    document = json.loads(line)
    assert list(document) == columns
    assert (document["index"], document["fields.N"], document["fields.L"], document["fields.Absent"]) == (
        4,
        2,
        ["x\ny"],
        None,
    )


def test_public_statuses() -> None:
    assert [public_status(s) for s in ("Succeeded", "Failed", "Canceled", "TimedOut", "Skipped")] == [
        "succeeded",
        "failed",
        "canceled",
        "timed_out",
        "skipped",
    ]
