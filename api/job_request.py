"""Validate a ``POST /api/analyses`` request before anything is written or started.

Two shapes arrive: ``application/json`` (inputs given as blob or URL references) and
``multipart/form-data`` (file parts named ``files``, reference files named ``references``, and an
optional ``request`` part holding the same JSON). Every problem raises ``InputError`` with a code
that the HTTP layer maps to a status (see ``api/problems.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from api.multipart import parse_multipart
from core.api_versions import PRO_MODE
from core.content_types import SNIFF_BYTES, check_supported, sniff_content_type
from core.errors import InputError
from core.jobs import (
    DEFAULT_PARTIAL_FAILURE,
    MODES,
    PARTIAL_FAILURE_POLICIES,
    InputSource,
    Mode,
    PartialFailurePolicy,
)
from core.naming import sanitize_name
from core.settings import Settings
from inputs.ingest import check_blob_input
from inputs.url_fetch import check_url_input

ANALYZER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # the CU spec's pattern
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces
REQUEST_FIELDS = {"analyzerId", "mode", "inputs", "references", "partialFailure", "idempotencyKey"}
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
    partial_failure: PartialFailurePolicy
    uploads: list[Upload]  # come first, in the order sent
    inputs: list[InputSource]  # blob and URL references, after the uploads
    references: list[InputSource]
    idempotency_key: str | None

    @property
    def input_count(self) -> int:
        return sum(1 for upload in self.uploads if upload.role == "input") + len(self.inputs)


def parse_job_request(
    body: bytes, content_type: str, settings: Settings, *, pro_api_version: str
) -> JobRequest:
    """Parse and validate the whole request; ``pro_api_version`` applies to combined jobs."""
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
    return validate_fields(fields, settings, pro_api_version, uploads)


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


def validate_fields(
    fields: dict[str, Any],
    settings: Settings,
    pro_api_version: str,
    raw_uploads: list[tuple[str, str, memoryview]] | None = None,
) -> JobRequest:
    """Validate the JSON fields of a request (or of a ``*.job.json`` manifest) and its file parts."""
    unknown = sorted(set(fields) - REQUEST_FIELDS)
    if unknown:
        raise InputError(f"Unknown request field(s): {', '.join(unknown)}", code="UnknownField")
    analyzer_id = _string(fields, "analyzerId", settings.content_understanding.default_analyzer_id)
    if not ANALYZER_ID.fullmatch(analyzer_id):
        raise InputError(
            f"analyzerId {analyzer_id!r} must match [A-Za-z0-9._-]{{1,64}}", code="InvalidAnalyzerId"
        )
    mode = _string(fields, "mode", "per-document")
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", code="InvalidMode")
    typed_mode: Mode = mode
    policy = _string(fields, "partialFailure", DEFAULT_PARTIAL_FAILURE[typed_mode])
    if policy not in PARTIAL_FAILURE_POLICIES:
        raise InputError(
            f"partialFailure must be one of {', '.join(PARTIAL_FAILURE_POLICIES)}, got {policy!r}",
            code="InvalidPartialFailure",
        )
    key = fields.get("idempotencyKey")
    if key is not None and (not isinstance(key, str) or not IDEMPOTENCY_KEY.fullmatch(key)):
        raise InputError(
            "idempotencyKey must be 1-200 printable ASCII characters", code="InvalidIdempotencyKey"
        )

    api_version = pro_api_version if typed_mode == "combined" else settings.content_understanding.api_version
    pro_mode = typed_mode == "combined"
    uploads = [
        _upload(role, name, data, settings, api_version, pro_mode) for role, name, data in raw_uploads or []
    ]
    inputs = _sources(fields, "inputs", settings)
    references = _sources(fields, "references", settings)
    reference_uploads = sum(1 for upload in uploads if upload.role == "reference")
    if (references or reference_uploads) and not pro_mode:
        raise InputError(
            "references are only used by mode 'combined' (pro mode)", code="ReferencesNeedCombined"
        )

    request = JobRequest(
        analyzer_id=analyzer_id,
        mode=typed_mode,
        partial_failure=policy,
        uploads=[u for u in uploads if u.role == "input"] + [u for u in uploads if u.role == "reference"],
        inputs=inputs,
        references=references,
        idempotency_key=key,
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
    return request


def _upload(
    role: str, filename: str, data: memoryview, settings: Settings, api_version: str, pro_mode: bool
) -> Upload:
    name = sanitize_name(filename)  # refuses path segments and unusable names
    if len(data) == 0:
        raise InputError(f"File {filename!r} is empty", code="EmptyInput", input_name=filename)
    content_type = sniff_content_type(bytes(data[:SNIFF_BYTES]), name)
    check_supported(
        content_type,
        len(data),
        api_version,
        mode=PRO_MODE if pro_mode else None,
        name=filename,
        max_bytes=settings.limits.max_file_bytes,
    )
    assert content_type is not None  # check_supported refuses unrecognised content
    return Upload(
        role="input" if role == "files" else "reference", name=name, content_type=content_type, data=data
    )


def _sources(fields: dict[str, Any], field_name: str, settings: Settings) -> list[InputSource]:
    raw = fields.get(field_name, [])
    if not isinstance(raw, list):
        raise InputError(f"{field_name} must be a list", code="InvalidInputs")
    return [_source(item, f"{field_name}[{i}]", settings) for i, item in enumerate(raw)]


def _source(item: Any, where: str, settings: Settings) -> InputSource:
    if not isinstance(item, dict) or len(item) != 1 or not ({"blob", "url"} & set(item)):
        raise InputError(
            f'{where} must be {{"blob": "container/path"}} or {{"url": "https://..."}}', code="InvalidInputs"
        )
    ((kind, value),) = item.items()
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}.{kind} must be a non-empty string", code="InvalidInputs")
    if kind == "blob":
        check_blob_input(value)
        return {"blob": value}
    check_url_input(value, allow_local=settings.allow_local_urls)
    return {"url": value}


def parse_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """``raw`` as a JSON object, or an ``InputError`` naming ``what`` was wrong."""
    if len(raw) > MAX_JSON_BYTES:
        raise InputError(f"{what} is over {MAX_JSON_BYTES} bytes", code="RequestTooLarge")
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{what} is not valid JSON: {error}", code="InvalidJson") from None
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object", code="InvalidJson")
    return value


def _string(fields: dict[str, Any], name: str, default: str) -> str:
    value = fields.get(name, default)
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string", code="InvalidField")
    return value
