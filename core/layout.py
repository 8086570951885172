"""The storage layout: every container the app uses, by role, and every blob path in them.

One place answers "where does X live?". Containers are named here by their *role*; their actual
names are app settings (``StorageSettings.container(role)`` resolves them). Every path is built
by a pure function of ids and keys that ``core.naming`` has already checked, so the orchestrator
can compute a path (to grant access to an input still being ingested) exactly as the activity
that writes it does. ::

    intake/      documents and *.job.json manifests users drop in (the blob trigger watches it)
    references/  reference documents users may point at (an agentic job's references)
    staging/     {job}/{unique}-{name}             HTTP uploads waiting for their ingest
    inputs/      {job}/{index}-{name}              every job's ingested inputs (and references)
                 {job}/package.pdf                 an agentic job's documents, packaged as one file
    results/     {job}/operation-{key}.json        each CU operation's full response
                 {job}/operation-{key}.started.json  the record of a started analysis
                 {job}/result-index.json           the result index's header (one per job)
                 {job}/result-index-{part}.json    its entries, a part of RESULT_INDEX_PART_SIZE each
                 {job}/field-columns.json          the columns of the fields table (made on demand)
                 {job}/batch-{n}.json              a batch's per-input fates and operations
                 {job}/summary.json                the job's per-input fates and operations
                 {job}/cancel-requested.json       the cancel marker (DELETE /api/analyses/{id})
                 _pacing/{resource}.json           the CU pacer's ledger (job ids never start with _)
    grants/      {job}/{kind}-{digest}.json        signed URLs, kept out of history (claim checks)
    analyzers/   {analyzerId}.json                 registered analyzer definitions
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.naming import check_analyzer_id, check_job_id, check_key


class Role(StrEnum):
    """What a container is for (its name comes from settings)."""

    INTAKE = "intake"
    REFERENCES = "references"
    STAGING = "staging"
    INPUTS = "inputs"
    RESULTS = "results"
    GRANTS = "grants"
    ANALYZERS = "analyzers"


# The only containers a user's ``{"blob": ...}`` reference may name: the others hold other jobs'
# data, the grants, or (locally, in the same account) the Functions host's own secrets.
USER_READABLE: tuple[Role, ...] = (Role.INTAKE, Role.REFERENCES)
# Where a job keeps blobs that are of no use once it ended (its inputs and results stay).
JOB_SCRATCH: tuple[Role, ...] = (Role.STAGING, Role.GRANTS)

PACKAGE_FILE = "package.pdf"


@dataclass(frozen=True)
class BlobPath:
    """A blob: the role of its container and its name in it."""

    role: Role
    name: str


def job_prefix(job_id: str) -> str:
    """The folder of job ``job_id`` in every per-job container."""
    return f"{check_job_id(job_id)}/"


def belongs_to_job(job_id: str, name: str) -> bool:
    """Whether blob ``name`` lies inside job ``job_id``'s folder (and is not the folder itself)."""
    prefix = job_prefix(job_id)
    return name.startswith(prefix) and name != prefix


def input_blob(job_id: str, index: int, name: str) -> BlobPath:
    """Input ``index`` of a job, called ``name`` (a sanitised display name)."""
    return BlobPath(Role.INPUTS, f"{job_prefix(job_id)}{index}-{name}")


def package_blob(job_id: str) -> BlobPath:
    """An agentic job's package (its inputs' names all start with an index, so none is this name)."""
    return BlobPath(Role.INPUTS, f"{job_prefix(job_id)}{PACKAGE_FILE}")


def staged_upload_blob(job_id: str, unique: str, name: str) -> BlobPath:
    """An upload waiting in staging; ``unique`` keeps two uploads of the same name apart."""
    return BlobPath(Role.STAGING, f"{job_prefix(job_id)}{unique}-{name}")


def grant_blob(job_id: str, scope: Mapping[str, str]) -> BlobPath:
    """The grant for ``scope`` in job ``job_id``: the same scope always maps to the same blob."""
    digest = hashlib.sha256(json.dumps(dict(scope), sort_keys=True).encode()).hexdigest()[:32]
    return BlobPath(Role.GRANTS, f"{job_prefix(job_id)}{scope['kind']}-{digest}.json")


def is_grant_name(name: object) -> bool:
    """Whether ``name`` has the shape of a grant blob's name (``{job}/{kind}-{digest}.json``)."""
    return isinstance(name, str) and name.endswith(".json") and name.count("/") == 1


def result_blob(job_id: str, key: str) -> BlobPath:
    """The stored result ``key`` of a job."""
    return BlobPath(Role.RESULTS, f"{job_prefix(job_id)}{check_key(key)}.json")


def operation_result_key(key: str) -> str:
    """The result key under which operation ``key``'s full response is kept."""
    return f"operation-{key}"


SUMMARY_KEY = "summary"  # a batched job's summary of every input and operation (the API merges it in)


def batch_record_key(batch: int) -> str:
    """The result key of batch ``batch``'s record: its inputs' fates and operations (``save_batch``)."""
    return f"batch-{int(batch)}"


def pacing_ledger_blob(resource_key: str) -> BlobPath:
    """The CU pacer's ledger for one CU resource (``storage/pacing.py``)."""
    return BlobPath(Role.RESULTS, f"_pacing/{check_key(resource_key)}.json")


def result_index_blob(job_id: str) -> BlobPath:
    """The header of a job's result index: its entry count and part size (``storage/result_document.py``)."""
    return result_blob(job_id, "result-index")


def result_index_part_blob(job_id: str, part: int) -> BlobPath:
    """Part ``part`` (0, 1, ...) of a job's result index: entries ``part * size`` onwards."""
    if not isinstance(part, int) or isinstance(part, bool) or part < 0:
        raise ValueError(f"Result index part {part!r} is not a non-negative integer")
    return result_blob(job_id, f"result-index-{part}")


def field_columns_blob(job_id: str) -> BlobPath:
    """The columns of a job's fields table, found once from every result (``storage/field_table.py``)."""
    return result_blob(job_id, "field-columns")


def operation_record_blob(job_id: str, key: str) -> BlobPath:
    """The record of an analysis started for operation ``key`` (activities/cu_steps.py)."""
    return BlobPath(Role.RESULTS, f"{job_prefix(job_id)}operation-{key}.started.json")


def cancel_marker_blob(job_id: str) -> BlobPath:
    """Written when a job's cancel is requested; activities that would start work check it.

    In the results container, which the job's clean-up leaves alone, so that an activity still
    queued behind the clean-up sees it too."""
    return BlobPath(Role.RESULTS, f"{job_prefix(job_id)}cancel-requested.json")


def analyzer_definition_blob(analyzer_id: str) -> BlobPath:
    """A registered analyzer definition (``PUT /api/analyzers/{id}``)."""
    return BlobPath(Role.ANALYZERS, f"{check_analyzer_id(analyzer_id)}.json")
