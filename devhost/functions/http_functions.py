"""`/api/{route}`: HTTP requests to HTTP-triggered functions, as `func.HttpRequest`.

Routes come from each function's `route` (default: its name) under host.json's `routePrefix`;
a method the function does not accept, or no matching route, is a 404 as on the Functions host.
Keys are checked only when enforced (`function` level: the function's key, the host key or the
master key; `admin`: the master key).

Limits as in Azure: a body over the host's limit (`FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`, default
104,857,600 bytes) gets an empty 413 and the function is never called (Kestrel's
MaxRequestBodySize; devhost reads and discards the rest of the body first, so that the client
sees the answer instead of a reset); a function that has not answered within 230 s (the load
balancer's idle timeout) leaves the client with an empty 504, while the function itself runs on
until `functionTimeout`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost.functions.app_loader import HTTP_TRIGGER, FunctionInfo, LoadedApp
from devhost.functions.invoke import Invoker
from devhost.functions.keys import HOST_DEFAULT, HostKeys
from devhost.functions.routes import RouteTemplate

log = logging.getLogger("devhost")


@dataclass(frozen=True)
class HttpRoute:
    function: FunctionInfo
    template: RouteTemplate
    methods: frozenset[str] | None  # None: every method
    auth_level: str


_READ_CHUNK = 1 << 20


class HttpFunctions:
    def __init__(
        self,
        app: LoadedApp,
        invoker: Invoker,
        route_prefix: str,
        keys: HostKeys | None,
        *,
        max_body_bytes: int,
        response_timeout: float,
    ) -> None:
        self._invoker = invoker
        self._prefix = "/" + route_prefix if route_prefix else ""
        self._keys = keys
        self._max_body_bytes = max_body_bytes
        self._response_timeout = response_timeout
        self._late: set[asyncio.Task[web.StreamResponse]] = set()  # functions that outlived their client
        routes = [_route(function) for function in app.by_trigger(HTTP_TRIGGER)]
        # Literal segments first (ASP.NET orders routes by specificity).
        self._routes = sorted(routes, key=lambda r: (-r.template.literal_segments, r.template.template))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._prefix and not request.path.lower().startswith(self._prefix.lower() + "/"):
            return web.Response(status=404)
        path = request.path[len(self._prefix) :]
        for route in self._routes:
            params = route.template.match(path)
            if params is None or (route.methods is not None and request.method not in route.methods):
                continue
            if not self._authorized(route, request):
                return web.Response(status=401)
            return await self._invoke(route, params, request)
        return web.Response(status=404)

    def _authorized(self, route: HttpRoute, request: web.Request) -> bool:
        if self._keys is None or route.auth_level == "ANONYMOUS":
            return True
        provided = request.query.get("code") or request.headers.get("x-functions-key")
        if route.auth_level == "ADMIN":
            return self._keys.accepts(provided)
        return self._keys.accepts(provided, f"function:{route.function.name}", HOST_DEFAULT)

    async def _invoke(
        self, route: HttpRoute, params: dict[str, str], request: web.Request
    ) -> web.StreamResponse:
        name = route.function.name
        invocation = uuid.uuid4()
        log.info(
            "Executing 'Functions.%s' (Reason='%s', Id=%s)",
            name,
            "This function was programmatically called via the host APIs.",
            invocation,
        )
        started = time.perf_counter()
        body = await read_body(request, self._max_body_bytes)
        if body is None:
            log.info("Request to 'Functions.%s' refused: body over %d bytes", name, self._max_body_bytes)
            return web.Response(status=413)
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params={key: request.query[key] for key in request.query},
            route_params=params,
            body=body,
        )
        del body
        call = asyncio.create_task(self._run(route.function, http_request, invocation, started))
        done, _ = await asyncio.wait({call}, timeout=self._response_timeout)
        if not done:
            log.error(
                "'Functions.%s' (Id=%s) did not answer within %g s: the client gets a gateway timeout",
                name,
                invocation,
                self._response_timeout,
            )
            self._late.add(call)
            call.add_done_callback(self._late.discard)
            return web.Response(status=504)
        return call.result()

    async def _run(
        self, function: FunctionInfo, http_request: func.HttpRequest, invocation: uuid.UUID, started: float
    ) -> web.StreamResponse:
        name = function.name
        try:
            returned = await self._invoker.call(function, http_request)
            response = _to_aiohttp(returned)
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed, Id=%s)", name, invocation)
            return web.Response(status=500)
        elapsed = round((time.perf_counter() - started) * 1000)
        log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%sms)", name, invocation, elapsed)
        return response

    async def close(self) -> None:
        """Cancel functions still running after their client was answered."""
        for task in list(self._late):
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it is over `limit` bytes (then read to its end and dropped).

    A declared Content-Length over the limit is refused without keeping a byte; a chunked body is
    refused as soon as it passes the limit.
    """
    declared = request.content_length
    refused = declared is not None and declared > limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_READ_CHUNK):
        if refused:
            continue
        size += len(chunk)
        if size > limit:
            refused, chunks = True, []
            continue
        chunks.append(chunk)
    return None if refused else b"".join(chunks)


@web.middleware
async def body_limit_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every route of the public site: a declared body over the limit gets the host's empty 413."""
    limit: int = request.app[MAX_BODY_KEY]
    if request.content_length is not None and request.content_length > limit:
        async for _ in request.content.iter_chunked(_READ_CHUNK):
            pass
        return web.Response(status=413)
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:  # a chunked body read with request.read()/json()
        return web.Response(status=413)


MAX_BODY_KEY = web.AppKey("max_body_bytes", int)


def _route(function: FunctionInfo) -> HttpRoute:
    trigger = function.trigger
    methods = trigger.get("methods")
    return HttpRoute(
        function=function,
        template=RouteTemplate.parse(trigger.get("route") or function.name),
        methods=None if not methods else frozenset(str(m).upper() for m in methods),
        auth_level=str(trigger.get("authLevel") or "FUNCTION").upper(),
    )


def _to_aiohttp(returned: Any) -> web.StreamResponse:
    if returned is None:
        return web.Response(status=204)
    if isinstance(returned, str):
        return web.Response(text=returned)
    if isinstance(returned, bytes | bytearray):
        return web.Response(body=bytes(returned), content_type="application/octet-stream")
    if not isinstance(returned, func.HttpResponse):
        raise TypeError(
            f"an HTTP function must return func.HttpResponse, str or bytes, not {type(returned).__name__}"
        )
    headers = dict(returned.headers.items())
    if not any(key.lower() == "content-type" for key in headers):
        headers["Content-Type"] = f"{returned.mimetype}; charset={returned.charset}"
    return web.Response(status=returned.status_code, body=returned.get_body(), headers=headers)
