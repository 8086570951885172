"""maxConcurrentActivityFunctions / maxConcurrentOrchestratorFunctions from host.json (3 and 2)."""

from __future__ import annotations

import threading

import httpx

from devhost import DevHost
from tests.devhost.conftest import start


async def test_sync_activities_run_in_a_bounded_thread_pool(host: DevHost, http: httpx.AsyncClient) -> None:
    probe = host.app_module.PROBE
    await host.wait_for(await start(http, "probe", "sync"))
    assert probe.peak == 3
    assert all(name.startswith("devhost-activity") for name in probe.threads)


async def test_async_activities_run_on_the_event_loop(host: DevHost, http: httpx.AsyncClient) -> None:
    probe = host.app_module.PROBE
    await host.wait_for(await start(http, "probe", "async"))
    assert probe.peak == 3
    assert probe.threads == {threading.current_thread().name}


async def test_episodes_and_activities_stay_within_the_limits(host: DevHost, http: httpx.AsyncClient) -> None:
    instances = [await start(http, "probe", "async") for _ in range(6)]
    for instance_id in instances:
        await host.wait_for(instance_id)
    stats = host.engine.stats
    assert stats.peak_activities == 3
    assert 1 <= stats.peak_episodes <= 2
    assert stats.activities == 6 * 8
