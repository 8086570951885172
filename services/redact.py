"""Keep secrets out of messages and logs: URLs are shown without their query string.

A SAS token lives in a URL's query string (``...?sv=...&sig=<signature>``), and a user-supplied URL
may carry other credentials there or in its user-info part. Anything that describes a URL to a
person (an error message, a log record) goes through ``display_url`` first; free text that may
contain a URL goes through ``redact_text``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_DISPLAY_LENGTH = 200

# A query string (or fragment) following an http(s) URL, up to the next white space or quote.
_URL_QUERY = re.compile(r"(https?://[^\s?#\"'<>]*)[?#][^\s\"'<>]*", re.IGNORECASE)
# A bare signature parameter, in case a query string appears without its URL.
_SIGNATURE = re.compile(r"(\bsig=)[^&\s\"'<>]+", re.IGNORECASE)


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


def redact_text(text: str) -> str:
    """``text`` with the query string of every URL in it, and any ``sig=`` value, removed."""
    return _SIGNATURE.sub(r"\1REDACTED", _URL_QUERY.sub(r"\1?REDACTED", text))


def shorten(text: str, limit: int = MAX_DISPLAY_LENGTH) -> str:
    """``text`` cut to ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
