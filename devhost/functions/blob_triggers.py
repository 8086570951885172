"""Blob triggers: a container poller with receipts, and the Event Grid `BlobCreated` webhook.

Each trigger fires the way its `source` says, and only that way, as in Azure:

- `LogsAndContainerScan` (the default): every interval, list the trigger's container in the
  storage account named by its `connection` setting; a blob version (ETag) without a receipt
  fires the function, and a receipt in the state keeps it from firing again. A failing blob is
  retried on later scans, five attempts in all, then given up ("poison"), as the host does.
- `EventGrid`: only `POST /runtime/webhooks/blobs?functionName=Host.Functions.<name>` with header
  `aeg-event-type: Notification` and `Microsoft.Storage.BlobCreated` events (or the
  `SubscriptionValidation` handshake) fires it; nothing scans its container. Delivery is
  at-least-once, as in Azure: every post fires. Azurite emits no events: `devhost.eventgrid`
  stands in for the storage account's Event Grid subscription (`make serve` runs it).

The trigger argument is a `func.InputStream` with `name` ("container/path"), `uri` (without any
SAS), `length`, `blob_properties` (ETag, ContentLength, ContentType, ...) and `metadata`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

from devhost.durable.store import Store
from devhost.functions.app_loader import BLOB_TRIGGER, FunctionInfo, LoadedApp
from devhost.functions.invoke import Invoker
from devhost.functions.keys import BLOBS_SYSTEM, HostKeys

log = logging.getLogger("devhost")

MAX_ATTEMPTS = 5
QUEUED = "queued"  # an Event Grid delivery accepted by the webhook, not yet done
_SUBJECT = re.compile(r"^/blobServices/default/containers/(?P<container>[^/]+)/blobs/(?P<blob>.+)$")
_PARAMETER = re.compile(r"\{[^}]+\}")
_APP_SETTING = re.compile(r"%([A-Za-z0-9_]+)%")


@dataclass(frozen=True)
class BlobPath:
    """A trigger's `path`: "container/name-pattern", e.g. "intake/{name}"."""

    container: str
    pattern: re.Pattern[str]
    prefix: str  # the literal start of the name pattern, to narrow the listing

    @classmethod
    def parse(cls, path: str) -> BlobPath:
        container, _, name_pattern = path.strip("/").partition("/")
        name_pattern = name_pattern or "{name}"
        pieces = _PARAMETER.split(name_pattern)
        regex = "(.+)".join(re.escape(piece) for piece in pieces)
        return cls(container, re.compile(f"^{regex}$"), pieces[0])

    def matches(self, blob_name: str) -> bool:
        return self.pattern.match(blob_name) is not None


class BlobTriggers:
    def __init__(self, app: LoadedApp, invoker: Invoker, store: Store, keys: HostKeys | None) -> None:
        self._functions = {f.name: f for f in app.by_trigger(BLOB_TRIGGER)}
        self._invoker = invoker
        self._store = store
        self._keys = keys
        self._clients: dict[str, BlobServiceClient] = {}
        self._unconfigured: set[str] = set()  # connections already reported as missing
        self._deliveries: set[asyncio.Task[None]] = set()

    @property
    def functions(self) -> list[str]:
        return sorted(self._functions)

    @property
    def polled_functions(self) -> list[str]:
        """The triggers devhost scans for (those not sourced from Event Grid)."""
        return sorted(name for name, function in self._functions.items() if not _event_grid(function))

    async def close(self) -> None:
        for task in self._deliveries:
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    # -- polling --------------------------------------------------------------------------------

    async def poll_forever(self, interval: float) -> None:
        last_problem = ""
        while True:
            try:
                await self.poll_once()
                last_problem = ""
            except Exception as exc:  # storage down or misconfigured: say so once, keep trying
                problem = f"{type(exc).__name__}: {exc}".splitlines()[0]
                if problem != last_problem:
                    log.warning("blob trigger scan failed (will retry): %s", problem)
                last_problem = problem
            await asyncio.sleep(interval)

    async def poll_once(self) -> int:
        """Scan every blob trigger's container once; returns how many blobs fired successfully."""
        fired = 0
        for function in self._functions.values():
            if _event_grid(function):
                continue  # fired only through the webhook, as in Azure
            container = self._container(function)
            if container is None:
                continue
            path = _path(function)
            with contextlib.suppress(ResourceNotFoundError):  # no container yet: nothing to trigger
                async for blob in container.list_blobs(name_starts_with=path.prefix or None):
                    if path.matches(blob.name):
                        fired += await self._poll_blob(function, container, blob.name, blob.etag)
        return fired

    async def _poll_blob(
        self, function: FunctionInfo, container: ContainerClient, blob_name: str, etag: str
    ) -> int:
        key, etag = f"{container.container_name}/{blob_name}", _version(etag)
        receipt = self._store.receipt(function.name, key, etag)
        if receipt is not None and receipt[0] in ("done", "poison"):
            return 0
        attempts = (receipt[1] if receipt is not None else 0) + 1
        try:
            await self._fire(function, container, blob_name, "LogsAndContainerScan")
        except Exception:
            state = "poison" if attempts >= MAX_ATTEMPTS else "failed"
            log.exception(
                "blob trigger '%s' failed on %s (attempt %d of %d)",
                function.name,
                key,
                attempts,
                MAX_ATTEMPTS,
            )
            self._store.put_receipt(function.name, key, etag, state, attempts)
            return 0
        self._store.put_receipt(function.name, key, etag, "done", attempts)
        return 1

    async def _fire(
        self, function: FunctionInfo, container: ContainerClient, blob_name: str, source: str
    ) -> str:
        """Download the blob and call the function; returns the ETag of the version it saw."""
        blob = container.get_blob_client(blob_name)
        downloader = await blob.download_blob()
        data = await downloader.readall()
        properties = downloader.properties
        name = f"{container.container_name}/{blob_name}"
        stream = func.blob.InputStream(
            data=data,
            name=name,
            uri=blob.url.split("?", 1)[0],  # never a SAS
            length=properties.size,
            blob_properties=_blob_properties(properties),
            metadata=dict(properties.metadata or {}),
        )
        invocation = uuid.uuid4()
        log.info(
            "Executing 'Functions.%s' (Reason='New blob detected(%s): %s', Id=%s)",
            function.name,
            source,
            name,
            invocation,
        )
        await self._invoker.call(function, stream)
        log.info("Executed 'Functions.%s' (Succeeded, Id=%s)", function.name, invocation)
        return str(properties.etag)

    def _container(self, function: FunctionInfo) -> ContainerClient | None:
        connection = str(function.trigger.get("connection") or "AzureWebJobsStorage")
        client = self._clients.get(connection)
        if client is None:
            connection_string = os.environ.get(connection)
            if not connection_string:
                if connection in self._unconfigured:
                    return None
                self._unconfigured.add(connection)
                log.warning(
                    "blob trigger '%s': app setting '%s' holds no connection string",
                    function.name,
                    connection,
                )
                return None
            client = BlobServiceClient.from_connection_string(connection_string)
            self._clients[connection] = client
        return client.get_container_client(_path(function).container)

    # -- Event Grid -----------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        if self._keys is not None:
            provided = request.query.get("code") or request.headers.get("x-functions-key")
            if not self._keys.accepts(provided, BLOBS_SYSTEM):
                return web.Response(status=401)
        name = request.query.get("functionName", "").removeprefix("Host.Functions.")
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        events: list[dict[str, Any]] = body if isinstance(body, list) else [body]
        function = self._functions.get(name)
        if function is None or not _event_grid(function):
            return web.json_response(
                {"error": f"no Event Grid-sourced blob trigger named {name!r}"}, status=404
            )
        kind = request.headers.get("aeg-event-type", "")
        if kind == "SubscriptionValidation":
            code = (events[0].get("data") or {}).get("validationCode") if events else None
            if not code:
                return web.json_response({"error": "no validationCode in the event"}, status=400)
            return web.json_response({"validationResponse": code})
        if kind != "Notification":
            return web.json_response({"error": f"unexpected aeg-event-type {kind!r}"}, status=400)
        path = _path(function)
        for event in events:
            if event.get("eventType") != "Microsoft.Storage.BlobCreated":
                continue
            match = _SUBJECT.match(str(event.get("subject", "")))
            if match and match["container"] == path.container and path.matches(match["blob"]):
                # Queued durably before the 202 (the host puts Event Grid deliveries on its blob
                # trigger queue): a restart resumes it, five attempts in all, then "poison".
                key = f"{path.container}/{match['blob']}"
                delivery = f"{(event.get('data') or {}).get('eTag', '')}|{event.get('id', uuid.uuid4())}"
                self._store.put_receipt(function.name, key, delivery, QUEUED, 0)
                self._spawn(function, match["blob"], delivery, 0)
        return web.Response(status=202)

    def resume_queued(self) -> int:
        """After a restart: deliver again what was queued from the webhook and not done."""
        resumed = 0
        for name, key, delivery, attempts in self._store.receipts_in_state(QUEUED):
            function = self._functions.get(name)
            if function is not None and _event_grid(function):
                self._spawn(function, key.partition("/")[2], delivery, attempts)
                resumed += 1
        return resumed

    def _spawn(self, function: FunctionInfo, blob_name: str, delivery: str, attempts: int) -> None:
        task = asyncio.create_task(self._deliver(function, blob_name, delivery, attempts))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, function: FunctionInfo, blob_name: str, delivery: str, attempts: int) -> None:
        container = self._container(function)
        if container is None:
            return
        key = f"{container.container_name}/{blob_name}"
        for attempt in range(attempts + 1, MAX_ATTEMPTS + 1):
            try:
                etag = await self._fire(function, container, blob_name, "EventGrid")
            except Exception:
                log.exception(
                    "blob trigger '%s' failed on %s (attempt %d of %d)",
                    function.name,
                    key,
                    attempt,
                    MAX_ATTEMPTS,
                )
                self._store.put_receipt(function.name, key, delivery, QUEUED, attempt)
                await asyncio.sleep(0.5 * attempt)
                continue
            self._store.put_receipt(function.name, key, delivery, "done", attempt)
            log.debug("blob trigger '%s' fired for %s (ETag %s)", function.name, key, etag)
            return
        self._store.put_receipt(function.name, key, delivery, "poison", MAX_ATTEMPTS)
        log.error("blob trigger '%s' gave up on %s after %d attempts", function.name, key, MAX_ATTEMPTS)


def _event_grid(function: FunctionInfo) -> bool:
    return str(function.trigger.get("source") or "").lower() == "eventgrid"


def _version(etag: str) -> str:
    """An ETag as a receipt key: listings return it bare, downloads quoted."""
    return etag.strip('"')


def _path(function: FunctionInfo) -> BlobPath:
    return BlobPath.parse(resolve_app_settings(str(function.trigger["path"])))


def resolve_app_settings(text: str) -> str:
    """Replace ``%NAME%`` with the app setting NAME, as the host resolves binding expressions."""

    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise KeyError(f"binding expression %{name}% names an app setting that is not set")
        return os.environ[name]

    return _APP_SETTING.sub(setting, text)


def _blob_properties(properties: Any) -> dict[str, Any]:
    """The trigger metadata `Properties` the host passes (a subset of .NET BlobProperties)."""
    settings = properties.content_settings
    return {
        "ETag": properties.etag,
        "ContentLength": properties.size,
        "Length": properties.size,
        "ContentType": settings.content_type,
        "ContentEncoding": settings.content_encoding,
        "ContentMD5": None if not settings.content_md5 else bytes(settings.content_md5).hex(),
        "LastModified": _iso(properties.last_modified),
        "CreatedOn": _iso(properties.creation_time),
        "BlobType": str(properties.blob_type.value if properties.blob_type else "BlockBlob"),
    }


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()
