from __future__ import annotations

import pytest

from api.multipart import parse_multipart
from core.errors import InputError

CT = "multipart/form-data; boundary=XyZ"


def body(*parts: bytes) -> bytes:
    return b"".join(b"--XyZ\r\n" + part + b"\r\n" for part in parts) + b"--XyZ--\r\n"


def test_parses_files_and_fields_without_copying() -> None:
    raw = body(
        b'Content-Disposition: form-data; name="request"\r\n'
        b'Content-Type: application/json\r\n\r\n{"mode": "combined"}',
        b'Content-Disposition: form-data; name="files"; filename="a.pdf"\r\n\r\n%PDF-1.4\r\n--not-a-boundary',
        b"Content-Disposition: form-data; name=\"files\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt\r\n\r\n",
    )
    request, first, second = parse_multipart(raw, CT, max_parts=5)
    assert (request.name, request.filename, bytes(request.data)) == ("request", None, b'{"mode": "combined"}')
    assert request.content_type == "application/json"
    assert (first.name, first.filename, bytes(first.data)) == (
        "files",
        "a.pdf",
        b"%PDF-1.4\r\n--not-a-boundary",
    )
    assert isinstance(first.data, memoryview)
    assert (second.filename, bytes(second.data)) == ("résumé.txt", b"")


def test_a_quoted_boundary_is_understood() -> None:
    raw = b'--a b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--a b--'
    (part,) = parse_multipart(raw, 'multipart/form-data; boundary="a b"', max_parts=1)
    assert bytes(part.data) == b"1"


@pytest.mark.parametrize(
    ("raw", "content_type", "fragment"),
    [
        (b"whatever", "multipart/form-data", "boundary"),
        (b"no boundary here", CT, "does not contain"),
        (b'--XyZ\r\nContent-Disposition: form-data; name="x"\r\n\r\nunterminated', CT, "truncated"),
        (b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--", CT, "no name"),
        (b'--XyZ\r\nContent-Disposition: attachment; name="x"\r\n\r\nx\r\n--XyZ--', CT, "form-data"),
        (b"--XyZ\r\nbroken header\r\n\r\nx\r\n--XyZ--", CT, "colon"),
        (b'--XyZ junk\r\nContent-Disposition: form-data; name="x"\r\n\r\nx\r\n--XyZ--', CT, "CRLF"),
    ],
)
def test_malformed_bodies_are_input_errors(raw: bytes, content_type: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        parse_multipart(raw, content_type, max_parts=5)


def test_too_many_parts() -> None:
    part = b'Content-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nx'
    with pytest.raises(InputError, match="at most 2") as caught:
        parse_multipart(body(part, part, part), CT, max_parts=2)
    assert caught.value.code == "TooManyParts"
