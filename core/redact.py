"""Keep secrets out of messages and logs.

A SAS token lives in a URL's query string (``...?sv=...&sig=<signature>``), and a user-supplied URL
may carry other credentials there or in its user-info part. Anything that describes a URL to a
person (an error message, a log record) goes through ``display_url`` (no query at all) or
``redact_url`` (harmless parameters such as ``api-version`` kept, every other value replaced);
free text that may contain a URL goes through ``redact_text``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_DISPLAY_LENGTH = 200


def display_url(url: str) -> str:
    """``url`` without user-info, query string or fragment, shortened for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<malformed URL>"
    if ":" in host:  # an IPv6 literal needs its brackets back
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    shown = f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else parts.path
    return shorten(shown)


def shorten(text: str, limit: int = MAX_DISPLAY_LENGTH) -> str:
    """``text`` cut to ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


REDACTED = "REDACTED"

# Query parameters that are safe to show: CU's own, and the harmless blob ones. Every other
# parameter's value (sig, se, skoid, sktid, code, ...) is replaced, so an unknown SAS or
# token parameter is hidden by default rather than leaked by default.
_SAFE_QUERY_PARAMETERS = frozenset(
    {
        "api-version",
        "allowReplace",
        "stringEncoding",
        "processingLocation",
        "range",
        "comp",
        "restype",
        "prefix",
    }
)

# Query parameters that carry a credential, by name (compared case-insensitively, ``-`` and ``_``
# ignored): Azure SAS (sig), AWS and Google signed URLs (X-Amz-Signature, X-Goog-Credential, ...),
# Azure Functions keys (code), API keys and OAuth tokens. Names ending in one of the suffixes
# count too (sessiontoken, x-amz-security-token, client_secret, ...).
_CREDENTIAL_NAMES = frozenset(
    {
        "sig",
        "sas",
        "code",
        "key",
        "apikey",
        "subscriptionkey",
        "auth",
        "authorization",
        "pwd",
        "passwd",
        "jwt",
    }
)
_CREDENTIAL_SUFFIXES = ("signature", "token", "secret", "password", "credential", "credentials", "apikey")

_URL_IN_TEXT = re.compile(r"""https?://[^\s"'<>]+""")
# Catches a signature that appears outside a whole URL (a query string quoted on its own).
_SECRET_PARAMETER_IN_TEXT = re.compile(r"(?i)\b(sig|signature|code|key|token|access_token)=([^&\s\"'<>]+)")


def is_credential_parameter(name: str) -> bool:
    """Whether query parameter ``name`` is a known place for a signature, token, key or code."""
    folded = name.lower().replace("-", "").replace("_", "")
    return folded in _CREDENTIAL_NAMES or folded.endswith(_CREDENTIAL_SUFFIXES)


def redact_url(url: str) -> str:
    """``url`` with credentials removed: user info dropped, non-safe query values replaced.

    >>> redact_url("https://a.blob.core.windows.net/c/x.pdf?sv=2024-08-04&sig=abc")
    'https://a.blob.core.windows.net/c/x.pdf?sv=REDACTED&sig=REDACTED'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rpartition("@")[2]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode(
        [(name, value if name in _SAFE_QUERY_PARAMETERS else REDACTED) for name, value in pairs],
        safe="/:",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted, and any stray ``sig=...`` style secret hidden."""
    text = _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
    return _SECRET_PARAMETER_IN_TEXT.sub(lambda match: f"{match.group(1)}={REDACTED}", text)


def redact_json(value: Any) -> Any:
    """A JSON value with every string in it passed through ``redact_text`` (keys are kept)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_json(item) for key, item in value.items()}
    return value
