"""A TLS endpoint standing in for Azure Storage that records the exact request paths it receives.

The storage client talks HTTPS to this proxy as it would to ``<account>.blob.core.windows.net``;
the proxy writes down each request's path as it arrived on the wire (``raw_path``, before any
server-side normalisation) and the blob a server-side copy names (``x-ms-copy-source``), then
forwards the request byte for byte to Azurite over HTTPS, so the storage conversation is real.

``remove_dot_segments`` is RFC 3986 §5.2.4: what a server (or any layer) that normalises paths
makes of a recorded path. A test decides from both forms which container a request reached.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from tests.support.tls import Certificate

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    raw_path: str  # as received, query string excluded
    copy_source: str | None  # the x-ms-copy-source header's URL path, for a server-side copy


@dataclass
class RecordingProxy:
    upstream: str  # https://127.0.0.1:<port> of Azurite's blob service
    certificate: Certificate
    port: int = 0
    requests: list[RecordedRequest] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(self.certificate.cert_path, self.certificate.key_path)
        client_tls = ssl.create_default_context(cafile=str(self.certificate.cert_path))
        self._session = aiohttp.ClientSession(
            auto_decompress=False, connector=aiohttp.TCPConnector(ssl=client_tls)
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=server_tls).start()
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        copy_source = request.headers.get("x-ms-copy-source")
        self.requests.append(
            RecordedRequest(
                request.method,
                request.raw_path.partition("?")[0],
                urlsplit(copy_source).path if copy_source else None,
            )
        )
        assert self._session is not None
        body = await request.read()
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP)
        async with self._session.request(
            request.method,
            URL(self.upstream + request.raw_path, encoded=True),
            headers=headers,
            data=body or None,
            skip_auto_headers=("Content-Type", "User-Agent", "Accept", "Accept-Encoding"),
            allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    response.headers.add(name, value)
        with contextlib.suppress(ConnectionError):
            await response.prepare(request)
            if payload and request.method != "HEAD":
                await response.write(payload)
            await response.write_eof()
        return response


@contextlib.asynccontextmanager
async def recording_proxy(upstream: str, certificate: Certificate) -> AsyncIterator[RecordingProxy]:
    proxy = RecordingProxy(upstream, certificate)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 on an absolute path."""
    output: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    trailing = path.endswith(("/.", "/..")) and output
    return "/" + "/".join(output) + ("/" if trailing else "")


def reached(raw_path: str) -> list[str]:
    """Every reading of ``raw_path`` a server might act on: as sent, percent-decoded (up to three
    times), each with its dot segments removed."""
    forms = [raw_path]
    for _ in range(3):
        forms.append(unquote(forms[-1]))
    return sorted({normalised for form in forms for normalised in (form, remove_dot_segments(form))})
