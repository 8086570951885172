"""A real HTTP server on 127.0.0.1 serving test files, redirects and failures (aiohttp.web)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class FileServer:
    """Serves ``files[path]`` at ``{base_url}/files/{path}``; see ``_routes`` for the rest."""

    base_url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    latency: float = 0.0  # seconds before each file response, like a remote server's

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"


@contextlib.asynccontextmanager
async def file_server() -> AsyncIterator[FileServer]:
    """Run a ``FileServer`` on a free loopback port until the context exits."""
    server = FileServer()
    app = web.Application()
    app.add_routes(_routes(server))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.base_url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def _routes(server: FileServer) -> list[web.RouteDef]:
    async def get_file(request: web.Request) -> web.StreamResponse:
        server.requests.append(request.path_qs)
        data = server.files.get(request.match_info["path"])
        await asyncio.sleep(server.latency)
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="application/octet-stream")

    async def redirect(request: web.Request) -> web.StreamResponse:
        # /redirect/{hops}/{path}: redirect ``hops`` times, then to /files/{path}
        server.requests.append(request.path_qs)
        hops = int(request.match_info["hops"])
        path = request.match_info["path"]
        target = f"/redirect/{hops - 1}/{path}" if hops > 1 else f"/files/{path}"
        raise web.HTTPFound(target)

    async def status(request: web.Request) -> web.StreamResponse:
        server.requests.append(request.path_qs)
        return web.Response(status=int(request.match_info["code"]), text="no")

    async def endless(request: web.Request) -> web.StreamResponse:
        # A PDF that never ends and declares no length: only counting while reading stops it.
        server.requests.append(request.path_qs)
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"%PDF-1.4\n")
        with contextlib.suppress(ConnectionError):
            for _ in range(10_000):
                await response.write(b"x" * 65536)
        return response

    return [
        web.get("/files/{path:.+}", get_file),
        web.get("/redirect/{hops:\\d+}/{path:.+}", redirect),
        web.get("/status/{code:\\d+}", status),
        web.get("/endless.pdf", endless),
    ]
