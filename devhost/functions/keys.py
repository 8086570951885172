"""Function keys: generated once per state directory, checked only with `--enforce-keys`.

Like Core Tools, devhost does not check keys by default. With enforcement on, the rules are the
Functions host's: a `function`-level HTTP function takes its own key, the host key or the master
key (`?code=` or `x-functions-key`); `admin` takes the master key; the Durable extension's
webhooks take its system key (`durabletask_extension`), the blob webhook `blobs_extension`.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from devhost.durable.store import Store

MASTER = "master"
HOST_DEFAULT = "host:default"
DURABLE_SYSTEM = "system:durabletask_extension"
BLOBS_SYSTEM = "system:blobs_extension"


@dataclass(frozen=True)
class HostKeys:
    values: dict[str, str]

    @classmethod
    def load_or_create(cls, store: Store, function_names: Iterable[str]) -> HostKeys:
        wanted = [
            MASTER,
            HOST_DEFAULT,
            DURABLE_SYSTEM,
            BLOBS_SYSTEM,
            *(f"function:{n}" for n in function_names),
        ]
        store.put_keys({name: secrets.token_urlsafe(32) for name in wanted})  # keeps existing ones
        return cls(store.keys())

    @property
    def master(self) -> str:
        return self.values[MASTER]

    @property
    def durable_system(self) -> str:
        return self.values[DURABLE_SYSTEM]

    def accepts(self, provided: str | None, *names: str) -> bool:
        """True when `provided` equals the key called one of `names`, or the master key."""
        if not provided:
            return False
        candidates = [self.values.get(name) for name in (*names, MASTER)]
        return any(key is not None and hmac.compare_digest(provided, key) for key in candidates)

    def public(self) -> dict[str, str]:
        """The keys as `python -m devhost keys` prints them."""
        return dict(sorted(self.values.items()))
