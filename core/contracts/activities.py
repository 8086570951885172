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
    """The job's operations, given here or in its batches' records (``save_batch``). With ``inputs``
    (the per-input fates of a job's one batch run inline) or records, the fates and the operations are
    gathered into the job's summary blob too, in input order.

    ``index``: False for a job that has no result (a canceled one): only its summary is written."""

    job_id: NonEmptyStr
    analyzer_id: NonEmptyStr
    mode: Mode
    operations: list[OperationRecord]
    batch_records: list[str] = field(default_factory=list)
    index: bool = True
    inputs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SaveResultsResult:
    result_blob: str | None  # the result index's header (None: not written, ``index`` False)
    summary_blob: str | None = None  # the per-input fates and operations of a batched job


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
    pages: int | None = None  # a finished analysis's page count (what CU's pages quota counts)


# ---- the per-document job's batch activities (activities/batch.py) -----------------------------


@dataclass(frozen=True)
class StartedAnalysis:
    key: str
    operation_location: str
    operation_id: str
    attempts: int = 1
    retry_after_seconds: float | None = None


@dataclass(frozen=True)
class AnalysisTarget:
    """The analyzer a document goes to, and how (``prepare_inputs`` starts its analysis too)."""

    analyzer_id: NonEmptyStr
    api_version: NonEmptyStr
    model_deployments: dict[str, str]


@dataclass(frozen=True)
class PrepareItem:
    """One input of a ``prepare_inputs`` call: its index in the job and where it comes from."""

    index: int
    source: InputSource


@dataclass(frozen=True)
class PrepareInputsRequest:
    """Ingest several inputs of one batch and grant CU read access to each; with ``analyze``, start
    each one's analysis right after its own ingest and grant (it waits for nothing else)."""

    job_id: NonEmptyStr
    items: list[PrepareItem]
    analyze: AnalysisTarget | None = None


@dataclass(frozen=True)
class PreparedInput:
    """One item of ``prepare_inputs``: the stored input and its grant, or why not (``error``; a
    ``transient`` one is worth another try). With ``analyze``: the started analysis, or why it did not
    start (``begin_error``, for good), or until when it was put off (``retry_at``: the CU pacer, or a
    begin that failed for now)."""

    index: int
    input: StoredInput | None = None
    grant: IssuedGrant | None = None
    error: ErrorInfo | None = None
    started: StartedAnalysis | None = None
    begin_error: ErrorInfo | None = None
    retry_at: str | None = None


@dataclass(frozen=True)
class PrepareInputsResult:
    items: list[PreparedInput]


@dataclass(frozen=True)
class AnalysisItem:
    """One document of a batch to analyse: its operation key, its grant and its name."""

    key: NonEmptyStr
    grant: NonEmptyStr
    name: NonEmptyStr


@dataclass(frozen=True)
class BeginAnalysesRequest:
    """Start the analyses of several documents of one batch (each once: ``begin_analysis``)."""

    job_id: NonEmptyStr
    analyzer_id: NonEmptyStr
    api_version: NonEmptyStr
    items: list[AnalysisItem]
    model_deployments: dict[str, str]
    # Pages the pacer charged too few for (estimates corrected by finished analyses).
    extra_pages: int = 0


@dataclass(frozen=True)
class ItemFailure:
    key: str
    error: ErrorInfo


@dataclass(frozen=True)
class BeginAnalysesResult:
    """Per item: started, failed for good, or deferred by the pacer until ``retry_at``."""

    started: list[StartedAnalysis]
    failed: list[ItemFailure]
    deferred: list[str]
    retry_at: str | None = None


@dataclass(frozen=True)
class PollItem:
    key: NonEmptyStr
    operation_location: NonEmptyStr


@dataclass(frozen=True)
class PollOperationsRequest:
    """One poll of every due operation of a batch."""

    job_id: NonEmptyStr
    items: list[PollItem]
    extra_pages: int = 0


@dataclass(frozen=True)
class PolledOperation:
    """One operation's poll: as ``OperationState``, plus the pages a finished analysis counted;
    ``poll_error`` when it could not be polled (CU or storage unavailable: poll again later)."""

    key: str
    status: str
    retry_after_seconds: float | None = None
    error: ErrorInfo | None = None
    result_blob: str | None = None
    pages: int | None = None
    poll_error: str | None = None


@dataclass(frozen=True)
class PollOperationsResult:
    polled: list[PolledOperation]
    deferred: list[str]
    retry_at: str | None = None


@dataclass(frozen=True)
class SaveBatchRequest:
    """A batch's per-input fates and operation records, kept as a blob (not in the job's history)."""

    job_id: NonEmptyStr
    batch: int
    inputs: list[dict[str, Any]]  # InputFate lines
    operations: list[OperationRecord]


@dataclass(frozen=True)
class SaveBatchResult:
    record_blob: str


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
PREPARE_INPUTS = ActivityContract(names.PREPARE_INPUTS, PrepareInputsRequest, PrepareInputsResult)
BEGIN_ANALYSES = ActivityContract(names.BEGIN_ANALYSES, BeginAnalysesRequest, BeginAnalysesResult)
POLL_OPERATIONS = ActivityContract(names.POLL_OPERATIONS, PollOperationsRequest, PollOperationsResult)
SAVE_BATCH = ActivityContract(names.SAVE_BATCH, SaveBatchRequest, SaveBatchResult)
