"""Checking a user-delegation SAS signature independently of the SDK that made it.

The string-to-sign follows the layout of a user-delegation SAS ("Create a user delegation SAS",
Storage REST reference). ``with_request_fields`` adds the two lines for signed request headers and
query parameters: the layout azure-storage-blob 12.31 signs (version 2026-10-06) has them, the newest
layout Azurite 3.35.0 knows (2025-07-05) does not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

_KEY_FIELDS = ("skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid", "skdutid", "sduoid")
_RESPONSE_FIELDS = ("rscc", "rscd", "rsce", "rscl", "rsct")


def sas_fields(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def string_to_sign(url: str, *, with_request_fields: bool) -> str:
    fields = sas_fields(url)
    parts = urlsplit(url)
    account, _, path = unquote(parts.path).lstrip("/").partition("/")
    lines = [
        fields.get("sp", ""),
        fields.get("st", ""),
        fields.get("se", ""),
        f"/blob/{account}/{path}",
        *(fields.get(name, "") for name in _KEY_FIELDS),
        fields.get("sip", ""),
        fields.get("spr", ""),
        fields.get("sv", ""),
        fields.get("sr", ""),
        fields.get("sst", ""),  # snapshot time
        fields.get("ses", ""),
    ]
    if with_request_fields:
        lines += [fields.get("srh", ""), fields.get("srq", "")]
    lines += [fields.get(name, "") for name in _RESPONSE_FIELDS]
    return "\n".join(lines)


def signature(key_value: str, text: str) -> str:
    return base64.b64encode(
        hmac.new(base64.b64decode(key_value), text.encode(), hashlib.sha256).digest()
    ).decode()


def resigned(url: str, key_value: str, *, with_request_fields: bool) -> str:
    """``url`` with its signature recomputed for the chosen string-to-sign layout."""
    fields = sas_fields(url)
    fields["sig"] = signature(key_value, string_to_sign(url, with_request_fields=with_request_fields))
    return f"{url.split('?', 1)[0]}?{urlencode(fields)}"
