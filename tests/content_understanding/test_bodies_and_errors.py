"""Per-version request bodies, the error tree and SAS redaction."""

from __future__ import annotations

import base64

import pytest

from content_understanding import (
    AnalyzeInput,
    AnalyzerConflictError,
    ContentUnderstandingError,
    ContentUnderstandingPermanentError,
    ContentUnderstandingRequestError,
    ContentUnderstandingTransientError,
    build_analyze_body,
    build_analyzer_body,
    redact_text,
    redact_url,
)
from core.errors import AppError, InputError, PermanentError, TransientError, error_info

GA, PREVIEW = "2025-11-01", "2025-05-01-preview"
SAS = "https://acct.blob.core.windows.net/refs?sv=2024-08-04&sr=c&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=S3cr%2Bt%3D"
KB = {"kind": "reference", "containerUrl": SAS, "prefix": "kb/", "fileListPath": "sources.jsonl"}
PRO = {"baseAnalyzerId": "prebuilt-documentAnalyzer", "mode": "pro", "knowledgeSources": [KB]}


def test_redact_url_hides_every_sas_value_but_keeps_the_resource() -> None:
    redacted = redact_url(SAS)
    assert redacted.startswith("https://acct.blob.core.windows.net/refs?")
    assert "S3cr" not in redacted
    assert "2030" not in redacted
    assert "sig=REDACTED" in redacted
    assert redact_url("https://x/cu?api-version=2025-11-01") == "https://x/cu?api-version=2025-11-01"
    assert redact_url("https://user:pw@host/p") == "https://host/p"


def test_redact_text_finds_urls_and_stray_signatures() -> None:
    text = f"failed to read {SAS} (also sig=abc123&se=1)"
    redacted = redact_text(text)
    assert "S3cr" not in redacted
    assert "abc123" not in redacted
    assert "failed to read https://acct.blob.core.windows.net/refs?" in redacted


def test_error_tree() -> None:
    assert issubclass(ContentUnderstandingTransientError, ContentUnderstandingError)
    assert issubclass(ContentUnderstandingTransientError, TransientError)
    assert issubclass(ContentUnderstandingPermanentError, PermanentError)
    assert issubclass(AnalyzerConflictError, ContentUnderstandingPermanentError)
    assert issubclass(ContentUnderstandingRequestError, InputError)
    error = ContentUnderstandingTransientError(
        f"GET {SAS} failed", status_code=503, error_code="ServiceUnavailable"
    )
    assert isinstance(error, AppError)
    assert error.transient
    assert "S3cr" not in str(error)
    assert error_info(error) == {"code": "ServiceUnavailable", "message": str(error), "transient": True}
    assert error_info(ContentUnderstandingRequestError("x"))["code"] == "InvalidContentUnderstandingRequest"


def test_pro_mode_analyzer_body_is_preview_only() -> None:
    assert build_analyzer_body(PRO, PREVIEW) == PRO
    with pytest.raises(ContentUnderstandingRequestError, match="mode") as caught:
        build_analyzer_body(PRO, GA)
    assert "pro mode exists only in 2025-05-01-preview" in str(caught.value)


def test_knowledge_source_rules_per_version() -> None:
    without_list = {**PRO, "knowledgeSources": [{k: v for k, v in KB.items() if k != "fileListPath"}]}
    with pytest.raises(ContentUnderstandingRequestError, match="lacks fileListPath") as caught:
        build_analyzer_body(without_list, PREVIEW)
    assert "S3cr" not in str(caught.value)
    ga = {"baseAnalyzerId": "prebuilt-document", "knowledgeSources": [KB]}
    with pytest.raises(ContentUnderstandingRequestError, match="accepts only 'labeledData'"):
        build_analyzer_body(ga, GA)
    labeled = {**KB, "kind": "labeledData"}
    assert build_analyzer_body({**ga, "knowledgeSources": [labeled]}, GA)["knowledgeSources"] == [labeled]


def test_analyzer_body_drops_read_only_and_refuses_other_versions_properties() -> None:
    body = build_analyzer_body(
        {"baseAnalyzerId": "prebuilt-document", "status": "ready", "analyzerId": "a"}, GA
    )
    assert body == {"baseAnalyzerId": "prebuilt-document"}
    with pytest.raises(ContentUnderstandingRequestError, match="models"):
        build_analyzer_body({"baseAnalyzerId": "prebuilt-documentAnalyzer", "models": {}}, PREVIEW)
    with pytest.raises(ContentUnderstandingRequestError, match="colour"):
        build_analyzer_body({"baseAnalyzerId": "prebuilt-document", "colour": "red"}, GA)
    with pytest.raises(ContentUnderstandingRequestError, match="'fields' object"):
        build_analyzer_body({"baseAnalyzerId": "prebuilt-document", "fieldSchema": {"fields": []}}, GA)


def test_ga_analyze_body() -> None:
    body = build_analyze_body(
        [AnalyzeInput(data=b"hello", name="a.txt", mime_type="text/plain")], GA, {"gpt-4.1": "my-gpt"}
    )
    assert body == {
        "inputs": [{"data": base64.b64encode(b"hello").decode(), "name": "a.txt", "mimeType": "text/plain"}],
        "modelDeployments": {"gpt-4.1": "my-gpt"},
    }
    with pytest.raises(ContentUnderstandingRequestError, match="one input per request"):
        build_analyze_body([AnalyzeInput(url=SAS), AnalyzeInput(url=SAS)], GA)


def test_preview_analyze_body() -> None:
    assert build_analyze_body([AnalyzeInput(url=SAS, mime_type="application/pdf")], PREVIEW) == {"url": SAS}
    two = build_analyze_body(
        [AnalyzeInput(url=SAS, name="a.pdf"), AnalyzeInput(data=b"%PDF", name="b.pdf")], PREVIEW
    )
    assert two == {"inputs": [{"url": SAS, "name": "a.pdf"}, {"data": "JVBERg==", "name": "b.pdf"}]}
    with pytest.raises(ContentUnderstandingRequestError, match="modelDeployments"):
        build_analyze_body([AnalyzeInput(url=SAS)], PREVIEW, {"gpt-4.1": "x"})


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([], "at least one input"),
        ([AnalyzeInput()], "exactly one of url or data"),
        ([AnalyzeInput(url=SAS, data=b"x")], "exactly one of url or data"),
        ([AnalyzeInput(url="file:///etc/passwd")], "http"),
        ([AnalyzeInput(url="https://h/" + "a" * 9000)], "8192"),
    ],
)
def test_bad_inputs_are_refused(inputs: list[AnalyzeInput], message: str) -> None:
    with pytest.raises(ContentUnderstandingRequestError, match=message):
        build_analyze_body(inputs, GA)


def test_unknown_api_version_is_refused() -> None:
    with pytest.raises(ContentUnderstandingRequestError, match="2026-06-01-preview"):
        build_analyze_body([AnalyzeInput(url=SAS)], "2026-06-01-preview")
