"""Plain text and Markdown set as PDF pages: a small writer of our own, for the agentic package.

Why our own: the package needs nothing more than lines of text on Letter pages with a real text
layer (Content Understanding reads it as it reads any digital PDF), and the standard 14 fonts do
that without embedding a font. A PDF library that lays out text (fpdf2, reportlab) would bring
images, fonts and a larger surface into the deployed app for these ~150 lines; pypdf, which
merges the pages, cannot write text.

What it does: Helvetica (Helvetica-Bold for Markdown headings), WinAnsiEncoding, words wrapped to
the page width by the fonts' published widths (the Adobe AFM metrics of the standard 14 fonts),
long words broken, tabs as four spaces. Markdown is rendered lightly: ``#`` headings in bold,
list bullets as bullets, ``**``/``__``/backticks dropped, ``[text](url)`` as ``text (url)``;
everything else stays as written. Characters outside Windows-1252 cannot be set in a standard
font and come out as ``?`` (a limit worth knowing: such text is better sent as a PDF).

``layout`` computes the lines and pages without writing anything, so that the request handler
can count a text file's pages before a job starts; ``render`` writes them. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
MARGIN = 54
BODY_SIZE, BODY_LEADING = 10, 13
_TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
_TEXT_HEIGHT = PAGE_HEIGHT - 2 * MARGIN
ENCODING = "cp1252"  # what WinAnsiEncoding means to a PDF reader

# Helvetica's advance widths (1/1000 em) for ASCII 32..126, from its Adobe AFM file.
_HELVETICA_ASCII = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)  # fmt: skip
_WIDEST = 1015  # any other character is measured as the widest one: a line may fall short, never over
BOLD_FACTOR = 1.1  # Helvetica-Bold is at most about 10 % wider than Helvetica, glyph by glyph


@dataclass(frozen=True)
class Line:
    text: str
    size: float = BODY_SIZE
    bold: bool = False
    space_before: float = 0.0  # extra points above the line (headings)

    @property
    def leading(self) -> float:
        return self.size * BODY_LEADING / BODY_SIZE + self.space_before


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """How wide ``text`` is set in Helvetica (or, conservatively, Helvetica-Bold), in points."""
    units = sum(_HELVETICA_ASCII[ord(ch) - 32] if 32 <= ord(ch) <= 126 else _WIDEST for ch in text)
    return units * size / 1000 * (BOLD_FACTOR if bold else 1.0)


def wrap(text: str, size: float = BODY_SIZE, *, bold: bool = False, width: float = _TEXT_WIDTH) -> list[str]:
    """``text`` broken into lines no wider than ``width``: at spaces, or inside a word too long for one.

    Spaces inside a line are kept as written (indentation too); a break replaces one space.
    """
    if not text.strip():
        return [""]
    space = text_width(" ", size, bold=bold)
    lines: list[str] = []
    current: str | None = None  # None: the line has nothing yet, not even an empty word
    used = 0.0
    for word in text.split(" "):
        word_width = text_width(word, size, bold=bold)
        if current is not None and used + space + word_width <= width:
            current, used = f"{current} {word}", used + space + word_width
            continue
        if current is not None:
            lines.append(current)
        while word_width > width:  # a word wider than the page: break it
            cut = max(1, _fits(word, size, bold, width))
            lines.append(word[:cut])
            word = word[cut:]
            word_width = text_width(word, size, bold=bold)
        current, used = word, word_width
    lines.append(current or "")
    return lines


def _fits(word: str, size: float, bold: bool, width: float) -> int:
    """How many leading characters of ``word`` fit in ``width``."""
    used = 0.0
    for count, ch in enumerate(word):
        used += text_width(ch, size, bold=bold)
        if used > width:
            return count
    return len(word)


def plain_lines(text: str) -> list[Line]:
    """Plain text as lines on the page: each source line wrapped, blank lines kept."""
    return [Line(piece) for raw in _source_lines(text) for piece in wrap(raw)]


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_HEADING_SIZES = {1: 16.0, 2: 14.0, 3: 12.0}


def markdown_lines(text: str) -> list[Line]:
    """Markdown as lines on the page: headings in bold, bullets as bullets, inline markers dropped."""
    lines: list[Line] = []
    for raw in _source_lines(text):
        heading = _HEADING.match(raw)
        if heading:
            size = _HEADING_SIZES.get(len(heading.group(1)), BODY_SIZE + 1)
            first = True
            for piece in wrap(_inline(heading.group(2)), size, bold=True):
                lines.append(Line(piece, size=size, bold=True, space_before=size * 0.5 if first else 0.0))
                first = False
            continue
        bullet = _BULLET.match(raw)
        if bullet:
            indent = " " * (len(bullet.group(1)) + 2)
            pieces = wrap(f"{bullet.group(1)}\u2022 {_inline(bullet.group(2))}")
            lines.extend(Line(piece if i == 0 else indent + piece) for i, piece in enumerate(pieces))
            continue
        lines.extend(Line(piece) for piece in wrap(_inline(raw)))
    return lines


def _inline(text: str) -> str:
    text = _LINK.sub(
        lambda match: f"{match.group(1)} ({match.group(2)})" if match.group(2) else match.group(1), text
    )
    return text.replace("**", "").replace("__", "").replace("`", "")


def _source_lines(text: str) -> list[str]:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    cleaned = "".join(ch for ch in text if ch == "\n" or ord(ch) >= 32)
    return cleaned.split("\n")


def paginate(lines: list[Line]) -> list[list[Line]]:
    """The lines, page by page (at least one page, even for no text)."""
    pages: list[list[Line]] = [[]]
    used = 0.0
    for line in lines:
        if pages[-1] and used + line.leading > _TEXT_HEIGHT:
            pages.append([])
            used = 0.0
        pages[-1].append(line)
        used += line.leading
    return pages


def render(pages: list[list[Line]]) -> bytes:
    """A PDF with these pages: every line set from the top margin down, in Helvetica(-Bold)."""
    page_count = len(pages)
    # Objects: 1 catalog, 2 page tree, 3 Helvetica, 4 Helvetica-Bold, then (page, content) per page.
    page_ids = [5 + 2 * index for index in range(page_count)]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (" ".join(f"{page_id} 0 R" for page_id in page_ids).encode(), page_count),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    }
    for page_id, lines in zip(page_ids, pages, strict=True):
        stream = _content_stream(lines)
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>" % (PAGE_WIDTH, PAGE_HEIGHT, page_id + 1)
        )
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offsets[number] for number in sorted(objects))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _content_stream(lines: list[Line]) -> bytes:
    parts = [b"BT"]
    y = float(PAGE_HEIGHT - MARGIN)
    for line in lines:
        y -= line.leading
        font = b"/F2" if line.bold else b"/F1"
        parts.append(
            b"%s %.1f Tf 1 0 0 1 %d %.1f Tm (%s) Tj" % (font, line.size, MARGIN, y, _pdf_string(line.text))
        )
    parts.append(b"ET")
    return b"\n".join(parts)


def _pdf_string(text: str) -> bytes:
    encoded = text.encode(ENCODING, errors="replace")
    return encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
