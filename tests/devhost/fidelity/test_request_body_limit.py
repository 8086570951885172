"""Request bodies: over 104,857,600 bytes the host answers an empty 413 before the function runs.

Functions host: Kestrel's MaxRequestBodySize = ScriptConstants.DefaultMaxRequestBodySize
(src/WebJobs.Script/ScriptConstants.cs, set in src/WebJobs.Script.WebHost/Program.cs), changed by
the app setting FUNCTIONS_REQUEST_BODY_SIZE_LIMIT (Middleware/HttpRequestBodySizeMiddleware.cs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

LIMIT = 104_857_600


async def test_one_byte_over_the_limit_is_refused_before_the_function_runs(
    devhost_with: Callable[..., Any],
) -> None:
    async with devhost_with() as (host, http):
        response = await http.post("/api/body", content=b"x" * (LIMIT + 1))
        at_limit = await http.post("/api/body", content=b"x" * LIMIT)

        assert (response.status_code, response.content) == (413, b"")
        assert at_limit.status_code == 200
        assert at_limit.json() == {"bytes": LIMIT}
        assert host.app_module.CALLS["body_size"] == 1  # only the request at the limit ran it


async def test_the_app_setting_changes_the_limit_and_chunked_bodies_are_counted(
    devhost_with: Callable[..., Any],
) -> None:
    async def chunks(total: int) -> AsyncIterator[bytes]:
        for _ in range(total // 1000):
            yield b"y" * 1000

    async with devhost_with(FUNCTIONS_REQUEST_BODY_SIZE_LIMIT="10000") as (host, http):
        over = await http.post("/api/body", content=b"x" * 10_001)
        chunked_over = await http.post("/api/body", content=chunks(20_000))  # no Content-Length
        chunked_under = await http.post("/api/body", content=chunks(10_000))
        webhook = await http.post(
            "/runtime/webhooks/blobs?functionName=Host.Functions.intake", content=b"x" * 10_001
        )

        assert (over.status_code, over.content) == (413, b"")
        assert (chunked_over.status_code, chunked_over.content) == (413, b"")
        assert chunked_under.json() == {"bytes": 10_000}
        assert webhook.status_code == 413  # every route of the host, not only HTTP functions
        assert host.app_module.CALLS["body_size"] == 1
