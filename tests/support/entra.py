"""A stand-in for Microsoft Entra ID: the one edge the user-delegation tests cannot run for real.

Azurite's ``--oauth basic`` checks a bearer token's shape, lifetime, issuer and audience, but not
its signature, so an unsigned JWT with the claims Entra would put in a managed identity's token is
enough for Azurite to accept it and to derive a user-delegation key from its ``oid`` and ``tid``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from azure.core.credentials import AccessToken

OBJECT_ID = "11111111-2222-3333-4444-555555555555"
TENANT_ID = "66666666-7777-8888-9999-000000000000"


class UnsignedEntraCredential:
    """An ``AsyncTokenCredential`` issuing unsigned storage tokens for one identity."""

    def __init__(self, object_id: str = OBJECT_ID, tenant_id: str = TENANT_ID) -> None:
        self.object_id = object_id
        self.tenant_id = tenant_id
        self.requests = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.requests += 1
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "oid": self.object_id,
            "tid": self.tenant_id,
        }
        token = f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(claims)}."
        return AccessToken(token, now + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> UnsignedEntraCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def _part(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
