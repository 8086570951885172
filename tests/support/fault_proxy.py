"""A loopback HTTP reverse proxy that puts faults between the app and Azurite (or the CU emulator).

Like toxiproxy, but it understands HTTP, so a test can pick one request out of the traffic:

* ``hold(method, path_regex, body=regex)``: matching requests are parked (``Hold.arrived`` is set) until the
  test calls ``release(forward=True)`` (they go on to Azurite: the write lands, even if the client
  is gone by then) or ``release(forward=False)`` (the connection is dropped: the write never
  happened). This is how a test kills the app at an exact point, for example between Content
  Understanding accepting an analysis and the app recording it.
* ``go_down()`` / ``come_up()``: stop listening and cut every open connection (clients get
  "connection refused" or a reset, as in an outage), then listen again on the same port.

Requests and responses are forwarded byte for byte (headers included, so Shared Key signatures
stay valid, and Host, so that the CU emulator's Operation-Location points back at the proxy);
only hop-by-hop headers are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from tests.support.azurite import ACCOUNT_KEY, ACCOUNT_NAME

# RFC 9110 §7.6.1 connection-specific fields.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)


@dataclass
class Hold:
    """Requests matching ``method``, ``path`` and ``body`` (regexes searched in the URL path and
    the request body) wait here."""

    method: str
    path: re.Pattern[str]
    body: re.Pattern[bytes] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    paths: list[str] = field(default_factory=list)  # the held requests' paths, in arrival order
    _decision: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def matches(self, method: str, path: str, body: bytes) -> bool:
        return (
            not self._decision.done()
            and method == self.method
            and self.path.search(path) is not None
            and (self.body is None or self.body.search(body) is not None)
        )

    def release(self, *, forward: bool) -> None:
        """Let the held requests (and later matching ones) through, or drop them."""
        if not self._decision.done():
            self._decision.set_result(forward)

    async def wait(self) -> bool:
        return await asyncio.shield(self._decision)


@dataclass
class FaultProxy:
    upstream: str  # "http://127.0.0.1:<port>" of Azurite's blob service or the CU emulator
    port: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of every request
    holds: list[Hold] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def blob_endpoint(self) -> str:
        return f"{self.url}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        """A connection string for the Azurite account, with its blob endpoint behind this proxy."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    @property
    def is_up(self) -> bool:
        return self._runner is not None

    def hold(self, method: str, path: str, body: bytes | None = None) -> Hold:
        held = Hold(method, re.compile(path), None if body is None else re.compile(body))
        self.holds.append(held)
        return held

    def count(self, method: str, path: str) -> int:
        pattern = re.compile(path)
        return sum(1 for m, p in self.requests if m == method and pattern.search(p))

    async def come_up(self) -> None:
        if self._runner is not None:
            return
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        # A short shutdown: an outage cuts requests in flight instead of waiting for them.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def go_down(self) -> None:
        """Close the listening socket and every open connection, as a storage outage does."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def close(self) -> None:
        for held in self.holds:
            held.release(forward=False)
        await self.go_down()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        body = await request.read()
        held = next((h for h in self.holds if h.matches(request.method, request.path, body)), None)
        if held is not None:
            held.paths.append(request.path)
            held.arrived.set()
            if not await held.wait():
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=499)  # never reaches anyone: the connection is gone
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
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
        with contextlib.suppress(ConnectionError):  # the client may have died meanwhile
            await response.prepare(request)
            if payload and request.method != "HEAD":
                await response.write(payload)
            await response.write_eof()
        return response


@contextlib.asynccontextmanager
async def fault_proxy(upstream: str) -> AsyncIterator[FaultProxy]:
    """A proxy in front of ``upstream`` (``http://127.0.0.1:<port>``) on a free loopback port."""
    proxy = FaultProxy(upstream=upstream)
    await proxy.come_up()
    try:
        yield proxy
    finally:
        await proxy.close()
