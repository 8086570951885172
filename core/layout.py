"""The storage layout: every container the app uses, by role, and every blob path in them.

One place answers "where does X live?". Containers are named here by their *role*; their actual
names are app settings (``StorageSettings.container(role)`` resolves them). Every path is built
by a pure function of ids and keys that ``core.naming`` has already checked, so the orchestrator
can compute a path (to grant access to an input still being ingested) exactly as the activity
that writes it does. ::

    intake/      documents and *.job.json manifests users drop in (the blob trigger watches it)
    references/  reference documents users may point at; knowledge bases under {analyzer}/{job}/
    staging/     {job}/{unique}-{name}             HTTP uploads waiting for their ingest
    inputs/      {job}/{index}-{name}              every job's ingested inputs
    results/     {job}/{key}.json                  result documents and operation responses
                 {job}/operation-{key}.started.json  the record of a started analysis
                 {job}/batch-{n}.json              a batch's per-input fates and operations
                 {job}/summary.json                the job's per-input fates and operations
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

from core.naming import check_job_id, check_key, check_prefix


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

# A knowledge base's own files beside its reference documents (storage/knowledge_base.py).
SOURCES_FILE = "sources.jsonl"
RESULT_SUFFIX = ".result.json"


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


def operation_record_blob(job_id: str, key: str) -> BlobPath:
    """The record of an analysis started for operation ``key`` (activities/cu_steps.py)."""
    return BlobPath(Role.RESULTS, f"{job_prefix(job_id)}operation-{key}.started.json")


def knowledge_base_prefix(analyzer_id: str, job_id: str) -> str:
    """Each job that builds a knowledge base gets its own folder: ``{analyzer}/{job}/``."""
    return f"{analyzer_id}/{job_id}/"


def reference_file_blob(prefix: str, file_name: str) -> BlobPath:
    """A reference document of the knowledge base under ``prefix``."""
    return BlobPath(Role.REFERENCES, f"{check_prefix(prefix)}{file_name}")


def reference_result_blob(prefix: str, file_name: str) -> BlobPath:
    """The analysis of reference document ``file_name``, beside it."""
    return BlobPath(Role.REFERENCES, f"{check_prefix(prefix)}{file_name}{RESULT_SUFFIX}")


def sources_manifest_blob(prefix: str) -> BlobPath:
    """The list of a knowledge base's documents that Content Understanding reads."""
    return BlobPath(Role.REFERENCES, f"{check_prefix(prefix)}{SOURCES_FILE}")


def analyzer_definition_blob(analyzer_id: str) -> BlobPath:
    """A registered analyzer definition (``PUT /api/analyzers/{id}``)."""
    return BlobPath(Role.ANALYZERS, f"{analyzer_id}.json")
