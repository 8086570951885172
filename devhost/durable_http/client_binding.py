"""The durable client binding JSON and the management URLs, as the Durable extension builds them.

`BindingHelper.DurableOrchestrationClientToString` and `HttpManagementPayload` (reference §5.1):
the SDK's `DurableOrchestrationClient` reads `rpcBaseUrl` for its calls, and the management URLs
(with `INSTANCEID` as the placeholder it substitutes) for `create_check_status_response`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

ID_PLACEHOLDER = "INSTANCEID"


@dataclass(frozen=True)
class DurableEndpoints:
    base_url: str  # the public site, e.g. http://127.0.0.1:7071
    rpc_base_url: str  # the SDK's RPC endpoint, e.g. http://127.0.0.1:17071/durabletask/
    hub_name: str
    system_key: str  # the durabletask_extension key the URLs carry, as in Azure

    @property
    def webhook_base(self) -> str:
        return f"{self.base_url}/runtime/webhooks/durabletask"

    def _query(self, hub_name: str, connection: str) -> str:
        return f"taskHub={quote(hub_name)}&connection={quote(connection)}&code={self.system_key}"

    def management_urls(
        self, instance_id: str, hub_name: str | None = None, connection: str = "Storage"
    ) -> dict[str, str]:
        base = f"{self.webhook_base}/instances/{instance_id}"
        query = self._query(hub_name or self.hub_name, connection)
        return {
            "id": instance_id,
            "purgeHistoryDeleteUri": f"{base}?{query}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{query}",
            "statusQueryGetUri": f"{base}?{query}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{query}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{query}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{query}",
            "restartPostUri": f"{base}/restart?{query}",
        }

    def management_payload(self, instance_id: str) -> dict[str, str]:
        """The body of a 202 from the start API (URLs for this instance, id escaped in paths)."""
        return self.management_urls(quote(instance_id, safe="")) | {"id": instance_id}

    def binding_json(self, binding: dict[str, Any]) -> str:
        """What a `durableClient` binding receives; the SDK turns it into its client."""
        return _binding_json(
            self, binding.get("taskHub") or self.hub_name, binding.get("connectionName") or "Storage"
        )


@functools.lru_cache(maxsize=32)
def _binding_json(endpoints: DurableEndpoints, hub_name: str, connection: str) -> str:
    """The same text for every invocation of a function: built once, not per HTTP request."""
    creation = f"{endpoints.webhook_base}/orchestrators/{{functionName}}[/{{instanceId}}]"
    return json.dumps(
        {
            "taskHubName": hub_name,
            "creationUrls": {
                "createNewInstancePostUri": f"{creation}?code={endpoints.system_key}",
                "createAndWaitOnNewInstancePostUri": (
                    f"{creation}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
                    f"&code={endpoints.system_key}"
                ),
            },
            "managementUrls": endpoints.management_urls(ID_PLACEHOLDER, hub_name, connection),
            "baseUrl": endpoints.webhook_base,
            "requiredQueryStringParameters": f"code={endpoints.system_key}",
            "rpcBaseUrl": endpoints.rpc_base_url,
        }
    )
