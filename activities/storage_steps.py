"""The storage activities' plain typed functions: one typed request in, one typed result out.

The decorated shells in ``activities/storage.py`` reach them through the activity boundary
(``activities/boundary.py``); tests call them directly. The work itself is in ``inputs`` and
``storage``. No result carries a SAS: ``create_sas`` returns a grant's name and expiry only.
"""

from __future__ import annotations

from typing import Any

from activities.boundary import InvalidActivityInput
from core.contracts.activities import (
    AddReferenceFileRequest,
    AddReferenceFileResult,
    CleanupJobRequest,
    CleanupJobResult,
    CreateSasRequest,
    CreateSasResult,
    IngestInputRequest,
    IngestInputResult,
    IssuedGrant,
    KnowledgeBaseInfo,
    OperationRecord,
    SaveResultsRequest,
    SaveResultsResult,
    StoredInput,
    WriteKnowledgeBaseRequest,
    WriteKnowledgeBaseResult,
)
from core.contracts.wire import from_wire
from core.layout import SUMMARY_KEY, job_prefix
from inputs import references
from inputs.ingest import IngestedInput, ingest_input as ingest_one, parse_source
from storage import grants, knowledge_base, results
from storage.result_document import OperationOutcome, write_result_document


async def ingest_input(request: IngestInputRequest) -> IngestInputResult:
    ingested = await ingest_one(
        request.job_id, request.index, parse_source(request.source), pro_mode=request.pro_mode
    )
    return IngestInputResult(input=_stored(ingested))


async def create_sas(request: CreateSasRequest) -> CreateSasResult:
    if request.kind == "container":
        if request.container is None or request.prefix is None:
            raise InvalidActivityInput("a container grant needs 'container' and 'prefix'")
        grant = await grants.create_container_grant(request.job_id, request.container, request.prefix)
    elif request.blob is None:
        raise InvalidActivityInput(f"an {request.kind} grant needs 'blob'")
    elif request.kind == "reference":
        grant = await grants.create_reference_grant(request.job_id, request.blob)
    else:
        grant = await grants.create_input_grant(request.job_id, request.blob)
    return CreateSasResult(grant=IssuedGrant(name=grant["grant"], expires_at=grant["expiresAt"]))


async def save_results(request: SaveResultsRequest) -> SaveResultsResult:
    """The result document; for a batched job also its summary blob (every input and operation)."""
    records = list(request.operations)
    fates: list[dict[str, Any]] = []
    for name in request.batch_records:  # in batch order, so inputs keep their order
        record = await results.read_result(request.job_id, _result_key(request.job_id, name))
        fates += record.get("inputs") or []
        records += [from_wire(OperationRecord, line) for line in record.get("operations") or []]
    operations = [
        OperationOutcome(
            key=operation.key,
            inputs=operation.inputs,
            operationId=operation.operation_id,
            status=operation.status,
        )
        for operation in records
    ]
    blob = await write_result_document(request.job_id, request.analyzer_id, request.mode, operations)
    summary = None
    if request.batch_records:
        document = {
            "inputs": fates,
            "operations": [
                {"key": o["key"], "operationId": o["operationId"], "status": o["status"]} for o in operations
            ],
        }
        summary = await results.save_result(request.job_id, SUMMARY_KEY, document)
    return SaveResultsResult(result_blob=blob, summary_blob=summary)


async def add_reference_file(request: AddReferenceFileRequest) -> AddReferenceFileResult:
    added = await references.add_reference_file(
        request.job_id, request.prefix, request.index, parse_source(request.source)
    )
    return AddReferenceFileResult(file=_stored(added))


async def write_knowledge_base(request: WriteKnowledgeBaseRequest) -> WriteKnowledgeBaseResult:
    await knowledge_base.write_sources_manifest(request.prefix)
    checked = await knowledge_base.validate_knowledge_base(request.prefix)
    return WriteKnowledgeBaseResult(knowledge_base=from_wire(KnowledgeBaseInfo, checked.to_dict()))


async def cleanup_job(request: CleanupJobRequest) -> CleanupJobResult:
    return CleanupJobResult(deleted=await results.cleanup_job(request.job_id))


def _result_key(job_id: str, blob_name: str) -> str:
    """The result key of one of the job's result blobs (``{job}/{key}.json``)."""
    prefix = job_prefix(job_id)
    if not blob_name.startswith(prefix) or not blob_name.endswith(".json"):
        raise InvalidActivityInput(f"{blob_name!r} is not a result of job {job_id!r}")
    return blob_name.removeprefix(prefix).removesuffix(".json")


def _stored(ingested: IngestedInput) -> StoredInput:
    return from_wire(StoredInput, ingested.to_dict())
