"""The Event Grid side of Event Grid-sourced blob triggers, which Azurite lacks.

``BlobCreatedPublisher`` watches containers and posts ``Microsoft.Storage.BlobCreated`` events to
the host's blob webhook, at least once, as a storage account's Event Grid subscription would
(``blob_events``). It is not part of the Functions host: it talks to devhost only over HTTP.
"""

from devhost.eventgrid.blob_events import BlobCreatedPublisher, EventGridError, Subscription

__all__ = ["BlobCreatedPublisher", "EventGridError", "Subscription"]
