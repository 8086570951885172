"""The result pages' wire form: entries serialised one by one into their envelope, and the cursor."""

from __future__ import annotations

import json

import pytest

from api import models
from api.results import RESULT_PAGE, _next_link, _number, _only, _page_size, _with_array
from core.errors import InputError
from storage.result_document import ResultHeader
from tests.api.test_contract import validator

HEADER = ResultHeader(job_id="job-1", analyzer_id="a", mode="per-document", total=45, part_size=500)


def entry(index: int, text: str) -> bytes:
    model = models.OperationResult(
        index=index,
        inputs=[text],
        operationId=None,
        status="succeeded",
        error=None,
        result={"contents": [{"markdown": text}]},
    )
    return model.model_dump_json().encode()


def test_entries_are_spliced_into_the_envelope() -> None:
    # Strings that look like the member being filled must not confuse the splice.
    tricky = '"results":[] ],}{ "nextLink"'
    envelope = models.ResultDocument.model_validate(
        {
            "id": "job-1",
            "analyzerId": "a",
            "mode": "per-document",
            "total": 45,
            "results": [],
            "nextLink": "/x?results=[]",
        }
    )
    items = bytearray(entry(0, tricky) + b"," + entry(1, "ü"))

    document = json.loads(_with_array(envelope, "results", items))

    validator(models.ResultDocument).validate(document)
    assert [item["inputs"] for item in document["results"]] == [[tricky], ["ü"]]
    assert document["nextLink"] == "/x?results=[]"
    empty = json.loads(_with_array(envelope, "results", bytearray()))
    assert empty["results"] == []


def test_the_next_link_carries_the_next_start_until_the_end() -> None:
    assert (
        _next_link("job-1", "result", {}, 20, 20, HEADER) == "/api/analyses/job-1/result?start=20&pageSize=20"
    )
    assert (
        _next_link("job-1", "fields", {"format": "csv"}, 40, 20, HEADER)
        == "/api/analyses/job-1/fields?format=csv&start=40&pageSize=20"
    )
    assert _next_link("job-1", "result", {}, 45, 20, HEADER) is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (0, 20)),
        ({"start": "40", "pageSize": "100"}, (40, 100)),
        ({"start": "0", "pageSize": "1", "code": "function-key"}, (0, 1)),
    ],
)
def test_a_cursor_is_read_from_the_query(params: dict[str, str], expected: tuple[int, int]) -> None:
    _only(params, {"start", "pageSize"})
    assert (_number(params, "start", 0), _page_size(params, RESULT_PAGE)) == expected


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start": "-1"}, "InvalidStart"),
        ({"start": "+1"}, "InvalidStart"),
        ({"start": " 1"}, "InvalidStart"),
        ({"start": "1.0"}, "InvalidStart"),
        ({"start": "9" * 10}, "InvalidStart"),
        ({"start": "\u0661"}, "InvalidStart"),  # ARABIC-INDIC DIGIT ONE: a digit to int(), not here
        ({"pageSize": "0"}, "InvalidPageSize"),
        ({"pageSize": "101"}, "InvalidPageSize"),
        ({"pageSize": ""}, "InvalidPageSize"),
        ({"continuationToken": "abc"}, "UnknownParameter"),
    ],
)
def test_a_tampered_cursor_is_refused(params: dict[str, str], code: str) -> None:
    def read() -> None:
        _only(params, {"start", "pageSize"})
        _number(params, "start", 0)
        _page_size(params, RESULT_PAGE)

    with pytest.raises(InputError) as refused:
        read()
    assert refused.value.code == code
