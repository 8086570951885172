"""Signing shared access signatures (SAS): the one place the app signs a URL.

Two ways to sign, chosen by how the storage client authenticates:

- **account key** (a connection string with a key, as with Azurite locally): signed with the key;
- **user delegation** (a managed identity in Azure, where shared keys are usually disabled): the
  client asks storage for a user-delegation key (role *Storage Blob Delegator* or any Blob Data
  role) and signs with that. The key is cached and renewed before it stops covering the SAS being
  signed, so a burst of grants costs one key request.

Every SAS starts ``CLOCK_SKEW`` in the past (the reader's clock may be ahead of ours), carries only
the permissions asked for, and is https-only whenever the endpoint is https. Signed URLs are
secrets: this module returns them to ``storage.grants`` and never logs them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from azure.storage.blob import (
    BlobSasPermissions,
    UserDelegationKey,
    generate_blob_sas,
)
from azure.storage.blob.aio import BlobServiceClient

from core.errors import PermanentError, SettingsError
from storage.client import get_blob_service_client
from storage.errors import translated

logger = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(minutes=5)
MAX_URL_LENGTH = 8192  # CU's limit on URL properties: the whole signed URL must fit
MAX_DELEGATION_KEY_LIFETIME = timedelta(days=7)  # the service's limit
DELEGATION_KEY_LIFETIME = timedelta(days=1)
DELEGATION_KEY_MARGIN = timedelta(minutes=5)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SasSigner:
    """Signs read-only blob URLs for one ``BlobServiceClient``."""

    def __init__(self, service: BlobServiceClient, *, clock: Clock = utc_now) -> None:
        self.service = service
        self._clock = clock
        self._account_name = service.account_name or ""
        credential = service.credential
        key = getattr(credential, "account_key", None)
        self._account_key: str | None = key if isinstance(key, str) else None
        if self._account_key is None and not hasattr(credential, "get_token"):
            raise SettingsError(
                "DocumentStorage",
                "authenticates with neither an account key nor an identity, so the app cannot sign "
                "SAS grants: use a connection string with AccountKey, or DocumentStorage__blobServiceUri",
            )
        self._delegation_key: UserDelegationKey | None = None
        self._delegation_key_expiry = datetime.min.replace(tzinfo=UTC)
        self._delegation_key_lock = asyncio.Lock()

    @property
    def mode(self) -> str:
        """``"accountKey"`` or ``"userDelegation"``."""
        return "accountKey" if self._account_key is not None else "userDelegation"

    @property
    def delegation_key_expiry(self) -> datetime | None:
        """When the cached user-delegation key expires (``None`` before the first one)."""
        return self._delegation_key_expiry if self._delegation_key is not None else None

    async def sign_blob(self, container: str, blob: str, expires_at: datetime) -> str:
        """A read-only URL for one blob, valid until ``expires_at``."""
        token = generate_blob_sas(
            self._account_name,
            container,
            blob,
            permission=BlobSasPermissions(read=True),
            **await self._signing(expires_at),
        )
        return self._url(f"{quote(container)}/{quote(blob, safe='/')}", token)

    async def _signing(self, expires_at: datetime) -> dict[str, Any]:
        """The key, validity and protocol arguments every SAS of this signer shares."""
        common = {
            "start": self._clock() - CLOCK_SKEW,
            "expiry": expires_at,
            "protocol": "https" if self.service.scheme == "https" else "https,http",
        }
        if self._account_key is not None:
            return {**common, "account_key": self._account_key}
        return {**common, "user_delegation_key": await self._user_delegation_key(expires_at)}

    async def _user_delegation_key(self, needed_until: datetime) -> UserDelegationKey:
        # A user-delegation SAS may not outlive its key: renew when the cached key ends too soon.
        async with self._delegation_key_lock:
            if (
                self._delegation_key is None
                or self._delegation_key_expiry < needed_until + DELEGATION_KEY_MARGIN
            ):
                now = self._clock()
                expiry = max(now + DELEGATION_KEY_LIFETIME, needed_until + DELEGATION_KEY_MARGIN)
                if expiry > now + MAX_DELEGATION_KEY_LIFETIME:
                    raise SettingsError(
                        "SAS_TTL_MINUTES", "is longer than a user-delegation SAS may live (7 days)"
                    )
                with translated("Requesting a user delegation key"):
                    self._delegation_key = await self.service.get_user_delegation_key(
                        now - 2 * CLOCK_SKEW, expiry
                    )
                self._delegation_key_expiry = expiry
                logger.info("Obtained a user delegation key valid until %s", expiry.isoformat())
            return self._delegation_key

    def _url(self, path: str, token: str) -> str:
        url = f"{self.service.url.rstrip('/')}/{path}?{token}"
        if len(url) > MAX_URL_LENGTH:
            raise PermanentError(
                f"A signed URL for {path} would be {len(url)} characters, "
                f"over Content Understanding's limit of {MAX_URL_LENGTH}",
                code="SasUrlTooLong",
            )
        return url


_signer: SasSigner | None = None


def get_signer() -> SasSigner:
    """The signer for the process-wide storage client (and its cached delegation key)."""
    global _signer
    service = get_blob_service_client()
    if _signer is None or _signer.service is not service:
        _signer = SasSigner(service)
    return _signer
