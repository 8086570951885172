"""The HTTP API's contract: the models of its requests and responses (pydantic v2).

Both sides are generated from these: request validation (``api/job_request.py`` validates a job
request with ``JobRequestBody`` and maps its errors to problem codes) and the OpenAPI document's
``components/schemas`` (``api/openapi.py``). Responses are built as these models, so a response
cannot drift from its documented schema. Field names are the wire's (camelCase), so a model reads
like the JSON it describes. The input sources a request may name come from the source registry
(``inputs.sources``): a new kind of source appears here without an edit.

A field that may be left out but is never ``null`` is typed ``X | SkipJsonSchema[None]`` with a
``None`` default (``_optional``): None means "not given", and the schema shows only ``X``.
Responses are serialised with ``exclude_unset``, so a member the handler did not set is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from core.jobs import JobStatus, Mode, PartialFailurePolicy
from core.naming import ANALYZER_ID_MAX_LENGTH, ANALYZER_ID_PATTERN
from inputs.sources import SOURCE_KINDS, request_keys

IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"  # printable ASCII, no spaces

# CU's pattern, less the ids made only of dots (core/naming.py says why).
AnalyzerId = Annotated[str, StringConstraints(max_length=ANALYZER_ID_MAX_LENGTH, pattern=ANALYZER_ID_PATTERN)]
IdempotencyKey = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=IDEMPOTENCY_KEY_PATTERN)
]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Binary = Annotated[str, Field(json_schema_extra={"contentMediaType": "application/octet-stream"})]


def _optional(description: str | None = None) -> Any:
    """A member that may be left out (None: not given) but is never null on the wire."""

    def without_default(schema: dict[str, Any]) -> None:
        schema.pop("default", None)

    return Field(None, description=description, json_schema_extra=without_default)


def _source_kind(value: Any) -> str | None:
    """The tag of a source reference: the one member that names a kind (None: not exactly one)."""
    if not isinstance(value, dict):
        return None
    keys = [key for key in request_keys() if key in value]
    return keys[0] if len(keys) == 1 else None


if TYPE_CHECKING:
    SourceReference = BaseModel
else:
    # One member per user-facing kind of the registry, told apart by the member it has.
    SourceReference = Annotated[
        Union[  # noqa: UP007 (a union built from a tuple needs the subscript form)
            tuple(
                Annotated[kind.request_model, Tag(kind.key)]
                for kind in SOURCE_KINDS
                if kind.request_model is not None
            )
        ],
        Discriminator(_source_kind),
    ]


class _Request(BaseModel):
    # Strict: a request's JSON types are checked, never coerced ("7" is no number, 7 no string).
    model_config = ConfigDict(extra="forbid", strict=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobRequestBody(_Request):
    """A job request: the JSON body, the multipart ``request`` part, or a ``*.job.json`` manifest."""

    analyzerId: AnalyzerId | SkipJsonSchema[None] = _optional("default: the app's DEFAULT_ANALYZER_ID")
    mode: Mode = Field(
        "per-document",
        description="per-document: one analysis per input (the GA API version); agentic: the inputs "
        "and references packaged into one PDF and analysed once by an agentic analyzer (the preview "
        "API version with agentic mode). 'combined' (pro mode) is retired: 400 RetiredMode",
    )
    apiVersion: str | SkipJsonSchema[None] = _optional(
        "optional: the Content Understanding API version the mode speaks, named to be sure of it; "
        "another version is a 400 (a retired one: RetiredApiVersion)"
    )
    inputs: list[SourceReference] = Field(default_factory=list)
    references: list[SourceReference] = Field(
        default_factory=list,
        description="agentic only: reference documents, packaged after the inputs",
    )
    partialFailure: PartialFailurePolicy | SkipJsonSchema[None] = _optional(
        "default: continue for per-document, fail for agentic"
    )
    # null is taken for "no key", as it always was.
    idempotencyKey: IdempotencyKey | None = _optional()

    @field_validator("analyzerId", "apiVersion", "partialFailure", mode="before")
    @classmethod
    def _null_is_not_absent(cls, value: Any) -> Any:
        # Left out, these take a default; given as null, they are a mistake worth reporting.
        if value is None:
            raise PydanticCustomError("string_type", "Input should be a valid string")
        return value


class UploadForm(BaseModel):
    """A job request as ``multipart/form-data`` (documented here, parsed by ``api.multipart``)."""

    files: list[Binary] = Field(default_factory=list)
    references: list[Binary] = Field(default_factory=list, description="agentic only: reference documents")
    request: JobRequestBody | SkipJsonSchema[None] = _optional()


class Accepted(_Response):
    """``202`` to a job request: where to follow the job."""

    id: str
    statusUrl: str
    resultUrl: str


class Progress(_Response):
    """How far a job got; each member appears once the job has reported it."""

    total: int | SkipJsonSchema[None] = _optional()
    ingested: int | SkipJsonSchema[None] = _optional()
    failed: int | SkipJsonSchema[None] = _optional()
    analyzing: int | SkipJsonSchema[None] = _optional()
    done: int | SkipJsonSchema[None] = _optional()
    polls: int | SkipJsonSchema[None] = _optional()
    nextPollAt: DateTime | SkipJsonSchema[None] = _optional()
    pollError: str | SkipJsonSchema[None] = _optional(
        "why the last poll failed, while CU or storage is unavailable"
    )


class StatusDocument(_Response):
    """``GET /api/analyses/{id}``: a job's status, stage, progress, error and summary."""

    id: str
    status: JobStatus
    stage: str
    progress: Progress
    error: dict[str, Any] | None
    summary: dict[str, Any] | None = Field(description="per-input fates, operations, timings")
    createdAt: DateTime | None
    updatedAt: DateTime | None


class Canceled(_Response):
    """``202`` to ``DELETE /api/analyses/{id}``."""

    id: str
    status: Literal["canceled"]


EntryStatus = Literal["succeeded", "failed", "canceled", "timed_out", "skipped"]


class OperationResult(_Response):
    """One entry of a job's result: a CU operation (per-document: one document) and what it returned.

    Also the body of ``GET /api/analyses/{id}/results/{index}``.
    """

    index: int = Field(description="its position in the job's result (per-document: the input's index)")
    inputs: list[str] = Field(
        description="the names of the inputs it analysed (agentic: every packaged document, in order)"
    )
    operationId: str | None = Field(description="null: no analysis was started for it")
    status: EntryStatus
    result: dict[str, Any] | None = Field(description="the CU result as the service returned it")
    error: dict[str, Any] | None = Field(
        description="why it did not succeed: CU's error as returned (its innererror holds the detail), "
        "or the app's account (a deadline)"
    )


class ResultDocument(_Response):
    """``GET /api/analyses/{id}/result``: one page of a job's result entries, each with its full result."""

    id: str
    analyzerId: str
    mode: Mode
    total: int = Field(description="how many entries the whole result has")
    results: list[OperationResult] = Field(description="entries start, start + 1, ... of this page")
    nextLink: str | SkipJsonSchema[None] = _optional(
        "the next page's URL (path and query); absent on the last page"
    )


class FieldRow(BaseModel):
    """One row of ``GET /api/analyses/{id}/fields`` (a JSON Lines line; the CSV has the same columns).

    After these six columns, one per field: ``fields.<Name>``, an object's properties as
    ``fields.<Name>.<Property>``, an array as one column holding the list of its values.
    """

    model_config = ConfigDict(extra="allow")

    index: int
    input: str = Field(description="the entry's input name(s), joined by '; '")
    operationId: str | None
    status: EntryStatus
    errorCode: str | None
    errorMessage: str | None


class AnalyzerRegistration(_Response):
    """``202`` to ``PUT /api/analyzers/{analyzerId}``."""

    analyzerId: str
    apiVersion: str
    statusUrl: str
    ensureInstanceId: str | SkipJsonSchema[None] = _optional(
        "the orchestration that creates the analyzer in CU (or re-creates it when CU lacks it)"
    )


class AnalyzerState(_Response):
    """``GET /api/analyzers/{analyzerId}``: the registered definition and the service's view."""

    analyzerId: str
    registered: bool
    apiVersion: str
    definition: dict[str, Any] | None
    service: dict[str, Any] | None = Field(description="the analyzer as CU reports it, secrets removed")


class Problem(BaseModel):
    """An RFC 9457 problem: the body of every error response (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str | SkipJsonSchema[None] = _optional("a stable, machine-readable error code")
    input: str | SkipJsonSchema[None] = _optional("the input the problem is about")
    jobStatus: JobStatus | SkipJsonSchema[None] = _optional(
        "409 from `GET /analyses/{id}/result`: the job's status, one that has no result"
    )
    idempotencyKey: str | SkipJsonSchema[None] = _optional(
        "409 from `POST /analyses`: the key that was already used for a different request"
    )
    correlationId: str | SkipJsonSchema[None] = _optional(
        "500: the id under which the app logged the unexpected error; quote it when reporting it"
    )


# Every model the OpenAPI document lists under components/schemas (those they refer to come along).
SCHEMA_MODELS: tuple[type[BaseModel], ...] = (
    JobRequestBody,
    UploadForm,
    Accepted,
    StatusDocument,
    Canceled,
    ResultDocument,
    FieldRow,
    AnalyzerRegistration,
    AnalyzerState,
    Problem,
)
