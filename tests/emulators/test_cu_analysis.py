"""The emulator's deterministic analysis: text extraction and field filling."""

from __future__ import annotations

import pytest

from emulators.content_understanding.config import Faults, faults_to_json, update_faults
from emulators.content_understanding.documents import detect_mime_type, extract
from emulators.content_understanding.errors import OperationFailure
from emulators.content_understanding.fields import fill_fields
from samples.pdf import make_pdf

TEXT = """# Invoice

Invoice number: INV-0042
**Invoice Date:** March 5, 2025
Total amount due: 1,234.50 EUR
Line count: 3
Paid: yes
Document type: Invoice
Due time: 5:30 pm
Items: pens; paper ; ink
Vendor name: Contoso Ltd
Vendor name: Ignored (the first line wins)
"""


def test_fields_are_filled_by_name_words_or_description_and_converted() -> None:
    schema = {
        "fields": {
            "invoiceNumber": {"type": "string"},
            "invoice_date": {"type": "date"},
            "total": {"type": "number", "description": "Total amount due"},
            "lineCount": {"type": "integer"},
            "paid": {"type": "boolean"},
            "documentType": {"type": "string", "method": "classify", "enum": ["Invoice", "Receipt"]},
            "dueTime": {"type": "time"},
            "items": {"type": "array", "items": {"type": "string"}},
            "vendor": {"type": "object", "properties": {"vendorName": {"type": "string"}}},
            "missing": {"type": "string"},
        }
    }
    fields = fill_fields(schema, TEXT)
    assert fields["invoiceNumber"]["valueString"] == "INV-0042"
    span = fields["invoiceNumber"]["spans"][0]
    assert TEXT[span["offset"] : span["offset"] + span["length"]] == "INV-0042"
    assert fields["invoice_date"]["valueDate"] == "2025-03-05"
    assert fields["total"]["valueNumber"] == 1234.5
    assert fields["lineCount"]["valueInteger"] == 3
    assert fields["paid"]["valueBoolean"] is True
    assert fields["documentType"]["valueString"] == "Invoice"
    assert fields["dueTime"]["valueTime"] == "17:30:00"
    assert [item["valueString"] for item in fields["items"]["valueArray"]] == ["pens", "paper", "ink"]
    for item in fields["items"]["valueArray"]:
        offset, length = item["spans"][0]["offset"], item["spans"][0]["length"]
        assert TEXT[offset : offset + length] == item["valueString"]
    assert fields["vendor"]["valueObject"]["vendorName"]["valueString"] == "Contoso Ltd"
    assert fields["missing"] == {"type": "string"}


def test_values_that_do_not_convert_leave_the_field_empty() -> None:
    schema = {
        "fields": {
            "lineCount": {"type": "integer"},
            "documentType": {"type": "string", "enum": ["Receipt"]},
            "paid": {"type": "boolean"},
        }
    }
    text = "Line count: three\nDocument type: Invoice\nPaid: maybe\n"
    assert fill_fields(schema, text) == {
        "lineCount": {"type": "integer"},
        "documentType": {"type": "string"},
        "paid": {"type": "boolean"},
    }


def test_ref_fields_resolve_against_definitions() -> None:
    schema = {
        "fields": {"party": {"$ref": "#/$defs/Party"}},
        "definitions": {"Party": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }
    assert fill_fields(schema, "Name: Fabrikam")["party"]["valueObject"]["name"]["valueString"] == "Fabrikam"


def test_pdf_text_layer_becomes_markdown_pages() -> None:
    pdf = make_pdf([["Invoice number: 7"], ["Total: 9.99"]])
    extracted = extract("application/pdf", pdf, "a.pdf")
    assert extracted.pages == ["Invoice number: 7", "Total: 9.99"]
    assert extracted.markdown == "Invoice number: 7\n<!-- PageBreak -->\nTotal: 9.99"
    assert (
        fill_fields({"fields": {"total": {"type": "number"}}}, extracted.markdown)["total"]["valueNumber"]
        == 9.99
    )


def test_html_becomes_markdown() -> None:
    html = "<html><head><style>p{}</style></head><body><h1>Title</h1><p>Invoice number: <b>12</b></p></body>"
    assert extract("text/html", html.encode(), "a.html").markdown == "# Title\n\nInvoice number: 12"


def test_types_without_text_give_empty_markdown_and_a_warning() -> None:
    extracted = extract("image/png", b"\x89PNG....", "scan.png")
    assert extracted.markdown == ""
    assert extracted.warnings[0]["code"] == "EmulatorUnsupportedContent"


def test_a_broken_pdf_fails_the_operation() -> None:
    with pytest.raises(OperationFailure) as caught:
        extract("application/pdf", b"%PDF-1.4 not really", "bad.pdf")
    assert caught.value.error["innererror"]["code"] == "InvalidContent"


@pytest.mark.parametrize(
    ("declared", "header", "label", "data", "expected"),
    [
        ("application/pdf", "text/plain", "x.txt", b"", "application/pdf"),
        (None, "text/html; charset=utf-8", "x", b"", "text/html"),
        (None, "application/octet-stream", "notes.md", b"", "text/markdown"),
        (None, None, "blob", b"%PDF-1.7", "application/pdf"),
        (None, None, "blob", b"plain words", "text/plain"),
        (None, None, "blob", b"\xff\xfe\x00binary", "application/octet-stream"),
    ],
)
def test_mime_type_detection(
    declared: str | None, header: str | None, label: str, data: bytes, expected: str
) -> None:
    assert detect_mime_type(declared, header, label, data) == expected


def test_fault_settings_are_validated_and_round_trip() -> None:
    faults = update_faults(Faults(), {"rate429": 0.5, "hangInputNames": ["a.pdf"]}, json_names=True)
    assert faults.rate_429 == 0.5
    assert faults.hang_input_names == {"a.pdf"}
    assert faults_to_json(faults)["hangInputNames"] == ["a.pdf"]
    with pytest.raises(ValueError, match="rate429"):
        update_faults(faults, {"rate429": 2}, json_names=True)
    with pytest.raises(ValueError, match="unknown fault setting"):
        update_faults(faults, {"colour": 1}, json_names=False)
