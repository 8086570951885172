"""A job's result at batch size, over real HTTP on devhost: pages, one entry, the fields as CSV and JSONL."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest

from core.result_table import csv_cell
from tests.e2e.conftest import AppStack, sample

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

# Five documents, one of which CU fails: a partially succeeded job of five entries.
NAMES = ["invoice-contoso.txt", "invoice-fabrikam.pdf", "invoice-litware.md", "copy-1.txt", "copy-2.md"]
CONTENT = {"copy-1.txt": "invoice-contoso.txt", "copy-2.md": "invoice-litware.md"}
FAILING = "invoice-litware.md"
PROBLEM = "application/problem+json"


async def finished_job(stack: AppStack) -> str:
    await stack.register("invoice-fields")
    stack.emulator.set_faults(fail_input_names={FAILING})
    files = [("files", name, sample(CONTENT.get(name, name))) for name in NAMES]
    job_id = await stack.submit(files, {"analyzerId": "invoice-fields"})
    status = await stack.wait(job_id)
    assert status["status"] == "partially_succeeded", status
    return job_id


def next_of(response: Any) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    found = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert found, link
    return found.group(1)


async def all_pages(stack: AppStack, url: str) -> list[Any]:
    responses = []
    next_url: str | None = url
    while next_url is not None:
        response = await stack.http.get(next_url)
        assert response.status_code == 200, response.text
        responses.append(response)
        next_url = next_of(response)
    return responses


async def test_the_result_in_pages_one_entry_and_the_fields_table(stack: AppStack) -> None:
    job_id = await finished_job(stack)
    base = f"/api/analyses/{job_id}"

    # The whole result fits in one default page: the shape it always had, plus index, error, total.
    whole = await stack.http.get(f"{base}/result")
    assert whole.status_code == 200
    document = whole.json()
    assert "nextLink" not in document
    assert "Link" not in whole.headers
    assert (document["id"], document["analyzerId"], document["total"]) == (job_id, "invoice-fields", 5)
    entries = document["results"]
    assert [entry["index"] for entry in entries] == [0, 1, 2, 3, 4]
    assert [entry["inputs"] for entry in entries] == [[name] for name in NAMES]
    assert [entry["status"] for entry in entries] == [
        "succeeded",
        "succeeded",
        "failed",
        "succeeded",
        "succeeded",
    ]
    assert entries[2]["result"] is None
    assert entries[2]["error"]["code"] == "InternalServerError"
    fabrikam = entries[1]["result"]["contents"][0]["fields"]
    assert fabrikam["InvoiceNumber"]["valueString"] == "FAB-2044"

    # Pages of two, followed by their nextLink: the same entries, in order.
    pages = await all_pages(stack, f"{base}/result?pageSize=2")
    bodies = [page.json() for page in pages]
    assert [len(body["results"]) for body in bodies] == [2, 2, 1]
    assert [body.get("nextLink") for body in bodies] == [
        f"{base}/result?start=2&pageSize=2",
        f"{base}/result?start=4&pageSize=2",
        None,
    ]
    assert [entry for body in bodies for entry in body["results"]] == entries
    # Any offset may be asked for directly; the end is an empty last page.
    middle = (await stack.http.get(f"{base}/result?start=3&pageSize=1")).json()
    assert middle["results"] == [entries[3]]
    assert (await stack.http.get(f"{base}/result?start=5")).json()["results"] == []

    # One entry on its own.
    one = await stack.http.get(f"{base}/results/1")
    assert one.status_code == 200
    assert one.json() == entries[1]
    missing = await stack.http.get(f"{base}/results/5")
    assert (missing.status_code, missing.headers["Content-Type"].split(";")[0]) == (404, PROBLEM)
    assert (await stack.http.get(f"{base}/results/one")).json()["code"] == "InvalidIndex"

    # The fields table as CSV, two rows a page: the pages joined are one CSV with one header.
    csv_pages = await all_pages(stack, f"{base}/fields?format=csv&pageSize=2")
    assert len(csv_pages) == 3
    assert all(page.headers["Content-Type"].startswith("text/csv") for page in csv_pages)
    text = "".join(page.text for page in csv_pages)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["input"] for row in rows] == NAMES
    assert (
        rows[0]["fields.InvoiceNumber"]
        == entries[0]["result"]["contents"][0]["fields"]["InvoiceNumber"]["valueString"]
    )
    assert rows[1]["fields.InvoiceNumber"] == "FAB-2044"
    assert rows[0]["fields.TotalAmount"] == "1250.0"
    assert (rows[2]["status"], rows[2]["errorCode"], rows[2]["fields.InvoiceNumber"]) == (
        "failed",
        "InternalServerError",
        "",
    )
    header = text.split("\r\n", 1)[0].split(",")
    assert header[:6] == ["index", "input", "operationId", "status", "errorCode", "errorMessage"]
    assert "fields.Paid" in header

    # The same table as JSON Lines: the same columns as keys, values with their JSON types.
    jsonl_pages = await all_pages(stack, f"{base}/fields?format=jsonl&pageSize=3")
    assert len(jsonl_pages) == 2
    assert all(page.headers["Content-Type"].startswith("application/jsonl") for page in jsonl_pages)
    lines = [json.loads(line) for page in jsonl_pages for line in page.text.splitlines()]
    assert [list(line) for line in lines] == [header] * 5
    assert [line["index"] for line in lines] == [0, 1, 2, 3, 4]
    assert lines[0]["fields.TotalAmount"] == 1250.0
    assert lines[2]["fields.InvoiceNumber"] is None
    # Cell for cell, the two formats are the same table.
    assert [{key: csv_cell(value) for key, value in line.items()} for line in lines] == rows


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("pageSize=0", "InvalidPageSize"),
        ("pageSize=101", "InvalidPageSize"),
        ("pageSize=two", "InvalidPageSize"),
        ("start=-1", "InvalidStart"),
        ("start=6", "InvalidStart"),
        ("start=1e3", "InvalidStart"),
        ("page=2", "UnknownParameter"),
    ],
)
async def test_bad_paging_is_400(stack: AppStack, query: str, code: str) -> None:
    # One small job per case would be slow; these need a finished job only for "start=6".
    job_id = await finished_job(stack) if query == "start=6" else "job-nope"
    response = await stack.http.get(f"/api/analyses/{job_id}/result?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == code
    fields = await stack.http.get(f"/api/analyses/{job_id}/fields?format=xml")
    assert (fields.status_code, fields.json()["code"]) == (400, "InvalidFormat")


async def test_a_failed_job_has_no_result_and_a_lost_result_is_410(stack: AppStack) -> None:
    stack.emulator.set_faults(fail_input_names={"a.txt"})
    failed = await stack.submit(
        [
            ("files", "a.txt", sample("invoice-contoso.txt")),
            ("files", "b.txt", sample("invoice-contoso.txt")),
        ],
        {"partialFailure": "fail"},
    )
    assert (await stack.wait(failed))["status"] == "failed"
    for path in ("result", "results/0", "fields", "fields?format=jsonl"):
        response = await stack.http.get(f"/api/analyses/{failed}/{path}")
        assert response.status_code == 409, (path, response.text)
        assert response.headers["Content-Type"].startswith(PROBLEM)
        assert response.json()["jobStatus"] == "failed"
    for path in ("result", "results/0", "fields"):
        assert (await stack.http.get(f"/api/analyses/job-nope/{path}")).status_code == 404

    stack.emulator.set_faults(fail_input_names=set())
    done = await stack.submit([("files", "c.txt", sample("invoice-contoso.txt"))])
    assert (await stack.wait(done))["status"] == "succeeded"
    results = stack.storage.get_container_client(stack.settings["RESULTS_CONTAINER"])
    await results.delete_blob(f"{done}/result-index.json")  # as retention would
    gone = await stack.http.get(f"/api/analyses/{done}/result")
    assert (gone.status_code, gone.json()["code"]) == (410, "ResultNotStored")
