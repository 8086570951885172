"""Reading inputs like the service: fetch the URL (a SAS URL fails as in Azure), detect the type,
and turn the text layer into markdown (plain text, Markdown, HTML, PDF via pypdf)."""

from __future__ import annotations

import io
import ipaddress
import mimetypes
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pypdf
import pypdf.errors

from emulators.content_understanding.errors import OperationFailure

PAGE_BREAK = "\n<!-- PageBreak -->\n"  # how CU separates pages in markdown
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/html"})
# Limits of service-limits.md: text-like files 1 MB, others 200 MB.
TEXT_LIMIT_BYTES = 1024 * 1024
FILE_LIMIT_BYTES = 200 * 1024 * 1024
MAX_PAGES = 300  # pdf/tiff pages per analysis
PAGE_LIMIT_CODE = "InputExceededLimit"  # the code of Azure's truncation warning (2026-06-01-preview example)
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=60)
FETCH_ATTEMPTS = 3  # a connection that drops is tried again (an HTTP answer, even an error, is final)

_EXTENSIONS = {".md": "text/markdown", ".markdown": "text/markdown", ".heif": "image/heif"}
_MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
          (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"), (b"BM", "image/bmp"))  # fmt: skip


@dataclass
class Extracted:
    """A document's markdown, split into pages, and anything the emulator could not do with it."""

    mime_type: str
    pages: list[str]
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        return PAGE_BREAK.join(self.pages)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def fetch(
    session: aiohttp.ClientSession, url: str, what: str, *, allow_remote: bool, inner_code: str
) -> tuple[bytes, str | None]:
    """The body and Content-Type at ``url``; anything but 200 fails the operation (``inner_code``)."""
    host = urlsplit(url).hostname or ""
    if not allow_remote and not _is_loopback(host):
        raise OperationFailure(
            inner_code,
            f"Could not read {what}: the emulator fetches only loopback URLs (see --allow-remote-urls).",
        )
    for attempt in range(1, FETCH_ATTEMPTS + 1):
        try:
            return await _get(session, url, what, inner_code)
        except aiohttp.ClientConnectionError as error:
            # A dropped or refused connection is tried again, as any Azure service's storage client
            # does (the Azure SDKs' default policy retries connection errors); an answer is final.
            if attempt == FETCH_ATTEMPTS:
                raise _unreadable(what, url, inner_code, error) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _unreadable(what, url, inner_code, error) from None
    raise AssertionError("unreachable")


async def _get(
    session: aiohttp.ClientSession, url: str, what: str, inner_code: str
) -> tuple[bytes, str | None]:
    async with session.get(url, allow_redirects=False, timeout=FETCH_TIMEOUT) as response:
        if response.status != 200:
            raise OperationFailure(
                inner_code, f"Could not read {what} from {_without_query(url)}: HTTP {response.status}."
            )
        # StreamReader.read(n) returns what is buffered (at most n), not n bytes: read to the end,
        # stopping one byte past the limit (the caller refuses what is over it).
        data = bytearray()
        async for chunk in response.content.iter_chunked(1 << 20):
            data += chunk
            if len(data) > FILE_LIMIT_BYTES:
                break
        return bytes(data), response.headers.get("Content-Type")


def _unreadable(what: str, url: str, inner_code: str, error: BaseException) -> OperationFailure:
    return OperationFailure(
        inner_code, f"Could not read {what} from {_without_query(url)}: {type(error).__name__}."
    )


def detect_mime_type(declared: str | None, header: str | None, label: str, data: bytes) -> str:
    """The declared type, else a specific Content-Type, else the file extension, else the bytes."""
    for candidate in (declared, header):
        if candidate:
            value = candidate.split(";")[0].strip().lower()
            if value and value not in ("application/octet-stream", "binary/octet-stream"):
                return value
    extension = "." + label.rpartition(".")[2].lower() if "." in label else ""
    guessed = _EXTENSIONS.get(extension) or mimetypes.types_map.get(extension)
    if guessed:
        return guessed
    for magic, mime_type in _MAGIC:
        if data.startswith(magic):
            return mime_type
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def check_size(mime_type: str, data: bytes, label: str) -> None:
    limit = TEXT_LIMIT_BYTES if mime_type in TEXT_TYPES else FILE_LIMIT_BYTES
    if len(data) > limit:
        raise OperationFailure(
            "InvalidContentLength",
            f"Input '{label}' is larger than {limit} bytes, the limit for {mime_type}.",
        )


def extract(mime_type: str, data: bytes, label: str) -> Extracted:
    """The text layer as markdown. Types without one give no markdown and a warning."""
    if mime_type in ("text/plain", "text/markdown"):
        return Extracted(mime_type, [_decode(data)])
    if mime_type == "text/html":
        return Extracted(mime_type, [_html_to_markdown(_decode(data))])
    if mime_type == "application/pdf":
        return Extracted(mime_type, _pdf_pages(data, label))
    warning = {
        "code": "EmulatorUnsupportedContent",
        "message": f"The emulator reads no text from {mime_type} ('{label}'): its markdown is empty.",
    }
    return Extracted(mime_type, [""], [warning])


def _decode(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")


def _pdf_pages(data: bytes, label: str) -> list[str]:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if len(reader.pages) > MAX_PAGES:
            raise OperationFailure(
                PAGE_LIMIT_CODE, f"Input '{label}' has {len(reader.pages)} pages; the limit is {MAX_PAGES}."
            )
        return [page.extract_text().strip() for page in reader.pages] or [""]
    except (pypdf.errors.PdfReadError, ValueError) as error:
        raise OperationFailure(
            "InvalidContent", f"Input '{label}' is not a readable PDF ({error})."
        ) from None


class _HtmlText(HTMLParser):
    """Collects an HTML page's text, one line per block, ``#`` before headings."""

    _BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "table", "section", "article", "header", "footer", "ul", "ol"}
    )
    _SKIPPED = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._skipping = 0

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.lines.append(text)
        self._current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        elif tag in self._BLOCKS or (len(tag) == 2 and tag[0] == "h" and tag[1].isdigit()):
            self._flush()
            if tag[0] == "h" and tag[1:].isdigit():
                self._current.append("#" * int(tag[1]) + " ")
            elif tag == "li":
                self._current.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS or (len(tag) == 2 and tag[0] == "h" and tag[1].isdigit()):
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(data)


def _html_to_markdown(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    parser._flush()
    return "\n\n".join(parser.lines)


def _without_query(url: str) -> str:
    """The URL as the service would name it in an error: no query string, so no SAS signature."""
    return url.split("?", 1)[0].split("#", 1)[0]
