"""Authentication headers: a subscription key, or an Entra ID token kept fresh.

The token is cached and fetched again when it is within ``REFRESH_MARGIN_SECONDS`` of expiry,
so a long-lived client never sends an expired token (the official sample fetched one token at
start-up and kept it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential

COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"
REFRESH_MARGIN_SECONDS = 300.0


class BearerTokenProvider:
    """Caches one access token for the Cognitive Services scope and refreshes it before it expires."""

    def __init__(self, credential: AsyncTokenCredential, *, clock: Callable[[], float] = time.time) -> None:
        self._credential = credential
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()  # one refresh at a time, however many requests are waiting

    def _is_fresh(self) -> bool:
        return self._token is not None and self._token.expires_on - self._clock() > REFRESH_MARGIN_SECONDS

    async def token(self) -> str:
        if not self._is_fresh():
            async with self._lock:
                if not self._is_fresh():
                    self._token = await self._credential.get_token(COGNITIVE_SERVICES_SCOPE)
        assert self._token is not None
        return self._token.token

    async def aclose(self) -> None:
        await self._credential.close()
