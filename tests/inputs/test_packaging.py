"""The agentic package, built in memory and read back with pypdf: page order, the contents page,
text and Markdown set as pages, the outline, the limits, and parts that cannot go in."""

from __future__ import annotations

import io

import pypdf
import pytest

from core.content_types import MARKDOWN, PDF, TEXT
from core.errors import InputError
from inputs import text_pdf
from inputs.package import package_limits
from inputs.packaging import Package, PackageLimits, Part, build_package, contents_pages, count_pages
from samples.pdf import make_pdf

AGENTIC = package_limits("2026-06-01-preview")
UNLIMITED = PackageLimits(max_pages=None, max_bytes=None, what="nothing")


def pages_of(package: Package) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(package.data)).pages]


def pdf_part(name: str, pages: list[str], role: str = "input") -> Part:
    return Part(
        name=name,
        role="reference" if role == "reference" else "input",
        content_type=PDF,
        data=make_pdf([[text] for text in pages]),
    )


def test_the_limits_are_the_agentic_mode_s() -> None:
    assert (AGENTIC.max_pages, AGENTIC.max_bytes) == (300, 200_000_000)
    assert AGENTIC.what == "agentic mode (2026-06-01-preview)"


def test_parts_follow_the_contents_page_in_order_and_the_outline_names_them() -> None:
    parts = [
        pdf_part("invoice.pdf", ["INVOICE page one", "INVOICE page two"]),
        Part("terms.md", "input", MARKDOWN, b"# Terms\n\nNet 30\n"),
        pdf_part("contract.pdf", ["CONTRACT MSA-77"], role="reference"),
        Part("notes.txt", "reference", TEXT, b"Maximum amount: 1000\n"),
    ]

    package = build_package(parts, AGENTIC)

    texts = pages_of(package)
    assert package.pages == len(texts) == 6
    assert [(p.name, p.role, p.first_page, p.pages) for p in package.parts] == [
        ("invoice.pdf", "input", 2, 2),
        ("terms.md", "input", 4, 1),
        ("contract.pdf", "reference", 5, 1),
        ("notes.txt", "reference", 6, 1),
    ]
    contents = texts[0].splitlines()
    assert contents[0] == "Contents"
    assert "4 documents for one analysis: 2 to analyse, then 2 reference documents" in texts[0].replace(
        "\n", " "
    )
    assert contents[-4:] == [
        "1. invoice.pdf (document to analyse), pages 2-3",
        "2. terms.md (document to analyse), page 4",
        "3. contract.pdf (reference document), page 5",
        "4. notes.txt (reference document), page 6",
    ]
    assert ["INVOICE page one" in texts[1], "INVOICE page two" in texts[2]] == [True, True]
    assert texts[3].splitlines() == ["terms.md", "Terms", "Net 30"]  # its name as a heading, then the text
    assert "CONTRACT MSA-77" in texts[4]
    assert texts[5].splitlines() == ["notes.txt", "Maximum amount: 1000"]
    reader = pypdf.PdfReader(io.BytesIO(package.data))
    items = [item for item in reader.outline if isinstance(item, pypdf.generic.Destination)]
    outline = [(item.title, reader.get_destination_page_number(item)) for item in items]
    assert outline == [
        ("Contents", 0),
        ("invoice.pdf (document to analyse)", 1),
        ("terms.md (document to analyse)", 3),
        ("contract.pdf (reference document)", 4),
        ("notes.txt (reference document)", 5),
    ]


def test_count_pages_agrees_with_the_package() -> None:
    long_text = (
        "A line of plain text that is long enough to wrap across the page at least once. " * 3 + "\n"
    ) * 90
    parts = [Part("long.txt", "input", TEXT, long_text.encode()), pdf_part("two.pdf", ["a", "b"])]

    package = build_package(parts, AGENTIC)

    counted = [count_pages(part.content_type, part.data, part.name) for part in parts]
    assert [placed.pages for placed in package.parts] == counted
    assert counted[0] > 1  # the text really ran over several pages
    assert package.pages == contents_pages([p.name for p in parts], [p.role for p in parts], counted) + sum(
        counted
    )


def test_a_long_list_of_parts_gets_more_contents_pages_and_page_numbers_that_fit() -> None:
    parts = [Part(f"note-{index:03}.txt", "input", TEXT, b"x") for index in range(120)]

    package = build_package(parts, AGENTIC)

    texts = pages_of(package)
    first_part = package.parts[0].first_page
    assert first_part > 2  # the contents took more than one page
    assert all(
        "note-" not in line or "page" in line
        for text in texts[: first_part - 1]
        for line in text.splitlines()
    )
    assert texts[first_part - 1].splitlines()[0] == "note-000.txt"
    assert texts[-1].splitlines()[0] == "note-119.txt"
    assert package.pages == first_part - 1 + 120


def test_text_is_wrapped_to_the_page_and_long_words_are_broken() -> None:
    lines = text_pdf.wrap(f"short {'x' * 200} tail")
    assert lines == ["short", "x" * 100, "x" * 100, "tail"]  # x is 5 pt at 10 pt: 100 fit in 504 pt
    assert all(text_pdf.text_width(line, text_pdf.BODY_SIZE) <= 504 for line in lines)
    assert text_pdf.wrap("") == [""]
    assert text_pdf.wrap("    indented") == ["    indented"]


def test_markdown_is_rendered_lightly() -> None:
    lines = text_pdf.markdown_lines(
        "## Terms **agreed**\n- Net `30`\n  * [the contract](https://x.example/c)\nplain _kept_\n"
    )
    assert [(line.text, line.bold) for line in lines] == [
        ("Terms agreed", True),
        ("\u2022 Net 30", False),
        ("  \u2022 the contract (https://x.example/c)", False),
        ("plain _kept_", False),
        ("", False),
    ]


def test_characters_a_standard_font_cannot_set_become_question_marks_and_the_rest_survive() -> None:
    part = Part(
        "mixed.txt",
        "input",
        TEXT,
        "Caf\u00e9 \u2013 5 \u20ac \u2013 \u6771\u4eac\ttab\r\nnext\x07line".encode(),
    )

    (text,) = pages_of(build_package([part], UNLIMITED))[1:]

    assert text.splitlines() == [
        "mixed.txt",
        "Caf\u00e9 \u2013 5 \u20ac \u2013 ??    tab",
        "nextline",
    ]


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (PackageLimits(max_pages=3, max_bytes=None, what="agentic mode (v)"), "would have 4 pages"),
        (PackageLimits(max_pages=None, max_bytes=1000, what="agentic mode (v)"), "at most 1000 bytes"),
    ],
)
def test_a_package_over_its_limits_is_refused(limits: PackageLimits, message: str) -> None:
    parts = [pdf_part("a.pdf", ["1", "2", "3"])]

    with pytest.raises(InputError, match=message) as caught:
        build_package(parts, limits)

    assert caught.value.code == "PackageTooLarge"
    assert "agentic mode (v)" in caught.value.message


def test_the_page_limit_counts_the_contents_page() -> None:
    build_package([pdf_part("a.pdf", ["p"] * 299)], AGENTIC)
    with pytest.raises(InputError, match="would have 301 pages"):
        build_package([pdf_part("a.pdf", ["p"] * 300)], AGENTIC)


def test_parts_that_cannot_go_in_are_named() -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt("secret")
    encrypted = io.BytesIO()
    writer.write(encrypted)
    refusals = [
        (Part("locked.pdf", "input", PDF, encrypted.getvalue()), "UnpackageableInput", "encrypted"),
        (
            Part("broken.pdf", "input", PDF, b"%PDF-1.4\nnot really"),
            "UnpackageableInput",
            "not a readable PDF",
        ),
        (Part("photo.png", "input", "image/png", b"\x89PNG"), "UnsupportedContentType", "packages"),
    ]
    for part, code, words in refusals:
        with pytest.raises(InputError, match=words) as caught:
            build_package([part], AGENTIC)
        assert (caught.value.code, caught.value.input_name) == (code, part.name)
    with pytest.raises(InputError):
        build_package([], AGENTIC)
