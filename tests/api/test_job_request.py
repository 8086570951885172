"""Validation of POST /api/analyses bodies: everything that can be refused before any write."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from api.job_request import parse_job_request
from api.submission import request_digest
from core.api_versions import DEFAULT_PRO_MODE_API_VERSION as PRO_VERSION
from core.errors import InputError
from core.settings import Settings
from tests.conftest import example_settings

PDF = b"%PDF-1.4\n" + b"x" * 100 + b"\n%%EOF\n"
BOUNDARY = "test-boundary"


def settings(**limits: int) -> Settings:
    base = Settings.from_env(example_settings())
    return replace(base, limits=replace(base.limits, **limits)) if limits else base


def multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    chunks = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


def parse_json(body: dict[str, Any], **limits: int):
    return parse_job_request(
        json.dumps(body).encode(),
        "application/json",
        settings(**limits),
        pro_api_version=PRO_VERSION,
    )


def parse_parts(parts: list[tuple[str, str | None, bytes]], **limits: int):
    body, content_type = multipart(parts)
    return parse_job_request(body, content_type, settings(**limits), pro_api_version=PRO_VERSION)


def test_a_json_job_with_references() -> None:
    request = parse_json(
        {
            "analyzerId": "invoice-fields",
            "inputs": [{"blob": "intake/a.pdf"}, {"url": "https://example.com/b.pdf"}],
        }
    )
    assert request.analyzer_id == "invoice-fields"
    assert request.mode == "per-document"
    assert request.partial_failure == "continue"
    assert request.inputs == [{"blob": "intake/a.pdf"}, {"url": "https://example.com/b.pdf"}]
    assert request.input_count == 2


def test_a_multipart_job_with_files_references_and_request_part() -> None:
    request = parse_parts(
        [
            ("files", "invoice.pdf", PDF),
            ("references", "contract.pdf", PDF),
            ("request", None, b'{"analyzerId": "check", "mode": "combined", "idempotencyKey": "k-1"}'),
        ]
    )
    assert request.mode == "combined"
    assert request.partial_failure == "fail"
    assert [(u.role, u.name, u.content_type) for u in request.uploads] == [
        ("input", "invoice.pdf", "application/pdf"),
        ("reference", "contract.pdf", "application/pdf"),
    ]
    assert request.idempotency_key == "k-1"
    assert request.input_count == 1


def test_defaults_come_from_settings() -> None:
    request = parse_parts([("files", "a.txt", b"hello")])
    assert request.analyzer_id == "prebuilt-document"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "NoInputs"),
        ({"inputs": []}, "NoInputs"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "colour": "red"}, "UnknownField"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "mode": "batch"}, "InvalidMode"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "partialFailure": "maybe"}, "InvalidPartialFailure"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "analyzerId": "bad id!"}, "InvalidAnalyzerId"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "analyzerId": 7}, "InvalidField"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "idempotencyKey": "has space"}, "InvalidIdempotencyKey"),
        ({"inputs": "intake/a.pdf"}, "InvalidInputs"),
        ({"inputs": [{"blob": "intake/a.pdf", "url": "https://x"}]}, "InvalidInputs"),
        ({"inputs": [{"file": "a.pdf"}]}, "InvalidInputs"),
        ({"inputs": [{"blob": "intake"}]}, "BlobNotAllowed"),
        ({"inputs": [{"blob": "intake/folder/"}]}, "BlobNotAllowed"),
        ({"inputs": [{"blob": "grants/job-1/0.json"}]}, "BlobNotAllowed"),
        ({"inputs": [{"blob": "results/job-1/result.json"}]}, "BlobNotAllowed"),
        ({"inputs": [{"url": "ftp://example.com/a.pdf"}]}, "UrlNotHttps"),
        ({"inputs": [{"url": "https://user:pw@example.com/a.pdf"}]}, "UrlHasCredentials"),
        ({"inputs": [{"url": "https://example.com/a.pdf?sv=1&sig=abc"}]}, "UrlHasSignature"),
        (
            {"inputs": [{"blob": "intake/a.pdf"}], "references": [{"blob": "references/c.pdf"}]},
            "ReferencesNeedCombined",
        ),
    ],
)
def test_bad_json_requests_are_refused(body: dict[str, Any], code: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_json(body)
    assert caught.value.code == code


def test_private_urls_are_refused_unless_local_urls_are_allowed() -> None:
    body = {"inputs": [{"url": "http://127.0.0.1:9/a.pdf"}]}
    assert parse_json(body).inputs == [{"url": "http://127.0.0.1:9/a.pdf"}]  # ALLOW_LOCAL_URLS=true locally
    strict = replace(settings(), allow_local_urls=False)
    for url in ("https://127.0.0.1/a.pdf", "https://10.1.2.3/a.pdf", "https://[::1]/a"):
        with pytest.raises(InputError) as caught:
            parse_job_request(
                json.dumps({"inputs": [{"url": url}]}).encode(),
                "application/json",
                strict,
                pro_api_version=PRO_VERSION,
            )
        assert caught.value.code == "UrlNotAllowed", url
    with pytest.raises(InputError, match="https"):
        parse_job_request(json.dumps(body).encode(), "application/json", strict, pro_api_version=PRO_VERSION)


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ([("files", "empty.pdf", b"")], "EmptyInput"),
        ([("files", "../etc/passwd.txt", b"x")], "InvalidName"),
        ([("files", "a\\b.txt", b"x")], "InvalidName"),
        ([("files", None, b"x")], "MissingFileName"),
        ([("attachment", "a.txt", b"x")], "UnknownPart"),
        (
            [("files", "a.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 8)],
            "UnsupportedContentType",
        ),
        ([("files", "a.txt", b"x"), ("request", None, b"{not json")], "InvalidJson"),
        ([("files", "a.txt", b"x"), ("request", None, b"[1]")], "InvalidJson"),
        ([("files", "a.txt", b"x"), ("request", None, b"{}"), ("request", None, b"{}")], "BadMultipart"),
    ],
)
def test_bad_multipart_requests_are_refused(parts: list[tuple[str, str | None, bytes]], code: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_parts(parts)
    assert caught.value.code == code


def test_size_and_count_limits() -> None:
    with pytest.raises(InputError) as caught:
        parse_parts([("files", "a.txt", b"x" * 11)], max_file_bytes=10, max_job_bytes=100)
    assert caught.value.code == "InputTooLarge"
    with pytest.raises(InputError) as caught:
        parse_parts([("files", f"{i}.txt", b"x" * 8) for i in range(3)], max_file_bytes=10, max_job_bytes=20)
    assert caught.value.code == "JobTooLarge"
    with pytest.raises(InputError) as caught:
        parse_json({"inputs": [{"blob": f"intake/{i}.pdf"} for i in range(3)]}, max_files_per_job=2)
    assert caught.value.code == "TooManyInputs"


def test_pro_mode_refuses_types_it_cannot_analyse() -> None:
    body, content_type = multipart(
        [("files", "a.txt", b"plain text"), ("request", None, b'{"mode": "combined"}')]
    )
    with pytest.raises(InputError) as caught:
        parse_job_request(body, content_type, settings(), pro_api_version=PRO_VERSION)
    assert caught.value.code == "UnsupportedContentType"


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/x-www-form-urlencoded"])
def test_other_media_types_are_refused(content_type: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_job_request(b"x", content_type, settings(), pro_api_version=PRO_VERSION)
    assert caught.value.code == "UnsupportedMediaType"


def test_the_request_digest_covers_what_the_job_does_and_nothing_else() -> None:
    key = {"idempotencyKey": "k-1"}
    inputs = {"inputs": [{"blob": "intake/a.pdf"}]}
    base = request_digest(parse_json({**key, **inputs}))
    # The same job, said differently: defaults spelled out, another key, members reordered.
    assert request_digest(parse_json({**inputs, "mode": "per-document", "idempotencyKey": "k-2"})) == base
    assert request_digest(parse_json({**inputs, "partialFailure": "continue"})) == base
    # A different job.
    assert request_digest(parse_json({**key, **inputs, "partialFailure": "fail"})) != base
    assert request_digest(parse_json({**key, **inputs, "analyzerId": "other"})) != base
    assert request_digest(parse_json({**key, "inputs": [{"blob": "intake/b.pdf"}]})) != base

    uploads = request_digest(parse_parts([("files", "a.pdf", PDF)]))
    assert request_digest(parse_parts([("files", "a.pdf", PDF)])) == uploads
    assert request_digest(parse_parts([("files", "a.pdf", PDF + b" ")])) != uploads
    assert request_digest(parse_parts([("files", "b.pdf", PDF)])) != uploads
    assert request_digest(parse_parts([("files", "a.pdf", PDF), ("files", "a.pdf", PDF)])) != uploads
