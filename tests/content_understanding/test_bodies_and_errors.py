"""Per-version request bodies, the error tree and SAS redaction."""

from __future__ import annotations

import base64
from typing import Any

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
from content_understanding.errors import inner_error, operation_error_info
from core.errors import AppError, InputError, PermanentError, TransientError, error_info

GA, PREVIEW = "2025-11-01", "2026-06-01-preview"
SAS = "https://acct.blob.core.windows.net/refs?sv=2024-08-04&sr=c&sp=rl&se=2030-01-01T00%3A00%3A00Z&sig=S3cr%2Bt%3D"
LABELED = {"kind": "labeledData", "containerUrl": SAS, "fileListPath": "files.jsonl"}
AGENTIC = {
    "baseAnalyzerId": "prebuilt-document",
    "config": {"workflow": "agentic"},
    "fieldSchema": {
        "fields": {
            "Total": {"type": "number", "method": "generate"},
            "Kind": {"type": "string", "method": "classify", "enum": ["invoice", "receipt"]},
        }
    },
}


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


def test_pro_mode_is_refused_saying_its_version_is_retired() -> None:
    for version in (GA, PREVIEW):
        with pytest.raises(ContentUnderstandingRequestError, match="mode") as caught:
            build_analyzer_body({"baseAnalyzerId": "prebuilt-document", "mode": "pro"}, version)
        assert "pro mode existed only in 2025-05-01-preview, which Azure retired" in str(caught.value)
        assert "agentic mode" in str(caught.value)


def test_an_agentic_analyzer_body_is_preview_only_and_follows_the_mode_s_rules() -> None:
    assert build_analyzer_body(AGENTIC, PREVIEW) == AGENTIC
    with pytest.raises(
        ContentUnderstandingRequestError, match=f"agentic mode, which exists only in {PREVIEW}"
    ):
        build_analyzer_body(AGENTIC, GA)
    extract = {"type": "string", "method": "extract"}
    nested = {"type": "array", "items": {"type": "object", "properties": {"Name": extract}}}
    for fields, where in [
        ({"Name": extract}, "fieldSchema.fields.Name"),
        ({"Lines": nested}, "Lines.items.properties.Name"),
    ]:
        with pytest.raises(ContentUnderstandingRequestError, match="method 'extract'") as caught:
            build_analyzer_body({**AGENTIC, "fieldSchema": {"fields": fields}}, PREVIEW)
        assert where in str(caught.value)
    with pytest.raises(
        ContentUnderstandingRequestError, match="builds on prebuilt-document, not 'prebuilt-audio'"
    ):
        build_analyzer_body({**AGENTIC, "baseAnalyzerId": "prebuilt-audio"}, PREVIEW)
    with pytest.raises(ContentUnderstandingRequestError, match="takes no knowledgeSources"):
        build_analyzer_body({**AGENTIC, "knowledgeSources": [LABELED]}, PREVIEW)
    with pytest.raises(
        ContentUnderstandingRequestError, match=r"config\.workflow must be 'default' or 'agentic'"
    ):
        build_analyzer_body({"config": {"workflow": "clever"}}, PREVIEW)
    standard = {"baseAnalyzerId": "prebuilt-document", "config": {"workflow": "default"}}
    assert build_analyzer_body(standard, PREVIEW) == standard


def test_knowledge_source_rules_per_version() -> None:
    # A labeled-data source's prefix is optional (the spec); its file list is not.
    assert build_analyzer_body({"knowledgeSources": [LABELED]}, GA)["knowledgeSources"] == [LABELED]
    without_list = {k: v for k, v in LABELED.items() if k != "fileListPath"}
    with pytest.raises(ContentUnderstandingRequestError, match="lacks fileListPath") as caught:
        build_analyzer_body({"knowledgeSources": [without_list]}, GA)
    assert "S3cr" not in str(caught.value)
    with pytest.raises(ContentUnderstandingRequestError, match="accepts only 'labeledData'"):
        build_analyzer_body({"knowledgeSources": [{**LABELED, "kind": "reference"}]}, GA)


def test_a_failed_operation_s_inner_error_is_kept_and_told() -> None:
    """Azure puts the detail in innererror under a generic outer error (azure-sdk-for-net#56192)."""
    inner: dict[str, Any] = {
        "code": "ContentSourceNotAccessible",
        "message": f"Could not read {SAS}",
        "innererror": {"code": "BlobNotFound", "message": "The blob does not exist."},
    }
    error = {"code": "InvalidRequest", "message": "Invalid Request.", "innererror": inner}
    info = operation_error_info(error)
    assert info == {
        "code": "InvalidRequest",
        "message": "Invalid Request. (BlobNotFound: The blob does not exist.)",
        "transient": False,
        "innerError": {"code": "BlobNotFound", "message": "The blob does not exist."},
    }
    shallow = operation_error_info({**error, "innererror": {**inner, "innererror": None}})
    assert shallow["innerError"]["code"] == "ContentSourceNotAccessible"
    assert "S3cr" not in shallow["message"]  # the inner message's URL is redacted
    assert "sig=REDACTED" in shallow["message"]
    assert operation_error_info({"code": "InternalServerError", "message": "Oops"}) == {
        "code": "InternalServerError",
        "message": "Oops",
        "transient": False,
    }
    assert operation_error_info(None)["code"] == "OperationFailed"
    assert inner_error({"innererror": {"message": "no code"}}) is None


def test_analyzer_body_drops_read_only_and_refuses_other_versions_properties() -> None:
    body = build_analyzer_body(
        {"baseAnalyzerId": "prebuilt-document", "status": "ready", "analyzerId": "a"}, GA
    )
    assert body == {"baseAnalyzerId": "prebuilt-document"}
    with pytest.raises(ContentUnderstandingRequestError, match="trainingData"):
        build_analyzer_body({"baseAnalyzerId": "prebuilt-document", "trainingData": {}}, PREVIEW)
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
    # As GA's: every input in inputs[], model deployments per request, and one file per request.
    body = build_analyze_body([AnalyzeInput(url=SAS, name="package.pdf")], PREVIEW, {"gpt-4.1": "x"})
    assert body == {"inputs": [{"url": SAS, "name": "package.pdf"}], "modelDeployments": {"gpt-4.1": "x"}}
    with pytest.raises(ContentUnderstandingRequestError, match="one input per request"):
        build_analyze_body([AnalyzeInput(url=SAS), AnalyzeInput(url=SAS)], PREVIEW)


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


def test_unknown_and_retired_api_versions_are_refused() -> None:
    with pytest.raises(ContentUnderstandingRequestError, match="'2030-01-01' is not supported"):
        build_analyze_body([AnalyzeInput(url=SAS)], "2030-01-01")
    with pytest.raises(ContentUnderstandingRequestError, match="2025-05-01-preview is retired in Azure"):
        build_analyze_body([AnalyzeInput(url=SAS)], "2025-05-01-preview")
