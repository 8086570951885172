"""Custom status: the extension refuses more than 16 KB of UTF-16 JSON, measured as
(int)(bytes / 1024.0) > 16, so 17,408 bytes is the first size refused.

Extension DurableOrchestrationContext.SetCustomStatus -> MessagePayloadDataConverter.Serialize(value, 16).
"""

from __future__ import annotations

from devhost import DevHost

# "x" * n serializes as n + 2 characters, 2 bytes each in UTF-16.
LARGEST_ACCEPTED = 8701  # 17,406 bytes
SMALLEST_REFUSED = 8702  # 17,408 bytes


async def test_the_limit_is_where_the_extension_puts_it(host: DevHost) -> None:
    accepted = host.start_new("status_of_size", LARGEST_ACCEPTED)
    refused = host.start_new("status_of_size", SMALLEST_REFUSED)

    assert (await host.wait_for(accepted))["runtimeStatus"] == "Completed"
    status = await host.wait_for(refused)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == (
        "Orchestrator function 'status_of_size' failed: The UTF-16 size of the JSON-serialized payload must "
        "not exceed 16 KB. The current payload size is 17 KB."
    )
