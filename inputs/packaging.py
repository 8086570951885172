"""An agentic job's package: its documents in one PDF, behind a contents page that names each one.

Agentic mode takes one input file per request, which may hold several related documents
(reference notes, December 2026). The package is that file: page 1 (and more, if the list is
long) names every part in order, with its role (a document to analyse, or a reference document)
and its pages; then each part follows, a PDF as its own pages, plain text and Markdown set as
pages (``inputs.text_pdf``), under a heading with its name. The PDF's outline (bookmarks) names
each part too.

``build_package`` checks the result against the agentic mode's limits (one file of at most
200 MB and 300 pages): ``PackageTooLarge`` otherwise, an ``InputError``. ``count_pages`` gives a
part's page count without building anything, so that uploads can be checked before a job starts.
Pure (bytes in, bytes out): reading and writing blobs is ``inputs.package``'s.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pypdf
import pypdf.errors

from core.content_types import MARKDOWN, PACKAGE_PART_TYPES, PDF, TEXT
from core.errors import InputError
from inputs import text_pdf
from inputs.text_pdf import Line

PACKAGE_NAME = "package.pdf"
PACKAGE_TOO_LARGE = "PackageTooLarge"
ROLE_WORDS = {"input": "document to analyse", "reference": "reference document"}

Role = Literal["input", "reference"]


@dataclass(frozen=True)
class Part:
    """One document going into the package."""

    name: str
    role: Role
    content_type: str
    data: bytes


@dataclass(frozen=True)
class PlacedPart:
    """Where a part landed: pages ``first_page`` .. ``first_page + pages - 1`` (1-based)."""

    name: str
    role: Role
    first_page: int
    pages: int


@dataclass(frozen=True)
class Package:
    data: bytes
    pages: int
    parts: list[PlacedPart]


@dataclass(frozen=True)
class PackageLimits:
    max_pages: int | None
    max_bytes: int | None
    what: str  # whose limits, for messages: "agentic mode (2026-06-01-preview)"


def count_pages(content_type: str, data: bytes, name: str) -> int:
    """How many pages ``data`` takes in the package (``InputError`` if it cannot go in one)."""
    if content_type == PDF:
        return len(_read_pdf(data, name).pages)
    return len(text_pdf.paginate(_text_part_lines(name, content_type, data)))


def contents_pages(names: Sequence[str], roles: Sequence[Role], part_pages: Sequence[int]) -> int:
    """How many pages the contents take for these parts (so that the total can be checked early)."""
    pages = 1
    for _attempt in range(5):  # page numbers shift with the contents' own length; this settles fast
        placed = _place(names, roles, part_pages, pages)
        needed = len(text_pdf.paginate(_contents_lines(placed)))
        if needed == pages:
            break
        pages = needed
    return pages


def check_limits(pages: int, size: int | None, limits: PackageLimits) -> None:
    """``PackageTooLarge`` unless a package of ``pages`` pages (and ``size`` bytes) fits ``limits``."""
    if limits.max_pages is not None and pages > limits.max_pages:
        raise InputError(
            f"The package of this job's documents would have {pages} pages (a contents page included); "
            f"{limits.what} analyses one file of at most {limits.max_pages} pages",
            code=PACKAGE_TOO_LARGE,
        )
    if size is not None and limits.max_bytes is not None and size > limits.max_bytes:
        raise InputError(
            f"The package of this job's documents would be {size} bytes; "
            f"{limits.what} analyses one file of at most {limits.max_bytes} bytes",
            code=PACKAGE_TOO_LARGE,
        )


def build_package(parts: Sequence[Part], limits: PackageLimits) -> Package:
    """The package of ``parts``, in order; ``InputError`` if a part cannot go in or it is too large."""
    if not parts:
        raise InputError("Nothing to package", code="NoUsableInputs")
    rendered: list[pypdf.PdfReader] = []
    for part in parts:
        if part.content_type == PDF:
            rendered.append(_read_pdf(part.data, part.name))
        else:
            lines = _text_part_lines(part.name, part.content_type, part.data)
            rendered.append(pypdf.PdfReader(io.BytesIO(text_pdf.render(text_pdf.paginate(lines)))))
    part_pages = [len(reader.pages) for reader in rendered]
    names, roles = [part.name for part in parts], [part.role for part in parts]
    contents = contents_pages(names, roles, part_pages)
    placed = _place(names, roles, part_pages, contents)
    check_limits(contents + sum(part_pages), None, limits)  # before the (large) merge

    writer = pypdf.PdfWriter()
    contents_pdf = pypdf.PdfReader(io.BytesIO(text_pdf.render(text_pdf.paginate(_contents_lines(placed)))))
    writer.append(contents_pdf, outline_item="Contents", import_outline=False)
    for part, reader in zip(parts, rendered, strict=True):
        # Each part's own outline is left behind: the package's outline lists the parts.
        writer.append(reader, outline_item=f"{part.name} ({ROLE_WORDS[part.role]})", import_outline=False)
    writer.add_metadata({"/Title": "Documents packaged for one agentic analysis", "/Producer": "cu-pipeline"})
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()
    pages = contents + sum(part_pages)
    check_limits(pages, len(data), limits)
    return Package(data=data, pages=pages, parts=placed)


def _place(
    names: Sequence[str], roles: Sequence[Role], part_pages: Sequence[int], contents: int
) -> list[PlacedPart]:
    placed, next_page = [], contents + 1
    for name, role, pages in zip(names, roles, part_pages, strict=True):
        placed.append(PlacedPart(name=name, role=role, first_page=next_page, pages=pages))
        next_page += pages
    return placed


def _contents_lines(placed: Sequence[PlacedPart]) -> list[Line]:
    inputs = sum(1 for part in placed if part.role == "input")
    references = len(placed) - inputs
    lines = [
        Line("Contents", size=16.0, bold=True),
        Line(""),
        *(
            Line(piece)
            for piece in text_pdf.wrap(
                f"This file holds {_count(len(placed), 'document')} for one analysis: {inputs} to analyse"
                + (
                    f", then {_count(references, 'reference document')} to check them against"
                    if references
                    else ""
                )
                + ". Each starts on the page given."
            )
        ),
        Line(""),
    ]
    for number, part in enumerate(placed, start=1):
        span = (
            f"page {part.first_page}"
            if part.pages == 1
            else f"pages {part.first_page}-{part.first_page + part.pages - 1}"
        )
        lines.extend(
            Line(piece) for piece in text_pdf.wrap(f"{number}. {part.name} ({ROLE_WORDS[part.role]}), {span}")
        )
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _text_part_lines(name: str, content_type: str, data: bytes) -> list[Line]:
    """A text part's lines: its name as a heading (a PDF part brings its own), then its text."""
    if content_type not in PACKAGE_PART_TYPES or content_type == PDF:
        raise InputError(
            f"File {name!r} is {content_type}; an agentic job packages {', '.join(PACKAGE_PART_TYPES)} only",
            code="UnsupportedContentType",
            input_name=name,
        )
    text = data.decode("utf-8", errors="replace")
    body = text_pdf.markdown_lines(text) if content_type == MARKDOWN else text_pdf.plain_lines(text)
    return [Line(name, size=12.0, bold=True), Line(""), *body]


def _read_pdf(data: bytes, name: str) -> pypdf.PdfReader:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InputError(
                f"File {name!r} is an encrypted PDF; the package needs PDFs it can copy pages from",
                code="UnpackageableInput",
                input_name=name,
            )
        _ = len(reader.pages)
    except (pypdf.errors.PdfReadError, ValueError, KeyError) as error:
        raise InputError(
            f"File {name!r} is not a readable PDF ({type(error).__name__}: {error})",
            code="UnpackageableInput",
            input_name=name,
        ) from None
    return reader


__all__ = [
    "MARKDOWN",
    "PACKAGE_NAME",
    "PDF",
    "TEXT",
    "Package",
    "PackageLimits",
    "Part",
    "PlacedPart",
    "build_package",
    "check_limits",
    "contents_pages",
    "count_pages",
]
