"""Validation of POST /api/analyses bodies: everything that can be refused before any write."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from api.job_request import parse_job_request
from api.submission import request_digest
from core.errors import InputError
from core.settings import Settings
from samples.pdf import make_pdf
from tests.conftest import example_settings
from tests.support import documents

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
    return parse_job_request(json.dumps(body).encode(), "application/json", settings(**limits))


def parse_parts(parts: list[tuple[str, str | None, bytes]], **limits: int):
    body, content_type = multipart(parts)
    return parse_job_request(body, content_type, settings(**limits))


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
            ("files", "invoice.pdf", documents.pdf()),
            ("references", "contract.pdf", documents.pdf()),
            ("request", None, b'{"analyzerId": "check", "mode": "agentic", "idempotencyKey": "k-1"}'),
        ]
    )
    assert request.mode == "agentic"
    assert request.api_version == "2026-06-01-preview"
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
            "ReferencesNeedAgentic",
        ),
        ({"inputs": [{"blob": "intake/a.pdf"}], "mode": "combined"}, "RetiredMode"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "apiVersion": "2025-05-01-preview"}, "RetiredApiVersion"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "apiVersion": "2024-12-01-preview"}, "RetiredApiVersion"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "apiVersion": "2030-01-01"}, "UnsupportedApiVersion"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "apiVersion": "2026-06-01-preview"}, "ApiVersionMismatch"),
        ({"inputs": [{"blob": "intake/a.pdf"}], "apiVersion": 2025}, "InvalidField"),
        (
            {"inputs": [{"blob": "intake/a.pdf"}], "mode": "agentic", "apiVersion": "2025-11-01"},
            "ApiVersionMismatch",
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
            )
        assert caught.value.code == "UrlNotAllowed", url
    with pytest.raises(InputError, match="https"):
        parse_job_request(json.dumps(body).encode(), "application/json", strict)


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


def test_the_mode_s_api_version_may_be_named() -> None:
    assert (
        parse_json({"inputs": [{"blob": "intake/a.pdf"}], "apiVersion": "2025-11-01"}).api_version
        == "2025-11-01"
    )
    agentic = {"inputs": [{"blob": "intake/a.pdf"}], "mode": "agentic", "apiVersion": "2026-06-01-preview"}
    assert parse_json(agentic).api_version == "2026-06-01-preview"


def test_retired_names_get_messages_that_say_what_to_use() -> None:
    with pytest.raises(InputError, match="use mode 'agentic'"):
        parse_json({"inputs": [{"blob": "intake/a.pdf"}], "mode": "combined"})
    with pytest.raises(InputError, match=r"2025-05-01-preview is retired in Azure.*agentic mode"):
        parse_json({"inputs": [{"blob": "intake/a.pdf"}], "apiVersion": "2025-05-01-preview"})


def agentic_parts(*files: tuple[str, str, bytes]) -> list[tuple[str, str | None, bytes]]:
    return [*((role, name, data) for role, name, data in files), ("request", None, b'{"mode": "agentic"}')]


def test_an_agentic_job_takes_what_its_package_takes() -> None:
    """PDF, text and Markdown (set as pages in the package), not what CU alone would take."""
    request = parse_parts(
        agentic_parts(
            ("files", "a.pdf", documents.pdf()),
            ("files", "b.md", b"# B\n"),
            ("references", "c.txt", b"terms"),
        )
    )
    assert [u.content_type for u in request.uploads] == ["application/pdf", "text/markdown", "text/plain"]
    with pytest.raises(InputError) as caught:
        parse_parts(agentic_parts(("files", "a.docx", documents.docx())))
    assert caught.value.code == "UnsupportedContentType"
    assert "packages its documents into one PDF" in caught.value.message
    with pytest.raises(InputError) as caught:  # its pages are counted now, so a broken PDF shows now
        parse_parts(agentic_parts(("files", "broken.pdf", PDF)))
    assert (caught.value.code, caught.value.input_name) == ("UnpackageableInput", "broken.pdf")


def test_an_agentic_package_over_300_pages_is_refused_before_anything_starts() -> None:
    fits = make_pdf([["p"]] * 298)
    request = parse_parts(agentic_parts(("files", "a.pdf", fits), ("references", "r.txt", b"terms")))
    assert request.input_count == 1  # 1 contents page + 298 + 1 = 300 pages: fits
    with pytest.raises(InputError) as caught:
        parse_parts(agentic_parts(("files", "a.pdf", fits), ("references", "r.txt", b"a\n" * 60)))
    assert caught.value.code == "PackageTooLarge"
    assert "would have 301 pages" in caught.value.message
    # Documents given by reference count as one page each until the package is built.
    with pytest.raises(InputError, match="would have 301 pages"):
        parse_parts(
            [
                ("files", "a.pdf", fits),
                (
                    "request",
                    None,
                    b'{"mode": "agentic", "inputs": [{"blob": "intake/x.pdf"}, {"blob": "intake/y.pdf"}]}',
                ),
            ]
        )


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/x-www-form-urlencoded"])
def test_other_media_types_are_refused(content_type: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_job_request(b"x", content_type, settings())
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
