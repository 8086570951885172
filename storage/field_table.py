"""The columns of a job's fields table, found once and kept beside its results.

A CSV needs its header before its first row, and every page of the table must have the same
columns; but which fields exist (an object's properties, a field CU returned for some documents
only) is only known from the results themselves. So the first request for the table reads every
stored result once, a few at a time (``storage.result_document.read_results``: memory is one
result at a time, whatever the job's size), collects the columns in the order they first appear,
and saves them as ``core.layout.field_columns_blob``; every later page reads only that list. The
results of a job that has ended never change, so neither do its columns. Two first requests at
once both compute the same list and write the same blob.
"""

from __future__ import annotations

import contextlib
import logging

from core import layout
from core.result_table import META_COLUMNS, TABLE_FORMAT, field_cells, merge_columns
from storage.result_document import ResultHeader, read_results
from storage.results import ResultNotFound, read_blob_json, write_blob_json

logger = logging.getLogger(__name__)


async def table_columns(header: ResultHeader) -> list[str]:
    """The columns of the job's fields table: the saved list, else computed from every result and saved."""
    saved = await _saved_columns(header.job_id)
    if saved is not None:
        return saved
    columns = list(META_COLUMNS)
    seen = set(columns)
    async with contextlib.aclosing(read_results(header, 0, header.total)) as results:
        async for _, result in results:
            merge_columns(columns, seen, field_cells(result))
    await write_blob_json(
        layout.field_columns_blob(header.job_id), {"format": TABLE_FORMAT, "columns": columns}
    )
    logger.info("Job %s: fields table of %d columns, %d rows", header.job_id, len(columns), header.total)
    return columns


async def _saved_columns(job_id: str) -> list[str] | None:
    try:
        saved = await read_blob_json(layout.field_columns_blob(job_id))
    except ResultNotFound:
        return None
    if not isinstance(saved, dict) or saved.get("format") != TABLE_FORMAT:
        return None  # made by an older rule: made again
    columns = saved.get("columns")
    if not isinstance(columns, list) or not all(isinstance(column, str) for column in columns):
        return None
    return columns
