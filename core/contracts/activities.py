"""The request and result of every activity, and the contract that names each activity.

Orchestrators build requests and read results through these types; activities parse requests
into them at their boundary (``activities/boundary.py``). On the wire each is a plain JSON object
(``core.contracts.wire``); a result travels inside the envelope ``{"ok": true, ...}``.
No field ever holds a SAS: grants are names of claim-check blobs (``storage.grants``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core import function_names as names
from core.contracts.named import ActivityContract
from core.contracts.wire import NonEmptyStr
from core.errors import ErrorInfo
from core.jobs import InputSource, Mode

OperationKind = Literal["analysis", "analyzer"]
PartRole = Literal["input", "reference"]


# ---- shared pieces --------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredInput:
    """A document as stored for analysis (an input, or an agentic job's reference document)."""

    index: int
    name: str
    blob: str
    size: int
    content_type: str
    etag: str
    sha256: str


@dataclass(frozen=True)
class IssuedGrant:
    """A SAS grant's claim-check blob name (resolved only by the activity that uses it) and expiry."""

    name: str = field(metadata={"wire": "grant"})
    expires_at: str


# ---- storage activities (activities/storage.py) -----------------------------------------------


@dataclass(frozen=True)
class IngestInputRequest:
    job_id: NonEmptyStr
    index: int
    source: InputSource
    # True for an agentic job's documents: they go into its package (the packager's types, and the
    # agentic mode's limits of ``api_version``), not to Content Understanding one by one.
    packaged: bool = False
    api_version: str | None = None  # packaged: the agentic job's version


@dataclass(frozen=True)
class IngestInputResult:
    input: StoredInput


@dataclass(frozen=True)
class CreateSasRequest:
    """Read access to ``blob`` in the inputs container (an input, or an agentic job's package)."""

    job_id: NonEmptyStr
    blob: NonEmptyStr


@dataclass(frozen=True)
class CreateSasResult:
    grant: IssuedGrant


@dataclass(frozen=True)
class OperationRecord:
    """How one CU operation of the job ended, as the result document lists it."""

    key: NonEmptyStr
    inputs: list[str]  # the names of the inputs it analysed
    operation_id: str | None  # None: it never started
    status: str  # Succeeded | Failed | Canceled | TimedOut | Skipped (never analysed)
    result_blob: str | None = None
    error: ErrorInfo | None = None  # why it did not succeed (with CU's inner error, if it gave one)


@dataclass(frozen=True)
class SaveResultsRequest:
    job_id: NonEmptyStr
    analyzer_id: NonEmptyStr
    mode: Mode
    operations: list[OperationRecord]


@dataclass(frozen=True)
class SaveResultsResult:
    result_blob: str


@dataclass(frozen=True)
class PackagePart:
    """One stored document going into an agentic job's package, in the package's order."""

    name: NonEmptyStr
    role: PartRole
    blob: NonEmptyStr  # in the inputs container
    content_type: NonEmptyStr


@dataclass(frozen=True)
class PackageInputsRequest:
    job_id: NonEmptyStr
    api_version: NonEmptyStr  # whose agentic mode's limits the package must meet
    parts: list[PackagePart]


@dataclass(frozen=True)
class PackagedPart:
    """Where one document landed in the package: its pages ``first_page`` .. ``first_page + pages - 1``."""

    name: str
    role: PartRole
    first_page: int
    pages: int


@dataclass(frozen=True)
class PackagedDocument:
    """The one PDF an agentic job analyses: a contents page, then every part in order."""

    name: str
    blob: str
    size: int
    pages: int
    sha256: str
    parts: list[PackagedPart]


@dataclass(frozen=True)
class PackageInputsResult:
    package: PackagedDocument


@dataclass(frozen=True)
class CleanupJobRequest:
    job_id: NonEmptyStr


@dataclass(frozen=True)
class CleanupJobResult:
    deleted: int


# ---- Content Understanding activities (activities/analysis.py, activities/cu_steps.py) ---------


@dataclass(frozen=True)
class GetAnalyzerStateRequest:
    analyzer_id: NonEmptyStr
    api_version: NonEmptyStr


@dataclass(frozen=True)
class AnalyzerState:
    exists: bool
    status: str | None  # CU's status ("creating", "ready", ...); None when it does not exist
    definition_hash: str | None  # the fingerprint tag it was created with


@dataclass(frozen=True)
class BeginCreateAnalyzerRequest:
    analyzer_id: NonEmptyStr
    api_version: NonEmptyStr
    definition: dict[str, Any]
    definition_hash: NonEmptyStr
    replace: bool


@dataclass(frozen=True)
class BeginCreateAnalyzerResult:
    """The creation's ``operation_location``, or ``conflict``: someone else is creating it."""

    operation_location: str | None = None
    conflict: bool = False


@dataclass(frozen=True)
class AnalysisInput:
    grant: NonEmptyStr
    name: NonEmptyStr


@dataclass(frozen=True)
class BeginAnalysisRequest:
    job_id: NonEmptyStr
    key: NonEmptyStr
    analyzer_id: NonEmptyStr
    api_version: NonEmptyStr
    inputs: list[AnalysisInput]
    model_deployments: dict[str, str]


@dataclass(frozen=True)
class BeginAnalysisResult:
    """The started operation; ``attempts`` > 1 when it had to be submitted again (see cu_steps)."""

    operation_location: str
    operation_id: str
    attempts: int = 1


@dataclass(frozen=True)
class GetOperationRequest:
    job_id: NonEmptyStr
    key: NonEmptyStr
    kind: OperationKind
    operation_location: NonEmptyStr


@dataclass(frozen=True)
class OperationState:
    """One poll: CU's status, its Retry-After, its error, and where a finished result was saved."""

    status: str
    retry_after_seconds: float | None
    error: ErrorInfo | None = None
    result_blob: str | None = None


INGEST_INPUT = ActivityContract(
    names.INGEST_INPUT, IngestInputRequest, IngestInputResult, echoed_on_failure=("index",)
)
CREATE_SAS = ActivityContract(names.CREATE_SAS, CreateSasRequest, CreateSasResult)
SAVE_RESULTS = ActivityContract(names.SAVE_RESULTS, SaveResultsRequest, SaveResultsResult)
PACKAGE_INPUTS = ActivityContract(names.PACKAGE_INPUTS, PackageInputsRequest, PackageInputsResult)
CLEANUP_JOB = ActivityContract(names.CLEANUP_JOB, CleanupJobRequest, CleanupJobResult)
GET_ANALYZER_STATE = ActivityContract(names.GET_ANALYZER_STATE, GetAnalyzerStateRequest, AnalyzerState)
BEGIN_CREATE_ANALYZER = ActivityContract(
    names.BEGIN_CREATE_ANALYZER, BeginCreateAnalyzerRequest, BeginCreateAnalyzerResult
)
BEGIN_ANALYSIS = ActivityContract(names.BEGIN_ANALYSIS, BeginAnalysisRequest, BeginAnalysisResult)
GET_OPERATION = ActivityContract(names.GET_OPERATION, GetOperationRequest, OperationState)
