"""A stand-in for a storage account's Event Grid subscription: `BlobCreated` events to a webhook.

Azurite emits no Event Grid events, and in Azure an Event Grid-sourced blob trigger fires only
when Event Grid posts to `/runtime/webhooks/blobs` (devhost does no container scan for it). This
publisher plays the Azure side that the app's postdeploy hook sets up: a subscription to the
`Microsoft.Storage.BlobCreated` events whose subject begins with
`/blobServices/default/containers/<container>/`, delivered to the function's webhook.

What it does, as Event Grid does it:
- **Validation**: on start it sends the `SubscriptionValidationEvent` handshake and requires the
  endpoint to echo the `validationCode` (Event Grid refuses to create the subscription otherwise).
- **Events**: it lists the container every `interval` seconds; a blob version (ETag) it has not
  seen is one `BlobCreated` event, in Event Grid's schema (`topic`, `subject`, `eventType`,
  `eventTime`, `id`, `data` with `api`, `eTag`, `contentType`, `contentLength`, `blobType`, `url`).
  Blobs already there when it starts were created before the subscription: no event.
- **At-least-once**: a delivery that is not answered 2xx (or fails) is retried with backoff, so
  the endpoint may see an event more than once; an event that keeps failing is dropped after
  `max_attempts` (Event Grid dead-letters or drops it after its retry schedule).

Run it with `python -m devhost.eventgrid --connection-string ... --container intake --endpoint
'http://127.0.0.1:7071/runtime/webhooks/blobs?functionName=Host.Functions.blob_intake'`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import BlobServiceClient

log = logging.getLogger("devhost.eventgrid")

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"


@dataclass(frozen=True)
class Subscription:
    """BlobCreated events of one container, delivered to one webhook URL."""

    container: str
    endpoint: str


class EventGridError(Exception):
    """The endpoint refused the subscription handshake."""


class BlobCreatedPublisher:
    def __init__(
        self,
        connection_string: str,
        subscriptions: list[Subscription],
        *,
        interval: float = 0.5,
        max_attempts: int = 10,
        retry_delay: float = 0.5,
    ) -> None:
        self._connection_string = connection_string
        self._subscriptions = subscriptions
        self._interval = interval
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._seen: dict[tuple[str, str], str] = {}  # (container, blob) -> last ETag published
        self._service: BlobServiceClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self.delivered = 0  # deliveries answered 2xx (a retried event counts once)

    async def __aenter__(self) -> BlobCreatedPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def _storage(self) -> BlobServiceClient:
        assert self._service is not None, "the publisher is not started"
        return self._service

    @property
    def _client(self) -> httpx.AsyncClient:
        assert self._http is not None, "the publisher is not started"
        return self._http

    async def start(self, *, run: bool = True) -> None:
        """Validate every subscription, note the blobs already there, then watch (unless `run` is
        False: then `publish_once()` does one round)."""
        self._service = BlobServiceClient.from_connection_string(self._connection_string)
        self._http = httpx.AsyncClient(timeout=30)
        try:
            for subscription in self._subscriptions:
                await self._validate(subscription)
                async for name, etag in self._blobs(subscription.container):
                    self._seen[(subscription.container, name)] = etag
        except BaseException:
            await self.stop()
            raise
        if run:
            self._loop_task = asyncio.create_task(self._watch(), name="eventgrid-publisher")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._deliveries) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop_task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._service is not None:
            await self._service.close()
            self._service = None

    async def publish_once(self) -> int:
        """One round: an event for every new blob version; returns how many were sent out."""
        published = 0
        for subscription in self._subscriptions:
            async for name, etag in self._blobs(subscription.container):
                if self._seen.get((subscription.container, name)) == etag:
                    continue
                self._seen[(subscription.container, name)] = etag
                event = await self._blob_created(subscription.container, name)
                if event is None:
                    continue  # deleted meanwhile
                task = asyncio.create_task(self._deliver(subscription, event))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)
                published += 1
        return published

    async def drain(self) -> None:
        """Wait until every delivery in flight succeeded or was given up."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    async def _watch(self) -> None:
        last_problem = ""
        while True:
            try:
                await self.publish_once()
                last_problem = ""
            except Exception as exc:  # storage down for a moment: say so once, keep watching
                problem = f"{type(exc).__name__}: {exc}".splitlines()[0]
                if problem != last_problem:
                    log.warning("Event Grid stand-in could not list blobs (will retry): %s", problem)
                last_problem = problem
            await asyncio.sleep(self._interval)

    async def _blobs(self, container: str) -> Any:
        client = self._storage.get_container_client(container)
        with contextlib.suppress(ResourceNotFoundError):  # no container yet: no blobs, no events
            async for blob in client.list_blobs():
                yield blob.name, str(blob.etag).strip('"')

    async def _blob_created(self, container: str, name: str) -> dict[str, Any] | None:
        blob = self._storage.get_blob_client(container, name)
        try:
            properties = await blob.get_blob_properties()
        except ResourceNotFoundError:
            return None
        account = self._storage.account_name or "devstoreaccount1"
        return {
            "topic": f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
            f"Microsoft.Storage/storageAccounts/{account}",
            "subject": f"/blobServices/default/containers/{container}/blobs/{name}",
            "eventType": BLOB_CREATED,
            "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "id": str(uuid.uuid4()),
            "data": {
                "api": "PutBlob",
                "clientRequestId": str(uuid.uuid4()),
                "requestId": str(uuid.uuid4()),
                "eTag": str(properties.etag),
                "contentType": properties.content_settings.content_type,
                "contentLength": properties.size,
                "blobType": "BlockBlob",
                "url": blob.url.split("?", 1)[0],
                "sequencer": f"{int(datetime.now(UTC).timestamp() * 1e6):032x}",
                "storageDiagnostics": {"batchId": str(uuid.uuid4())},
            },
            "dataVersion": "",
            "metadataVersion": "1",
        }

    async def _validate(self, subscription: Subscription) -> None:
        code = str(uuid.uuid4())
        event = {
            "id": str(uuid.uuid4()),
            "topic": "/subscriptions/00000000-0000-0000-0000-000000000000",
            "subject": "",
            "eventType": VALIDATION,
            "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "data": {"validationCode": code},
            "dataVersion": "2",
            "metadataVersion": "1",
        }
        response = await self._client.post(
            subscription.endpoint, json=[event], headers={"aeg-event-type": "SubscriptionValidation"}
        )
        answer = response.json() if response.status_code == 200 else {}
        if not isinstance(answer, dict) or answer.get("validationResponse") != code:
            raise EventGridError(
                f"{_without_query(subscription.endpoint)} did not validate the subscription "
                f"(HTTP {response.status_code})"
            )

    async def _deliver(self, subscription: Subscription, event: dict[str, Any]) -> None:
        headers = {"aeg-event-type": "Notification", "aeg-delivery-count": "0"}
        for attempt in range(1, self._max_attempts + 1):
            headers["aeg-delivery-count"] = str(attempt - 1)
            try:
                response = await self._client.post(subscription.endpoint, json=[event], headers=headers)
                if 200 <= response.status_code < 300:
                    self.delivered += 1
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            log.warning(
                "Event Grid stand-in: delivery of %s failed (%s, attempt %d of %d)",
                event["subject"],
                problem,
                attempt,
                self._max_attempts,
            )
            await asyncio.sleep(min(self._retry_delay * 2 ** (attempt - 1), 30.0))
        log.error("Event Grid stand-in: dropped %s after %d attempts", event["subject"], self._max_attempts)


def _without_query(url: str) -> str:
    """An endpoint for messages: its query may hold a function key."""
    return url.split("?", 1)[0]
