"""Validate a ``POST /api/analyses`` request before anything is written or started.

Two shapes arrive: ``application/json`` (inputs given as references to sources, such as blobs
and URLs) and ``multipart/form-data`` (file parts named ``files``, reference files named
``references``, and an optional ``request`` part holding the same JSON). The JSON is validated by
the contract's ``JobRequestBody`` (``api/models.py``); ``request_error`` is the one place that maps
its errors to problem codes. Every problem raises ``InputError`` with a code that the HTTP layer
maps to a status (see ``api/problems.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from api.json_input import parse_json
from api.models import JobRequestBody
from api.multipart import parse_multipart
from core.api_versions import AGENTIC_MODE, UnknownApiVersionError, get_profile
from core.content_types import SNIFF_BYTES, check_supported, package_part_limit, sniff_content_type, too_large
from core.errors import InputError
from core.jobs import (
    DEFAULT_PARTIAL_FAILURE,
    MODES,
    PARTIAL_FAILURE_POLICIES,
    RETIRED_MODES,
    InputSource,
    Mode,
    PartialFailurePolicy,
)
from core.naming import ANALYZER_ID_RULE, sanitize_name
from core.settings import Settings
from inputs import packaging, sources
from inputs.package import package_limits

MAX_JSON_BYTES = 256 * 1024


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request, checked and ready to be staged."""

    role: Literal["input", "reference"]
    name: str
    content_type: str
    data: memoryview = field(repr=False)


@dataclass(frozen=True)
class JobRequest:
    analyzer_id: str
    mode: Mode
    api_version: str  # the CU API version the job speaks (the mode's configured one)
    partial_failure: PartialFailurePolicy
    uploads: list[Upload]  # come first, in the order sent
    inputs: list[InputSource]  # blob and URL references, after the uploads
    references: list[InputSource]
    idempotency_key: str | None

    @property
    def input_count(self) -> int:
        return sum(1 for upload in self.uploads if upload.role == "input") + len(self.inputs)


def parse_job_request(body: bytes, content_type: str, settings: Settings) -> JobRequest:
    """Parse and validate the whole request."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        fields = parse_json_object(body, "The request body")
        uploads: list[tuple[str, str, memoryview]] = []
    elif media_type == "multipart/form-data":
        fields, uploads = _multipart_fields(body, content_type, settings)
    else:
        raise InputError(
            f"Unsupported Content-Type {media_type or '(none)'!r}: "
            "send application/json or multipart/form-data",
            code="UnsupportedMediaType",
        )
    return validate_fields(fields, settings, uploads)


def _multipart_fields(
    body: bytes, content_type: str, settings: Settings
) -> tuple[dict[str, Any], list[tuple[str, str, memoryview]]]:
    max_parts = 2 * settings.limits.max_files_per_job + 1
    fields: dict[str, Any] | None = None
    uploads: list[tuple[str, str, memoryview]] = []
    for part in parse_multipart(body, content_type, max_parts=max_parts):
        if part.name == "request":
            if fields is not None:
                raise InputError("Only one 'request' part is allowed", code="BadMultipart")
            fields = parse_json_object(bytes(part.data), "The 'request' part")
        elif part.name in ("files", "references"):
            if not part.filename:
                raise InputError(f"A '{part.name}' part has no filename", code="MissingFileName")
            uploads.append((part.name, part.filename, part.data))
        else:
            raise InputError(
                f"Unknown multipart part {part.name!r}: use 'files', 'references' and 'request'",
                code="UnknownPart",
            )
    return fields or {}, uploads


def mode_api_version(mode: Mode, settings: Settings) -> str:
    """The CU API version a job of ``mode`` speaks: agentic mode's, or the configured (GA) one."""
    cu = settings.content_understanding
    return cu.agentic_api_version if mode == "agentic" else cu.api_version


def validate_fields(
    fields: dict[str, Any], settings: Settings, raw_uploads: list[tuple[str, str, memoryview]] | None = None
) -> JobRequest:
    """Validate the JSON fields of a request (or of a ``*.job.json`` manifest) and its file parts.

    The fields' shape is ``JobRequestBody``'s (the contract the OpenAPI document shows); what it
    cannot say (defaults from settings, each source's own checks, limits) is checked here. Problems
    are reported in a fixed order: the request's own fields, then its files, then its sources.
    """
    retired = RETIRED_MODES.get(fields["mode"]) if isinstance(fields.get("mode"), str) else None
    if retired is not None:
        raise InputError(retired, code="RetiredMode")
    errors: list[ErrorDetails] = []
    body: JobRequestBody | None = None
    try:
        body = JobRequestBody.model_validate(fields)
    except ValidationError as error:
        errors = error.errors(include_url=False)
    if errors:
        head = [e for e in errors if e["loc"][0] not in SOURCE_FIELDS]
        if head:
            raise request_error(head, fields)
    typed_mode: Mode = fields.get("mode", "per-document")
    api_version = mode_api_version(typed_mode, settings)
    _check_api_version(fields.get("apiVersion"), typed_mode, api_version)
    agentic = typed_mode == "agentic"
    uploads = [
        _upload(role, name, data, settings, api_version, agentic) for role, name, data in raw_uploads or []
    ]
    if body is None:
        raise request_error(errors, fields)
    inputs = [sources.source_from_request(item.model_dump(), settings) for item in body.inputs]
    references = [sources.source_from_request(item.model_dump(), settings) for item in body.references]
    reference_uploads = sum(1 for upload in uploads if upload.role == "reference")
    if (references or reference_uploads) and not agentic:
        raise InputError(
            "references are only used by mode 'agentic' (packaged with the inputs into one file)",
            code="ReferencesNeedAgentic",
        )

    request = JobRequest(
        analyzer_id=body.analyzerId or settings.content_understanding.default_analyzer_id,
        mode=body.mode,
        api_version=api_version,
        partial_failure=body.partialFailure or DEFAULT_PARTIAL_FAILURE[body.mode],
        uploads=[u for u in uploads if u.role == "input"] + [u for u in uploads if u.role == "reference"],
        inputs=inputs,
        references=references,
        idempotency_key=body.idempotencyKey,
    )
    limits = settings.limits
    if request.input_count == 0:
        raise InputError("No inputs: send file parts named 'files' or an 'inputs' list", code="NoInputs")
    if request.input_count > limits.max_files_per_job:
        raise InputError(
            f"Too many inputs: {request.input_count} (at most {limits.max_files_per_job}, MAX_FILES_PER_JOB)",
            code="TooManyInputs",
        )
    if len(references) + reference_uploads > limits.max_files_per_job:
        raise InputError(f"Too many references (at most {limits.max_files_per_job})", code="TooManyInputs")
    total = sum(len(upload.data) for upload in uploads)
    if total > limits.max_job_bytes:
        raise InputError(
            f"The uploaded files total {total} bytes, "
            f"over the job limit of {limits.max_job_bytes} (MAX_JOB_BYTES)",
            code="JobTooLarge",
        )
    if agentic:
        _check_package(request, api_version)
    return request


def _check_api_version(requested: Any, mode: Mode, api_version: str) -> None:
    """An ``apiVersion`` the request names must be the one its mode speaks (and not a retired one)."""
    if requested is None:
        return
    if not isinstance(requested, str):
        raise InputError("apiVersion must be a string", code="InvalidField")
    try:
        get_profile(requested)
    except UnknownApiVersionError as error:
        raise InputError(str(error), code=error.code) from None
    if requested != api_version:
        raise InputError(
            f"A {mode} job speaks Content Understanding API version {api_version} (the app's setting), "
            f"not {requested}; leave apiVersion out, or name {api_version}",
            code="ApiVersionMismatch",
        )


def _check_package(request: JobRequest, api_version: str) -> None:
    """An agentic job's package must fit one file of the mode's limits: checked now for the uploads
    (their pages are counted), and when the package is built for documents referenced by blob or URL."""
    names = [upload.name for upload in request.uploads]
    roles: list[packaging.Role] = [upload.role for upload in request.uploads]
    pages = [packaging.count_pages(u.content_type, bytes(u.data), u.name) for u in request.uploads]
    for role, source in [
        *(("input", source) for source in request.inputs),
        *(("reference", source) for source in request.references),
    ]:
        names.append(sources.display_name(sources.named(source)))
        roles.append("input" if role == "input" else "reference")
        pages.append(1)  # at least; counted when the package is built
    total_pages = packaging.contents_pages(names, roles, pages) + sum(pages)
    packaging.check_limits(
        total_pages, sum(len(u.data) for u in request.uploads), package_limits(api_version)
    )


def _upload(
    role: str, filename: str, data: memoryview, settings: Settings, api_version: str, agentic: bool
) -> Upload:
    name = sanitize_name(filename)  # refuses path segments and unusable names
    if len(data) == 0:
        raise InputError(f"File {filename!r} is empty", code="EmptyInput", input_name=filename)
    content_type = sniff_content_type(bytes(data[:SNIFF_BYTES]), name)
    if agentic:
        limit = package_part_limit(
            content_type, api_version, AGENTIC_MODE, name=filename, max_bytes=settings.limits.max_file_bytes
        )
        if len(data) > limit:
            raise too_large(filename, limit)
    else:
        check_supported(
            content_type, len(data), api_version, name=filename, max_bytes=settings.limits.max_file_bytes
        )
    assert content_type is not None  # check_supported refuses unrecognised content
    return Upload(
        role="input" if role == "files" else "reference", name=name, content_type=content_type, data=data
    )


# The one place where the contract's validation errors become problem codes, field by field.
SOURCE_FIELDS = ("inputs", "references")
_FIELD_ORDER = ("analyzerId", "mode", "apiVersion", "partialFailure", "idempotencyKey", *SOURCE_FIELDS)
_CODES = {
    "analyzerId": "InvalidAnalyzerId",
    "mode": "InvalidMode",
    "apiVersion": "InvalidField",
    "partialFailure": "InvalidPartialFailure",
    "idempotencyKey": "InvalidIdempotencyKey",
}
# Fields whose value must first of all be a string: any other JSON type is an ``InvalidField``.
_STRING_FIELDS = ("analyzerId", "mode", "apiVersion", "partialFailure")


def request_error(errors: list[ErrorDetails], fields: dict[str, Any]) -> InputError:
    """The ``InputError`` for a request's validation errors: the first one, in the order of checks."""
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return InputError(f"Unknown request field(s): {', '.join(unknown)}", code="UnknownField")
    first = min(errors, key=lambda e: (_FIELD_ORDER.index(str(e["loc"][0])), e["loc"][1:2]))
    field_name = str(first["loc"][0])
    value = fields.get(field_name)
    if field_name in SOURCE_FIELDS:
        return InputError(_source_message(field_name, value, first["loc"]), code="InvalidInputs")
    if field_name in _STRING_FIELDS and not isinstance(value, str):
        return InputError(f"{field_name} must be a string", code="InvalidField")
    return InputError(_field_message(field_name, value), code=_CODES[field_name])


def _field_message(field_name: str, value: Any) -> str:
    if field_name == "analyzerId":
        return f"analyzerId {value!r} must be {ANALYZER_ID_RULE}"
    if field_name == "mode":
        return f"mode must be one of {', '.join(MODES)}, got {value!r}"
    if field_name == "partialFailure":
        return f"partialFailure must be one of {', '.join(PARTIAL_FAILURE_POLICIES)}, got {value!r}"
    return "idempotencyKey must be 1-200 printable ASCII characters"


def _source_message(field_name: str, value: Any, loc: tuple[int | str, ...]) -> str:
    if not isinstance(value, list) or len(loc) < 2:
        return f"{field_name} must be a list"
    where = f"{field_name}[{loc[1]}]"
    item = value[int(loc[1])]
    if isinstance(item, dict) and len(item) == 1 and next(iter(item)) in sources.request_keys():
        (kind,) = item
        return f"{where}.{kind} must be a non-empty string"
    return f"{where} must be {sources.request_examples()}"


def parse_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """``raw`` as a JSON object, or an ``InputError`` naming ``what`` was wrong."""
    value = parse_json(raw, what, max_bytes=MAX_JSON_BYTES)
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object", code="InvalidJson")
    return value
