"""A small, strict ``multipart/form-data`` parser (RFC 7578) for request bodies already in memory.

The Functions host hands Python the whole request body, so parsing is a scan for the boundary;
parts are returned as ``memoryview`` slices of the body, without copying file contents.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from core.errors import InputError


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: memoryview


def boundary_of(content_type: str) -> str:
    """The ``boundary`` parameter of a multipart Content-Type header."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise InputError(
            "multipart/form-data requires a boundary parameter (1-70 characters)", code="BadMultipart"
        )
    return boundary


def parse_multipart(body: bytes, content_type: str, *, max_parts: int) -> list[Part]:
    """Split ``body`` into its parts; raise ``InputError`` for anything malformed."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    view = memoryview(body)
    start = body.find(delimiter)
    if start < 0:
        raise InputError("The multipart body does not contain its boundary", code="BadMultipart")
    parts: list[Part] = []
    position = start + len(delimiter)
    while True:
        if body[position : position + 2] == b"--":
            return parts  # the closing delimiter
        if body[position : position + 2] != b"\r\n":
            raise InputError(
                "Malformed multipart body: a boundary is not followed by CRLF", code="BadMultipart"
            )
        headers_end = body.find(b"\r\n\r\n", position + 2)
        if headers_end < 0:
            raise InputError("Malformed multipart body: a part has no header end", code="BadMultipart")
        next_delimiter = body.find(b"\r\n" + delimiter, headers_end + 4)
        if next_delimiter < 0:
            raise InputError(
                "Malformed multipart body: it is truncated (no closing boundary)", code="BadMultipart"
            )
        if len(parts) >= max_parts:
            raise InputError(
                f"Too many parts in the multipart body (at most {max_parts})", code="TooManyParts"
            )
        parts.append(_part(body[position + 2 : headers_end], view[headers_end + 4 : next_delimiter]))
        position = next_delimiter + 2 + len(delimiter)


def _part(raw_headers: bytes, data: memoryview) -> Part:
    headers = Message()
    for line in raw_headers.decode("utf-8", errors="replace").split("\r\n"):
        header, separator, value = line.partition(":")
        if not separator:
            raise InputError("Malformed multipart body: a part header has no colon", code="BadMultipart")
        headers[header.strip()] = value.strip()
    if headers.get_content_disposition() != "form-data":
        raise InputError("Every multipart part needs Content-Disposition: form-data", code="BadMultipart")
    name = headers.get_param("name", header="content-disposition")
    if not isinstance(name, str) or not name:
        raise InputError("A multipart part has no name", code="BadMultipart")
    content_type = headers.get("content-type")
    return Part(name=name, filename=headers.get_filename(), content_type=content_type, data=data)
