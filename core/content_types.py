"""What a file is (sniffed from its first bytes) and whether Content Understanding accepts it.

The bytes decide, not the client's ``Content-Type`` header or the extension alone: a renamed
``.exe`` must not reach the analyzer as a PDF. The extension only settles what the bytes cannot
(which Office format a ZIP is, Markdown versus plain text).

Which types CU accepts, and how large, depends on the API version and the analysis mode: the
limits are the API-version profiles' (``core/api_versions.py``), looked up here by version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from core.api_versions import FileLimits, get_profile
from core.errors import InputError
from core.media_types import (  # re-exported: callers name types as content_types.PDF
    BMP as BMP,
    DOCX as DOCX,
    EML as EML,
    HEIF as HEIF,
    HTML as HTML,
    JPEG as JPEG,
    MARKDOWN as MARKDOWN,
    MSG as MSG,
    OLE as OLE,
    PDF as PDF,
    PNG as PNG,
    PPTX as PPTX,
    RTF as RTF,
    TEXT as TEXT,
    TIFF as TIFF,
    XLSX as XLSX,
    XML as XML,
    ZIP as ZIP,
)
from core.redact import shorten

SNIFF_BYTES = 8192
"""How many leading bytes ``sniff_content_type`` needs to decide."""

PACKAGE_PART_TYPES = (PDF, TEXT, MARKDOWN)
"""What an agentic job packages into its one PDF (``inputs/packaging.py``): PDF pages are copied,
text and Markdown are set as pages."""
MAX_PACKAGED_TEXT_BYTES = 2_000_000
"""Text or Markdown beyond this cannot fit the package's page limit (300 pages hold about 1.5M
characters), so it is refused when it arrives rather than after it was set in pages."""

_OOXML_BY_EXTENSION = {"docx": DOCX, "xlsx": XLSX, "pptx": PPTX}
# The folder each Office format keeps its main part in, as found in the ZIP's local file headers.
_OOXML_BY_PART = ((b"word/", DOCX), (b"xl/", XLSX), (b"ppt/", PPTX))
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_MAIL_HEADER = re.compile(
    rb"^(from|to|subject|date|received|return-path|mime-version|message-id):", re.I | re.M
)


def sniff_content_type(head: bytes, name: str) -> str | None:
    """The MIME type of a file whose first bytes are ``head`` (``None`` when unrecognised).

    ``head`` should be the first ``SNIFF_BYTES`` bytes (or the whole file, if shorter).
    """
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    binary = _sniff_binary(head, extension)
    if binary is not None:
        return binary
    if head and _looks_like_text(head):
        return _text_subtype(head, extension)
    return None


def check_supported(
    content_type: str | None,
    size: int,
    api_version: str,
    *,
    mode: str | None = None,
    name: str | None = None,
    max_bytes: int | None = None,
) -> None:
    """Raise ``InputError`` unless CU ``api_version`` (in analysis ``mode``, if any) accepts this file.

    ``max_bytes`` is the app's own cap (``MAX_FILE_BYTES``), applied on top of CU's limits.
    """
    limit = size_limit(content_type, api_version, mode=mode, name=name, max_bytes=max_bytes)
    if size <= 0:
        raise InputError(f"{_label(name)} is empty", code="EmptyInput", input_name=name)
    if size > limit:
        raise too_large(name, limit)


def size_limit(
    content_type: str | None,
    api_version: str,
    *,
    mode: str | None = None,
    name: str | None = None,
    max_bytes: int | None = None,
) -> int:
    """The largest accepted size of a ``content_type`` file; ``InputError`` if the type is refused.

    ``mode`` names one of the version's analysis modes (``api_versions.PRO_MODE``); ``None`` is
    standard analysis. A version or mode the registry does not know raises ``PermanentError``.
    """
    limits: Mapping[str, int] = get_profile(api_version).file_limits(mode).max_bytes
    if content_type is None:
        raise InputError(
            f"{_label(name)} is not a file type Content Understanding can analyze (unrecognised content)",
            code="UnsupportedContentType",
            input_name=name,
        )
    if content_type not in limits:
        analysis = f"{mode} mode" if mode else f"API version {api_version}"
        raise InputError(
            f"{_label(name)} is {content_type}, which {analysis} does not accept "
            f"(accepted: {', '.join(sorted(limits))})",
            code="UnsupportedContentType",
            input_name=name,
        )
    limit = limits[content_type]
    return limit if max_bytes is None else min(limit, max_bytes)


def package_part_limit(
    content_type: str | None,
    api_version: str,
    mode: str,
    *,
    name: str | None = None,
    max_bytes: int | None = None,
) -> int:
    """The largest accepted size of a document that goes into a package for ``mode`` of ``api_version``.

    ``InputError`` if the type cannot be packaged. A PDF may be as large as the whole package may
    be; text and Markdown are bounded by ``MAX_PACKAGED_TEXT_BYTES``.
    """
    limits = get_profile(api_version).mode(mode).limits
    if content_type not in PACKAGE_PART_TYPES:
        what = "unrecognised content" if content_type is None else content_type
        raise InputError(
            f"{_label(name)} is {what}; an agentic job packages its documents into one PDF and "
            f"takes {', '.join(PACKAGE_PART_TYPES)}",
            code="UnsupportedContentType",
            input_name=name,
        )
    limit = package_bytes(limits) if content_type == PDF else MAX_PACKAGED_TEXT_BYTES
    return limit if max_bytes is None else min(limit, max_bytes)


def package_bytes(limits: FileLimits) -> int:
    """The largest one file an analysis mode takes (its request limit, else its largest PDF)."""
    return limits.max_request_bytes or limits.max_bytes.get(PDF, 0)


def too_large(name: str | None, limit: int) -> InputError:
    return InputError(
        f"{_label(name)} is larger than the limit of {limit} bytes", code="InputTooLarge", input_name=name
    )


def _label(name: str | None) -> str:
    return "The input" if name is None else f"File {shorten(repr(name), 120)}"


def _sniff_binary(head: bytes, extension: str) -> str | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if _is_bmp(head):
        return BMP
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIF
    if head.startswith(b"PK\x03\x04"):
        return _ooxml_type(head, extension)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return MSG if extension == "msg" else OLE
    if head.startswith(b"{\\rtf"):
        return RTF
    return None


def _is_bmp(head: bytes) -> bool:
    # "BM" alone would match any text starting with those letters; the DIB header size must fit too.
    return (
        len(head) >= 18
        and head.startswith(b"BM")
        and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES
    )


def _ooxml_type(head: bytes, extension: str) -> str:
    if extension in _OOXML_BY_EXTENSION:
        return _OOXML_BY_EXTENSION[extension]
    for part, content_type in _OOXML_BY_PART:
        if part in head:
            return content_type
    return ZIP


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may end in the middle of a multi-byte character; anything earlier is binary.
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls <= len(text) // 100


def _text_subtype(head: bytes, extension: str) -> str:
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:512].lower()
    if start.startswith((b"<!doctype html", b"<html")) or (
        extension in ("htm", "html") and b"<html" in start
    ):
        return HTML
    if start.startswith(b"<?xml") or (extension == "xml" and start.startswith(b"<")):
        return XML
    if extension == "eml" and _MAIL_HEADER.search(start):
        return EML
    if extension in ("md", "markdown"):
        return MARKDOWN
    return TEXT
