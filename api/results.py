"""The result routes: a completed job's result a page at a time, one entry on its own, and its
extracted fields as a table (CSV or JSON Lines), also a page at a time.

A job's result is a list of entries (``storage.result_document``), one per CU operation, which in
per-document mode is one per input, in input order. Every route here reads only the entries of the
page it answers, and their stored results one after another, so a page costs the same memory in a
job of ten documents as in one of thousands. The Python worker needs a response's whole body, so
each page is also bounded in bytes (``PAGE_BYTES``): a page ends after the entry that reaches it,
and holds at least one entry.

Pages are addressed by ``start``, the index of their first entry, a plain offset rather than an
opaque token: a completed job's entries never change, so an offset always means the same entry,
and every offset names entries the caller may read anyway, so there is nothing for a signature to
protect. It is validated (an integer from 0 to the entry count). ``nextLink`` (and a ``Link``
header, ``rel="next"``) carries the next page's ``start``; a caller may also jump to any offset or
fetch pages in parallel.

Only a job that completed as ``succeeded`` or ``partially_succeeded`` has a result; any other job
answers 409 with its ``jobStatus``; an unknown id 404; a result that is not stored (it could not
be written, or retention deleted it) 410.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import azure.functions as func

from api.models import OperationResult, ResultDocument
from api.problems import dependency_unavailable, input_error_response, json_response, problem_response
from core.errors import InputError, TransientError
from core.jobs import job_status
from core.naming import is_job_instance_id
from core.redact import shorten
from core.result_table import ResultEntry, csv_lines, jsonl_line, table_row
from storage.field_table import table_columns
from storage.result_document import ResultHeader, read_entries, read_entry_result, read_header, read_results
from storage.results import ResultNotFound

PAGE_BYTES = 8 * 1024 * 1024  # a page ends after the entry that takes its body to this size
FUNCTION_KEY_PARAMETER = "code"  # the function key may come as ?code= (Functions' own, not ours)
TABLE_FORMATS = {"csv": "text/csv", "jsonl": "application/jsonl"}
_NUMBER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class PageSize:
    """How many entries a page holds unless asked otherwise, and at most."""

    default: int
    maximum: int


RESULT_PAGE = PageSize(default=20, maximum=100)  # entries with their full CU results
TABLE_PAGE = PageSize(default=200, maximum=1000)  # rows: one small line per entry


async def result_page(job_id: str, params: Mapping[str, str], client: Any) -> func.HttpResponse:
    """``GET /api/analyses/{id}/result?start=&pageSize=``: one page of entries with their results."""
    try:
        _only(params, {"start", "pageSize"})
        start, page_size = _number(params, "start", 0), _page_size(params, RESULT_PAGE)
    except InputError as error:
        return input_error_response(error)
    header = await _completed_result(job_id, client)
    if isinstance(header, func.HttpResponse):
        return header
    if start > header.total:
        return _bad_start(start, header)
    body = bytearray()
    count = 0
    try:
        async with contextlib.aclosing(read_results(header, start, start + page_size)) as results:
            async for entry, result in results:
                body += b"," if count else b""
                body += _entry_model(entry, result).model_dump_json().encode()
                count += 1
                if len(body) >= PAGE_BYTES:
                    break
    except ResultNotFound:
        return _not_stored(job_id)
    except TransientError as error:
        return dependency_unavailable(error)
    next_link = _next_link(job_id, "result", {}, start + count, page_size, header)
    more = {"nextLink": next_link} if next_link is not None else {}
    envelope = ResultDocument.model_validate(
        {"id": job_id, "analyzerId": header.analyzer_id, "mode": header.mode, "total": header.total}
        | {"results": [], **more}
    )
    return func.HttpResponse(
        _with_array(envelope, "results", body),
        status_code=200,
        mimetype="application/json",
        charset="utf-8",
        headers=_link_header(next_link),
    )


async def result_entry(job_id: str, index_text: str, client: Any) -> func.HttpResponse:
    """``GET /api/analyses/{id}/results/{index}``: one entry and its full result."""
    if not _NUMBER.fullmatch(index_text):
        return problem_response(
            400, f"Result index {index_text[:20]!r} is not a non-negative integer", code="InvalidIndex"
        )
    index = int(index_text)
    header = await _completed_result(job_id, client)
    if isinstance(header, func.HttpResponse):
        return header
    if index >= header.total:
        return problem_response(
            404, f"Analysis {job_id} has {header.total} result entries: none with index {index}"
        )
    try:
        async with contextlib.aclosing(read_entries(header, index, index + 1)) as entries:
            entry = await anext(entries)
        result = await read_entry_result(job_id, entry)
    except ResultNotFound:
        return _not_stored(job_id)
    except TransientError as error:
        return dependency_unavailable(error)
    return json_response(_entry_model(entry, result))


async def fields_table(job_id: str, params: Mapping[str, str], client: Any) -> func.HttpResponse:
    """``GET /api/analyses/{id}/fields?format=csv|jsonl&start=&pageSize=``: a page of the fields table.

    The CSV's first page starts with the header row and later pages hold rows only, so the pages
    joined in order are one CSV file; every JSON Lines line names its columns.
    """
    try:
        _only(params, {"format", "start", "pageSize"})
        start, page_size = _number(params, "start", 0), _page_size(params, TABLE_PAGE)
        table_format = params.get("format", "csv")
        if table_format not in TABLE_FORMATS:
            raise InputError(f"format must be one of {', '.join(TABLE_FORMATS)}", code="InvalidFormat")
    except InputError as error:
        return input_error_response(error)
    header = await _completed_result(job_id, client)
    if isinstance(header, func.HttpResponse):
        return header
    if start > header.total:
        return _bad_start(start, header)
    body = bytearray()
    count = 0
    try:
        columns = await table_columns(header)
        if table_format == "csv" and start == 0:
            body += csv_lines(columns, [], header=True).encode()
        async with contextlib.aclosing(read_results(header, start, start + page_size)) as results:
            async for entry, result in results:
                row = table_row(entry, result)
                if table_format == "csv":
                    body += csv_lines(columns, [row], header=False).encode()
                else:
                    body += jsonl_line(columns, row).encode()
                count += 1
                if len(body) >= PAGE_BYTES:
                    break
    except ResultNotFound:
        return _not_stored(job_id)
    except TransientError as error:
        return dependency_unavailable(error)
    next_link = _next_link(job_id, "fields", {"format": table_format}, start + count, page_size, header)
    return func.HttpResponse(
        bytes(body),
        status_code=200,
        mimetype=TABLE_FORMATS[table_format],
        charset="utf-8",
        headers=_link_header(next_link),
    )


async def _completed_result(job_id: str, client: Any) -> ResultHeader | func.HttpResponse:
    """The job's result index, or the problem that answers instead (404, 409, 410, 503)."""
    # Only job instances are served (api/analyses._job says why); other ids are unknown unasked.
    status = await client.get_status(job_id) if is_job_instance_id(job_id) else None
    if not status:
        return problem_response(404, f"No analysis with id {shorten(repr(job_id), 120)}")
    runtime = status.runtime_status.name if status.runtime_status is not None else None
    output = status.output if isinstance(status.output, dict) else None
    public = job_status(runtime, output)
    if public not in ("succeeded", "partially_succeeded"):
        return problem_response(
            409, f"The analysis is {public}: its result is not available", jobStatus=public
        )
    if output is None or not output.get("resultBlob"):
        return _not_stored(job_id)
    try:
        return await read_header(job_id)
    except ResultNotFound:
        return _not_stored(job_id)
    except TransientError as error:
        return dependency_unavailable(error)


def _entry_model(entry: ResultEntry, result: dict[str, Any] | None) -> OperationResult:
    return OperationResult(
        index=entry["index"],
        inputs=entry["inputs"],
        operationId=entry["operationId"],
        status=entry["status"],  # type: ignore[arg-type]  # the index stores public statuses
        error=entry.get("error"),
        result=result,
    )


def _with_array(envelope: ResultDocument, member: str, items: bytearray) -> bytes:
    """The JSON of ``envelope``, whose ``member`` is an empty list, with ``items`` (joined) in it.

    The page's entries were serialised one by one, each through its model, so that only one parsed
    result is alive at a time. In compact JSON, ``"results":[]`` can only be that member: a quote
    inside a string value would be escaped.
    """
    empty = envelope.model_dump_json(exclude_unset=True).encode()
    marker = f'"{member}":[]'.encode()
    head, found, tail = empty.partition(marker)
    if not found:
        raise ValueError(f"{member!r} is not an empty list in {type(envelope).__name__}")
    return b"".join((head, marker[:-1], items, b"]", tail))


def _only(params: Mapping[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed - {FUNCTION_KEY_PARAMETER})
    if unknown:
        raise InputError(
            f"Unknown query parameter {unknown[0][:40]!r}; allowed: {', '.join(sorted(allowed))}",
            code="UnknownParameter",
        )


def _number(params: Mapping[str, str], name: str, default: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not _NUMBER.fullmatch(text):
        raise InputError(f"{name} must be a non-negative integer", code=f"Invalid{name[0].upper()}{name[1:]}")
    return int(text)


def _page_size(params: Mapping[str, str], size: PageSize) -> int:
    page_size = _number(params, "pageSize", size.default)
    if not 1 <= page_size <= size.maximum:
        raise InputError(f"pageSize must be from 1 to {size.maximum}", code="InvalidPageSize")
    return page_size


def _bad_start(start: int, header: ResultHeader) -> func.HttpResponse:
    return problem_response(
        400, f"start {start} is past the result's {header.total} entries", code="InvalidStart"
    )


def _not_stored(job_id: str) -> func.HttpResponse:
    return problem_response(
        410,
        f"The result of analysis {job_id} is not stored: it could not be written, or it was deleted since",
        code="ResultNotStored",
    )


def _next_link(
    job_id: str, route: str, query: dict[str, str], next_start: int, page_size: int, header: ResultHeader
) -> str | None:
    if next_start >= header.total:
        return None
    parameters = urlencode({**query, "start": next_start, "pageSize": page_size})
    return f"/api/analyses/{quote(job_id, safe='')}/{route}?{parameters}"


def _link_header(next_link: str | None) -> dict[str, str]:
    # RFC 8288 web linking: the next page's address, for bodies that cannot carry it (CSV).
    return {"Link": f'<{next_link}>; rel="next"'} if next_link is not None else {}
