"""The storage activities' plain typed functions: one typed request in, one typed result out.

The decorated shells in ``activities/storage.py`` reach them through the activity boundary
(``activities/boundary.py``); tests call them directly. The work itself is in ``inputs`` and
``storage``. No result carries a SAS: ``create_sas`` returns a grant's name and expiry only.
"""

from __future__ import annotations

from activities.boundary import InvalidActivityInput
from core.contracts.activities import (
    CleanupJobRequest,
    CleanupJobResult,
    CreateSasRequest,
    CreateSasResult,
    IngestInputRequest,
    IngestInputResult,
    IssuedGrant,
    PackagedDocument,
    PackagedPart,
    PackageInputsRequest,
    PackageInputsResult,
    SaveResultsRequest,
    SaveResultsResult,
)
from inputs import package
from inputs.ingest import ingest_input as ingest_one, parse_source
from storage import grants, results
from storage.result_document import OperationOutcome, write_result_document


async def ingest_input(request: IngestInputRequest) -> IngestInputResult:
    if request.packaged and request.api_version is None:
        raise InvalidActivityInput("a packaged input needs 'apiVersion'")
    ingested = await ingest_one(
        request.job_id,
        request.index,
        parse_source(request.source),
        packaged_for=request.api_version if request.packaged else None,
    )
    return IngestInputResult(input=ingested)


async def create_sas(request: CreateSasRequest) -> CreateSasResult:
    grant = await grants.create_input_grant(request.job_id, request.blob)
    return CreateSasResult(grant=IssuedGrant(name=grant["grant"], expires_at=grant["expiresAt"]))


async def save_results(request: SaveResultsRequest) -> SaveResultsResult:
    operations = [
        OperationOutcome(
            key=operation.key,
            inputs=operation.inputs,
            operationId=operation.operation_id,
            status=operation.status,
            error=operation.error,
        )
        for operation in request.operations
    ]
    blob = await write_result_document(request.job_id, request.analyzer_id, request.mode, operations)
    return SaveResultsResult(result_blob=blob)


async def package_inputs(request: PackageInputsRequest) -> PackageInputsResult:
    """An agentic job's documents as one PDF in storage: its blob, size, pages and where each part is."""
    parts = [
        package.StoredPart(name=part.name, role=part.role, blob=part.blob, content_type=part.content_type)
        for part in request.parts
    ]
    written = await package.package_inputs(request.job_id, request.api_version, parts)
    return PackageInputsResult(
        package=PackagedDocument(
            name=written.name,
            blob=written.blob,
            size=written.size,
            pages=written.package.pages,
            sha256=written.sha256,
            parts=[
                PackagedPart(
                    name=placed.name, role=placed.role, first_page=placed.first_page, pages=placed.pages
                )
                for placed in written.package.parts
            ],
        )
    )


async def cleanup_job(request: CleanupJobRequest) -> CleanupJobResult:
    return CleanupJobResult(deleted=await results.cleanup_job(request.job_id))
