"""What the orchestrator sees when an activity raises: `Activity function 'name' failed:  Type: message`.

The Python worker reports "Type: message" in an RpcException ("Result: Failure\\nException: ...\\nStack:",
Functions host src/WebJobs.Script/Workers/Rpc/RpcException.cs); the extension keeps what follows
"\\nException:" (OutOfProcExceptionHelpers.cs), hence two spaces, and prefixes it
(Listener/TaskActivityShim.cs, RunAsync). The SDK raises `Exception(f"{Reason} \\n {Details}")`.
"""

from __future__ import annotations

from devhost import DevHost
from devhost.durable.wire import EventType


async def test_the_reason_carries_the_exception_type(host: DevHost) -> None:
    instance_id = host.start_new("activity_fails")
    status = await host.wait_for(instance_id)
    (failed,) = [e for e in host.history(instance_id) if e["EventType"] == EventType.TASK_FAILED]

    assert failed["Reason"] == "Activity function 'maybe_fail' failed:  ValueError: input bad is bad"
    assert status["output"].startswith(
        "Orchestrator function 'activity_fails' failed: Activity function 'maybe_fail' failed:  ValueError: "
    )
