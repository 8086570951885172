"""Downloading a user-supplied URL without letting it reach into our own network (SSRF).

A URL input is checked before anything is sent (``check_url_input``): ``https`` only, no
credentials in it, no query parameter known to carry a signature, token, key or code (a SAS, a
signed AWS or Google URL, a function key: ``core.redact.is_credential_parameter``; it would be
persisted in orchestration history with the job's input), and no private, loopback, link-local or
otherwise non-public address literal. Host names are checked where they are resolved: the
connection's resolver refuses a name that resolves to any such address, so the address checked is
the address connected to (no DNS-rebinding window). Redirects are followed by hand, at most
``MAX_REDIRECTS``, each hop checked the same way.

``ALLOW_LOCAL_URLS`` (development only) lifts the address and ``https`` rules so that tests and the
demo can serve files from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from core.errors import AppError, InputError, TransientError
from core.redact import display_url, is_credential_parameter

MAX_REDIRECTS = 5
MAX_URL_LENGTH = 4096
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class AddressNotAllowed(OSError):
    """A host name resolved to an address the app may not connect to."""


@dataclass
class UrlDownload:
    """An open response to a checked URL; read it with ``chunks()``."""

    url: str
    response: aiohttp.ClientResponse

    @property
    def content_length(self) -> int | None:
        return self.response.content_length

    async def chunks(self) -> AsyncIterator[bytes]:
        shown = display_url(self.url)
        while True:
            try:
                chunk = await self.response.content.readany()
            except (aiohttp.ClientError, TimeoutError) as error:
                raise _fetch_error(error, shown) from None
            if not chunk:
                return
            yield chunk


def check_url_input(url: str, *, allow_local: bool, redirect: bool = False) -> str:
    """``url`` if it may be fetched as an input, else ``InputError`` saying why.

    A ``redirect`` target is checked for where it leads, not for credentials: it is never stored,
    and servers commonly redirect downloads to short-lived signed URLs (a signed S3 URL).
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InputError(
            "A URL input must be a non-empty string of at most 4096 characters", code="InvalidUrl"
        )
    shown = display_url(url)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise InputError(f"URL {shown} is malformed", code="InvalidUrl", input_name=shown) from None
    allowed_schemes = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in allowed_schemes:
        raise InputError(f"URL {shown} must use https", code="UrlNotHttps", input_name=shown)
    if not host:
        raise InputError(f"URL {shown} has no host", code="InvalidUrl", input_name=shown)
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"URL {shown} must not carry credentials", code="UrlHasCredentials", input_name=shown
        )
    credentials = sorted(
        {name for name, _ in parse_qsl(parts.query, keep_blank_values=True) if is_credential_parameter(name)}
    )
    if credentials and not redirect:
        raise InputError(
            f"URL {shown} carries a credential ({', '.join(credentials)}), which would be stored in "
            "the job's history; upload the file instead",
            code="UrlHasSignature",
            input_name=shown,
        )
    literal = _ip_literal(host)
    if literal is not None and not allow_local and not address_allowed(literal):
        raise InputError(
            f"URL {shown} points at a non-public address", code="UrlNotAllowed", input_name=shown
        )
    return url


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a URL input may connect to ``address``: public unicast only."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@contextlib.asynccontextmanager
async def open_url(url: str, *, allow_local: bool) -> AsyncIterator[UrlDownload]:
    """GET ``url`` (checked, redirects followed) and yield the successful response."""
    check_url_input(url, allow_local=allow_local)
    connector = aiohttp.TCPConnector(resolver=_GuardedResolver(allow_local=allow_local))
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT, trust_env=False) as session:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            shown = display_url(current)
            try:
                response = await session.get(current, allow_redirects=False)
            except (aiohttp.ClientError, TimeoutError, ValueError) as error:
                raise _fetch_error(error, shown) from None
            async with response:
                location = response.headers.get("Location")
                if response.status in _REDIRECT_STATUSES and location:
                    current = check_url_input(
                        urljoin(current, location), allow_local=allow_local, redirect=True
                    )
                    continue
                _check_status(response.status, shown)
                yield UrlDownload(current, response)
                return
        raise InputError(
            f"URL {display_url(url)} redirects more than {MAX_REDIRECTS} times",
            code="TooManyRedirects",
            input_name=display_url(url),
        )


class _GuardedResolver(ThreadedResolver):
    """Resolves host names, refusing those with any address a URL input may not reach."""

    def __init__(self, *, allow_local: bool) -> None:
        super().__init__()
        self._allow_local = allow_local

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        if not self._allow_local:
            for result in results:
                if not address_allowed(ipaddress.ip_address(result["host"])):
                    raise AddressNotAllowed(f"{host} resolves to a non-public address")
        return results


def _check_status(status: int, shown: str) -> None:
    if status == 200:
        return
    if status in _TRANSIENT_STATUSES:
        raise TransientError(f"URL {shown} answered HTTP {status}; try again later", code="UrlUnavailable")
    code = {404: "UrlNotFound", 410: "UrlNotFound", 401: "UrlNotAccessible", 403: "UrlNotAccessible"}
    raise InputError(
        f"URL {shown} answered HTTP {status}", code=code.get(status, "UrlFailed"), input_name=shown
    )


def _fetch_error(error: Exception, shown: str) -> AppError:
    if isinstance(error, aiohttp.ClientConnectorDNSError) and isinstance(error.os_error, AddressNotAllowed):
        return InputError(
            f"URL {shown} resolves to a non-public address", code="UrlNotAllowed", input_name=shown
        )
    if isinstance(error, aiohttp.ClientSSLError):
        return InputError(
            f"URL {shown} has no trusted TLS certificate", code="UrlNotTrusted", input_name=shown
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        return InputError(f"URL {shown} is unreachable", code="UrlUnreachable", input_name=shown)
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return TransientError(f"URL {shown} timed out", code="UrlTimeout")
    if isinstance(error, aiohttp.InvalidURL | ValueError):
        return InputError(f"URL {shown} is malformed", code="InvalidUrl", input_name=shown)
    return TransientError(f"Reading URL {shown} failed ({type(error).__name__})", code="UrlConnectionFailed")


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
