"""Instance ids: at most 256 characters, no leading "@", none of / \\ ? # or control characters;
a sub-orchestration's id differs from its parent's.

Extension src/WebJobs.Extensions.DurableTask/ContextImplementations/DurableClient.cs (StartNewAsync)
and DurableOrchestrationContext.cs (CallDurableTaskFunctionAsync).
"""

from __future__ import annotations

import pytest

from devhost import DevHost
from devhost.errors import InvalidInstanceIdError


@pytest.mark.parametrize("instance_id", ["x" * 257, "@entity", "a/b", "a\\b", "a?b", "a#b", "a\x07b", "a\nb"])
def test_ids_the_extension_refuses(host: DevHost, instance_id: str) -> None:
    with pytest.raises(InvalidInstanceIdError):
        host.start_new("chain", {"start": 0, "steps": 1}, instance_id)


async def test_the_longest_allowed_id(host: DevHost) -> None:
    instance_id = host.start_new("chain", {"start": 0, "steps": 1}, "y" * 256)
    assert (await host.wait_for(instance_id))["output"] == 1


async def test_a_sub_orchestration_may_not_reuse_its_parents_id(host: DevHost) -> None:
    same = host.start_new("self_child", None, "the-parent")
    at = host.start_new("self_child", "@child", "another-parent")

    assert (await host.wait_for(same))["output"] == (
        "Orchestrator function 'self_child' failed: The instance ID of a sub-orchestration must be "
        "different than the instance ID of a parent orchestration."
    )
    assert "must not start with @" in (await host.wait_for(at))["output"]
