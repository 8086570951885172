"""The process's one asynchronous ``BlobServiceClient`` for documents, created on first use.

From the ``DocumentStorage`` settings: a connection string (Azurite, or an account key), else
``DocumentStorage__blobServiceUri`` with ``DefaultAzureCredential`` (a user-assigned managed
identity when ``DocumentStorage__clientId`` is set). Functions guidance is one static client per
process, reused by every invocation; the client belongs to the event loop it was made on (its
aiohttp session does), so a different running loop or changed settings get a fresh one.

``use_blob_service_client`` installs a client built elsewhere (tests, a host with its own
transport); ``close_blob_service_client`` closes the current one and its credential.
``blob_client`` and ``container_client`` resolve ``core.layout``'s container roles to the
configured names: callers say which blob they mean, never which container name holds it. Both
hand out clients kept with the service client (every container's, and the most recently used
blobs'): building one (its generated client, its serializers) cost about a tenth of a blob call,
and an activity names the same blobs again (its job's cancel marker, an operation record it
writes and then polls). They share the service's pipeline and hold no per-call state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob.aio import BlobClient, BlobServiceClient, ContainerClient, ExponentialRetry

from core.layout import BlobPath, Role
from core.settings import StorageSettings, get_settings
from storage.errors import translated

logger = logging.getLogger(__name__)

# Blob clients kept for reuse (least recently used dropped first). Each holds about 25 KB of SDK
# pipeline and configuration, and a job touches each blob only a few times, close together: 64 keep
# those hits. 1,024 held 25 MB that a 1,000-document job never reused (bench/memory_bench.py: the
# app's peak at N=1,000 went from 177 to 144 MB with 64).
BLOB_CLIENTS_KEPT = 64


@dataclass
class _Current:
    service: BlobServiceClient
    credential: AsyncTokenCredential | None
    storage: StorageSettings | None  # None: installed by use_blob_service_client, kept as is
    loop: asyncio.AbstractEventLoop | None
    containers_ready: bool = False
    containers: dict[str, ContainerClient] = field(default_factory=dict)
    blobs: OrderedDict[tuple[str, str], BlobClient] = field(default_factory=OrderedDict)


_current: _Current | None = None


def get_blob_service_client() -> BlobServiceClient:
    """The process-wide client for the configured document storage."""
    return _current_client().service


def _current_client() -> _Current:
    global _current
    storage = get_settings().storage
    loop = _running_loop()
    if _current is None or (
        _current.storage is not None and (_current.storage, _current.loop) != (storage, loop)
    ):
        service, credential = _create(storage)
        _current = _Current(service, credential, storage, loop)
    return _current


def use_blob_service_client(
    service: BlobServiceClient, credential: AsyncTokenCredential | None = None
) -> None:
    """Make ``service`` the process-wide client (it is closed by ``close_blob_service_client``)."""
    global _current
    _current = _Current(service, credential, storage=None, loop=None)


def container_client(role: Role) -> ContainerClient:
    """The container that plays ``role``, under its configured name (one client per container)."""
    current = _current_client()
    name = get_settings().storage.container(role)
    client = current.containers.get(name)
    if client is None:
        client = current.containers[name] = current.service.get_container_client(name)
    return client


def blob_client(path: BlobPath) -> BlobClient:
    """The blob at ``path`` (a role and a name from ``core.layout``); a kept client when there is one."""
    current = _current_client()
    key = (get_settings().storage.container(path.role), path.name)
    client = current.blobs.get(key)
    if client is not None:
        current.blobs.move_to_end(key)
        return client
    client = current.blobs[key] = current.service.get_blob_client(*key)
    if len(current.blobs) > BLOB_CLIENTS_KEPT:
        current.blobs.popitem(last=False)
    return client


async def close_blob_service_client() -> None:
    """Close the process-wide client and its credential; the next use creates a new one."""
    global _current
    current, _current = _current, None
    if current is not None:
        await current.service.close()
        if current.credential is not None:
            await current.credential.close()


async def ensure_containers() -> None:
    """Create the configured containers that do not exist yet (once per client)."""
    service = get_blob_service_client()
    current = _current
    if current is None or current.containers_ready:
        return
    storage = get_settings().storage
    names = [storage.container(role) for role in Role]
    await asyncio.gather(*(_create_container(service, name) for name in names))
    current.containers_ready = True


async def _create_container(service: BlobServiceClient, name: str) -> None:
    with translated(f"Creating container {name}"), contextlib.suppress(ResourceExistsError):
        # Private by default: no public access level is ever set on these containers.
        await service.create_container(name)
        logger.info("Created blob container %s", name)


def storage_retry_policy() -> ExponentialRetry:
    """Short in-call retries (after about 3 and 5 s): ride out a blip, leave longer outages to the host.

    The SDK's default waits 15, 18 and 24 s, so a storage blip of a second cost every call in
    flight about 20 s, and an HTTP request nearly a minute before it could answer 503. Outages
    longer than these retries fail the call as transient; an activity's ``RetryOptions`` (durable
    timers, no worker held) then tries again (orchestrators/tasks.py).
    """
    # The SDK waits initial_backoff + increment_base ** n before retry n (n from 1), +-jitter.
    return ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1)


def environment_configures_http() -> bool:
    """Whether a proxy variable or a netrc file is there for the storage transport to honour.

    The SDK's aiohttp session with ``trust_env`` (its default) looks both up on **every** request,
    each lookup a hop to a worker thread (``aiohttp.ClientSession._request``: the netrc file, then
    ``get_env_proxy_for_url``, which reads the netrc file again): two thread hops and two failed
    file opens per blob call, about a tenth of devhost's busy time in ``bench/load_bench.py``.
    They are honoured as before whenever one is configured; otherwise the session does not look
    (``use_env_settings=False``). Read when the client is made: a variable set later applies from
    the next client (after changed settings or ``close_blob_service_client``).
    """
    proxies = urllib.request.getproxies_environment()  # what aiohttp's proxy lookup reads
    proxies.pop("no", None)  # NO_PROXY alone routes nothing through a proxy
    if proxies:
        return True
    netrc = os.environ.get("NETRC")
    if netrc is not None:
        return True
    try:
        return (Path.home() / (".netrc" if os.name != "nt" else "_netrc")).is_file()
    except (RuntimeError, OSError):  # no home directory: aiohttp finds no netrc either
        return False


def _create(storage: StorageSettings) -> tuple[BlobServiceClient, AsyncTokenCredential | None]:
    use_env = environment_configures_http()
    if storage.connection_string is not None:
        return (
            BlobServiceClient.from_connection_string(
                storage.connection_string, retry_policy=storage_retry_policy(), use_env_settings=use_env
            ),
            None,
        )
    # Imported here: azure.identity is only needed (and only loaded) where a managed identity is used.
    from azure.identity.aio import DefaultAzureCredential

    assert storage.blob_service_uri is not None  # settings guarantee one of the two
    credential = DefaultAzureCredential(managed_identity_client_id=storage.managed_identity_client_id)
    service = BlobServiceClient(
        storage.blob_service_uri,
        credential=credential,
        retry_policy=storage_retry_policy(),
        use_env_settings=use_env,
    )
    return service, credential


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
