"""Reference documents of a pro-mode knowledge base, ingested like a job's inputs.

Each one is streamed, checked and hashed as an input is (``inputs.ingest``), but into the
references container under the knowledge base's prefix (``core.layout`` names the files), with
pro-mode's type and size limits.
"""

from __future__ import annotations

from core import layout
from core.contracts.activities import StoredInput
from core.errors import InputError
from core.jobs import InputSource
from core.layout import RESULT_SUFFIX, SOURCES_FILE
from core.naming import check_job_id, check_prefix
from inputs.ingest import ingest_limits, ingest_to
from inputs.sources import display_name, parse_source


async def add_reference_file(job_id: str, prefix: str, index: int, source: InputSource) -> StoredInput:
    """Ingest a reference document into ``references/{prefix}{safe name}`` (pro-mode types only)."""
    check_job_id(job_id)
    check_prefix(prefix)
    source = parse_source(source)
    name = display_name(source)
    if name.endswith(RESULT_SUFFIX) or name == SOURCES_FILE:
        raise InputError(
            f"Reference file {name!r} uses a name reserved for the knowledge base's own files",
            code="InvalidName",
            input_name=name,
        )
    return await ingest_to(
        layout.reference_file_blob(prefix, name),
        job_id=job_id,
        index=index,
        source=source,
        name=name,
        limits=ingest_limits(pro_mode=True),
    )
