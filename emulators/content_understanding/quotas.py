"""The resource's per-minute quotas, enforced: a call beyond them gets 429 with ``Retry-After``.

A Content Understanding resource allows so many operations and pages a minute (S0: 3,000 and
1,000, the service-limits page). The emulator has no quota unless a test sets one through
``POST /_emulator/quotas`` (``{"operationsPerMinute": 600, "pagesPerMinute": 0}``; 0 is none);
``GET /_emulator/quotas`` reports the settings and what was counted and refused.

- An **operation** is every authenticated request to the service API (starting an analysis,
  polling one, analyzer calls): the documentation does not say which count, so all do.
- **Pages** are counted when an analysis starts, one per input of the request (the emulator does
  not count a document's pages).
- The window is the last 60 seconds, sliding. A refused request counts for nothing; its
  ``Retry-After`` says when the oldest counted call leaves the window (whole seconds, rounded up,
  as Azure sends them).

Installed by ``install(app)``, a middleware inside the service middleware (after the key check).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulators.content_understanding.errors import ServiceError
from emulators.content_understanding.protocol import BASE

WINDOW_SECONDS = 60.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Quotas:
    operations_per_minute: int = 0
    pages_per_minute: int = 0
    operations: deque[float] = field(default_factory=deque)  # when each counted call was accepted
    pages: deque[tuple[float, int]] = field(default_factory=deque)
    refused: int = 0
    counted: int = 0

    def admit(self, now: float, pages: int) -> float | None:
        """Count a call with ``pages`` pages; or, if it is over a quota, the seconds to wait."""
        self._forget(now)
        waits = []
        if self.operations_per_minute and len(self.operations) >= self.operations_per_minute:
            waits.append(self.operations[0] + WINDOW_SECONDS - now)
        if self.pages_per_minute and pages and self._pages() + pages > self.pages_per_minute:
            waits.append(self._page_wait(now, pages))
        if waits:
            self.refused += 1
            return max(max(waits), 0.001)
        self.operations.append(now)
        if pages:
            self.pages.append((now, pages))
        self.counted += 1
        return None

    def configure(self, operations_per_minute: int, pages_per_minute: int) -> None:
        """New limits, and a fresh window and counts."""
        self.operations_per_minute, self.pages_per_minute = operations_per_minute, pages_per_minute
        self.operations.clear()
        self.pages.clear()
        self.refused = self.counted = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "operationsPerMinute": self.operations_per_minute,
            "pagesPerMinute": self.pages_per_minute,
            "counted": self.counted,
            "refused": self.refused,
        }

    def _forget(self, now: float) -> None:
        while self.operations and self.operations[0] <= now - WINDOW_SECONDS:
            self.operations.popleft()
        while self.pages and self.pages[0][0] <= now - WINDOW_SECONDS:
            self.pages.popleft()

    def _pages(self) -> int:
        return sum(count for _, count in self.pages)

    def _page_wait(self, now: float, pages: int) -> float:
        """Until enough pages have left the window for ``pages`` more."""
        excess = self._pages() + pages - self.pages_per_minute
        for at, count in self.pages:
            excess -= count
            if excess <= 0:
                return at + WINDOW_SECONDS - now
        return WINDOW_SECONDS


QUOTAS = web.AppKey("quotas", Quotas)


def install(app: web.Application) -> None:
    """Enforce the quotas on ``app`` (none until a test sets them) and serve their test API."""
    app[QUOTAS] = Quotas()
    app.middlewares.append(quota_middleware)
    app.router.add_get("/_emulator/quotas", _get)
    app.router.add_post("/_emulator/quotas", _set)


@web.middleware
async def quota_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    quotas = request.app[QUOTAS]
    if request.path.startswith(BASE + "/") and (quotas.operations_per_minute or quotas.pages_per_minute):
        wait = quotas.admit(time.time(), await _pages(request))
        if wait is not None:
            retry = str(math.ceil(wait))
            raise ServiceError(
                429,
                "429",
                f"Rate limit is exceeded. Try again in {retry} seconds.",
                headers={"Retry-After": retry},
            )
    return await handler(request)


async def _pages(request: web.Request) -> int:
    if request.method != "POST" or not request.path.endswith(":analyze"):
        return 0
    try:
        body = await request.json()
    except ValueError:
        return 1
    inputs = body.get("inputs") if isinstance(body, dict) else None
    return len(inputs) if isinstance(inputs, list) and inputs else 1


async def _get(request: web.Request) -> web.Response:
    return web.json_response(request.app[QUOTAS].to_json())


async def _set(request: web.Request) -> web.Response:
    body = await request.json()
    values = {}
    for name in ("operationsPerMinute", "pagesPerMinute"):
        value = body.get(name, 0) if isinstance(body, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise web.HTTPBadRequest(text=f"{name} must be a whole number from 0")
        values[name] = value
    quotas = request.app[QUOTAS]
    quotas.configure(values["operationsPerMinute"], values["pagesPerMinute"])
    return web.json_response(quotas.to_json())
