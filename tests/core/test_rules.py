"""The pure rules behind ingest: names, content types and limits, URL checks, redaction, errors."""

from __future__ import annotations

import ipaddress

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from core import content_types as types
from core.api_versions import AGENTIC_MODE, DEFAULT_AGENTIC_API_VERSION as PREVIEW, DEFAULT_API_VERSION as GA
from core.errors import InputError, PermanentError, TransientError
from core.naming import (
    MAX_NAME_LENGTH,
    check_analyzer_id,
    check_job_id,
    check_prefix,
    is_job_instance_id,
    sanitize_name,
)
from core.redact import display_url, redact_text
from inputs.url_fetch import address_allowed, check_url_input
from storage.errors import StorageAccessDenied, translate
from tests.support import documents


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("Invoice 2024.pdf", "Invoice 2024.pdf"),
        ("  spaced\tout  name .pdf ", "spaced out name .pdf"),
        ("Cafe\u0301.pdf", "Café.pdf"),  # NFC: one code point for é
        ("evil\u202efdp.exe", "evilfdp.exe"),  # bidi override dropped
        ("bell\x07.pdf", "bell.pdf"),
        ('a<b>:c"|?*#%&.pdf', "a_b__c_______.pdf"),
        ("CON.pdf", "_CON.pdf"),
        ("lpt1", "_lpt1"),
        (".hidden.pdf", "hidden.pdf"),
        ("trailing...", "trailing"),
    ],
)
def test_names_are_sanitised(raw: str, safe: str) -> None:
    assert sanitize_name(raw) == safe


def test_long_names_keep_their_extension() -> None:
    name = sanitize_name("x" * 300 + ".pdf")
    assert (len(name), name[-4:]) == (MAX_NAME_LENGTH, ".pdf")


@pytest.mark.parametrize(
    "raw", ["../a.pdf", "dir/a.pdf", "C:\\Users\\me\\a.pdf", "..", ".", "", "\x00\x01", "???"]
)
def test_names_with_paths_or_nothing_usable_are_refused(raw: str) -> None:
    with pytest.raises(InputError) as caught:
        sanitize_name(raw)
    assert caught.value.code == "InvalidName"
    assert repr(raw)[1:-1][:20] in caught.value.message


@pytest.mark.parametrize("job_id", ["", "../x", "a/b", "-lead", "x" * 200, "a..b"])
def test_bad_job_ids_are_refused(job_id: str) -> None:
    with pytest.raises(InputError):
        check_job_id(job_id)


@pytest.mark.parametrize("analyzer_id", ["invoice-fields", "a", "a.b", "v1..2", "_", "-", "A" * 64, ".x"])
def test_analyzer_ids_follow_the_service_pattern(analyzer_id: str) -> None:
    assert check_analyzer_id(analyzer_id) == analyzer_id


@pytest.mark.parametrize("analyzer_id", ["", ".", "..", "...", "a b", "a/b", "a#b", "\x84", "é", "A" * 65])
def test_analyzer_ids_outside_the_pattern_or_only_dots_are_refused(analyzer_id: str) -> None:
    with pytest.raises(InputError) as caught:
        check_analyzer_id(analyzer_id)
    assert caught.value.code == "InvalidAnalyzerId"


@pytest.mark.parametrize(
    ("instance_id", "is_job"),
    [
        ("job-" + "0123456789abcdef" * 2, True),
        ("intake-" + "0123456789abcdef" * 2, True),
        ("job-" + "0123456789abcdef" * 2 + ":op-0", False),  # a job's monitor
        ("analyzer-" + "0123456789abcdef" * 2, False),  # an analyzer check
        ("job-" + "0123456789ABCDEF" * 2, False),
        ("job-nope", False),
        ("job-" + "0" * 31 + "#", False),
        ("job-" + "0" * 32 + "\n", False),
        ("..", False),
    ],
)
def test_only_jobs_have_job_instance_ids(instance_id: str, is_job: bool) -> None:
    assert is_job_instance_id(instance_id) is is_job


@pytest.mark.parametrize("prefix", ["kb", "kb//", "/kb/", "kb/../x/", "k b/"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(InputError):
        check_prefix(prefix)


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (documents.pdf(), "anything.bin", types.PDF),
        (documents.png(), "x", types.PNG),
        (b"\xff\xd8\xff\xe0" + bytes(20), "x.jpg", types.JPEG),
        (b"II*\x00" + bytes(20), "x.tif", types.TIFF),
        (b"BM" + bytes(12) + (40).to_bytes(4, "little") + bytes(20), "x.bmp", types.BMP),
        (b"BMW drivers handbook, chapter one", "x.txt", types.TEXT),  # "BM" text is not a bitmap
        (b"\x00\x00\x00\x18ftypheic" + bytes(20), "x.heic", types.HEIF),
        (documents.docx(), "x.docx", types.DOCX),
        (documents.docx(), "renamed.zip", types.DOCX),  # found by its word/ part
        (b"PK\x03\x04" + bytes(40), "x.zip", types.ZIP),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(20), "mail.msg", types.MSG),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(20), "old.doc", types.OLE),
        (b"{\\rtf1\\ansi hello}", "x.rtf", types.RTF),
        (b"<!DOCTYPE html><html></html>", "x.txt", types.HTML),
        (b"<?xml version='1.0'?><a/>", "x", types.XML),
        (b"# Title\n\nText", "notes.md", types.MARKDOWN),
        (b"From: a@example.com\nSubject: hi\n\nbody", "m.eml", types.EML),
        ("Grüße, 日本".encode() + "é".encode()[:1], "x.txt", types.TEXT),  # cut mid-character
        (documents.executable(), "tool.pdf", None),
        (b"", "x.txt", None),
    ],
)
def test_content_types_are_sniffed_from_the_bytes(head: bytes, name: str, expected: str | None) -> None:
    assert types.sniff_content_type(head, name) == expected


def test_content_type_limits_follow_the_api_version_and_mode() -> None:
    types.check_supported(types.DOCX, 5_000_000, GA)
    types.check_supported(types.PDF, 200_000_000, PREVIEW, mode=AGENTIC_MODE)
    cases = [
        (types.TEXT, 10, PREVIEW, AGENTIC_MODE, "UnsupportedContentType"),  # documents only
        (types.PDF, 200_000_001, PREVIEW, AGENTIC_MODE, "InputTooLarge"),
        (types.TEXT, 1_000_001, GA, None, "InputTooLarge"),
        (types.PDF, 0, GA, None, "EmptyInput"),
        (None, 10, GA, None, "UnsupportedContentType"),
        (types.ZIP, 10, GA, None, "UnsupportedContentType"),
    ]
    for content_type, size, version, mode, code in cases:
        with pytest.raises(InputError) as caught:
            types.check_supported(content_type, size, version, mode=mode, name="f.bin")
        assert (caught.value.code, "'f.bin'" in caught.value.message) == (code, True)
    with pytest.raises(InputError, match="limit of 10 bytes"):
        types.check_supported(types.PDF, 11, GA, max_bytes=10)
    with pytest.raises(PermanentError, match="Agentic mode needs"):
        types.check_supported(types.PDF, 10, GA, mode=AGENTIC_MODE)


def test_what_an_agentic_job_packages_and_how_large() -> None:
    """The package takes PDF, text and Markdown: a PDF up to the whole file's size, text bounded."""
    assert types.package_part_limit(types.PDF, PREVIEW, AGENTIC_MODE) == 200_000_000
    assert types.package_part_limit(types.MARKDOWN, PREVIEW, AGENTIC_MODE) == types.MAX_PACKAGED_TEXT_BYTES
    assert types.package_part_limit(types.TEXT, PREVIEW, AGENTIC_MODE, max_bytes=10) == 10
    for refused in (types.DOCX, types.PNG, types.HTML, None):
        with pytest.raises(InputError, match="packages its documents into one PDF") as caught:
            types.package_part_limit(refused, PREVIEW, AGENTIC_MODE, name="f.bin")
        assert caught.value.code == "UnsupportedContentType"


@pytest.mark.parametrize(
    ("url", "allow_local", "code"),
    [
        ("http://example.com/a.pdf", False, "UrlNotHttps"),
        ("ftp://example.com/a.pdf", True, "UrlNotHttps"),
        ("https://user:pw@example.com/a.pdf", False, "UrlHasCredentials"),
        ("https://example.com/a.pdf?sv=1&SIG=abc", False, "UrlHasSignature"),
        # Every credential a query string commonly carries, not only a SAS signature (issue 10).
        ("https://s3.example.com/a.pdf?X-Amz-Signature=abc&X-Amz-Credential=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?X-Amz-Security-Token=abc", False, "UrlHasSignature"),
        ("https://storage.example.com/a.pdf?X-Goog-Signature=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?token=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?access_token=abc", False, "UrlHasSignature"),
        ("https://example.com/api/file?code=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?KEY=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?api-key=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?apiKey=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?subscription-key=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?client_secret=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?password=abc", False, "UrlHasSignature"),
        ("https://example.com/a.pdf?x=1&Sig=", False, "UrlHasSignature"),
        ("https://127.0.0.1/a.pdf", False, "UrlNotAllowed"),
        ("https://[::1]/a.pdf", False, "UrlNotAllowed"),
        ("https://[::ffff:10.0.0.1]/a.pdf", False, "UrlNotAllowed"),
        ("https://192.168.1.1/a.pdf", False, "UrlNotAllowed"),
        ("https://100.64.0.1/a.pdf", False, "UrlNotAllowed"),
        ("https://0.0.0.0/a.pdf", False, "UrlNotAllowed"),
        ("https:///a.pdf", False, "InvalidUrl"),
        ("https://example.com:99999/a.pdf", False, "InvalidUrl"),
        ("https://example.com/" + "a" * 5000, False, "InvalidUrl"),
    ],
)
def test_url_inputs_are_checked_before_any_request(url: str, allow_local: bool, code: str) -> None:
    with pytest.raises(InputError) as caught:
        check_url_input(url, allow_local=allow_local)
    assert caught.value.code == code
    assert "abc" not in caught.value.message
    assert "pw" not in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.pdf?version=2&page=1",
        "https://example.com/download?id=42&format=pdf",
        "https://example.com/a.pdf?keyword=x&signed=true&codec=h264",
    ],
)
def test_harmless_query_parameters_pass(url: str) -> None:
    assert check_url_input(url, allow_local=False) == url


def test_a_redirect_may_lead_to_a_signed_url() -> None:
    # Servers hand downloads off to short-lived signed URLs; a redirect target is never stored.
    signed = "https://s3.example.com/a.pdf?X-Amz-Signature=abc"
    assert check_url_input(signed, allow_local=False, redirect=True) == signed
    with pytest.raises(InputError):
        check_url_input("https://10.0.0.1/a.pdf?X-Amz-Signature=abc", allow_local=False, redirect=True)


def test_local_urls_pass_only_in_development() -> None:
    assert check_url_input("http://127.0.0.1:8080/a.pdf", allow_local=True)
    assert check_url_input("https://8.8.8.8/a.pdf", allow_local=False)
    assert not address_allowed(ipaddress.ip_address("169.254.169.254"))
    assert not address_allowed(ipaddress.ip_address("224.0.0.1"))


def test_urls_are_shown_without_secrets() -> None:
    url = "https://user:pw@acct.blob.core.windows.net/c/a.pdf?sv=2025&sig=SECRET%3D#frag"
    assert display_url(url) == "https://acct.blob.core.windows.net/c/a.pdf"
    text = f"failed reading {url} (sig=OTHER)"
    assert "SECRET" not in redact_text(text)
    assert "OTHER" not in redact_text(text)


def with_status(error: HttpResponseError, status: int) -> HttpResponseError:
    error.status_code = status  # as the SDK sets it from the response
    return error


@pytest.mark.parametrize(
    ("error", "kind", "code"),
    [
        (ServiceRequestError("connection refused"), TransientError, "StorageUnavailable"),
        (HttpResponseError(message="busy"), TransientError, "StorageUnavailable"),
        (ClientAuthenticationError("no"), StorageAccessDenied, "StorageAccessDenied"),
        (ResourceNotFoundError("gone"), PermanentError, "NotFound"),
        (ResourceModifiedError("changed"), TransientError, "BlobChanged"),
        (with_status(HttpResponseError("bad request"), 400), PermanentError, "StorageRequestFailed"),
        (with_status(HttpResponseError("unavailable"), 503), TransientError, "StorageUnavailable"),
        (with_status(HttpResponseError("forbidden"), 403), StorageAccessDenied, "StorageAccessDenied"),
    ],
)
def test_storage_errors_are_translated(error: Exception, kind: type[Exception], code: str) -> None:
    translated = translate(error, "Reading blob x")  # type: ignore[arg-type]
    assert isinstance(translated, kind)
    assert translated.code == code
    assert translated.message.startswith("Reading blob x")
