"""State survives a restart and a kill -9: unfinished instances resume, interrupted activities rerun."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from devhost import DevHost, VirtualClock
from tests.devhost.conftest import APP_DIR, app_settings, devhost_process, eventually, ready_line, start
from tests.support.azurite import free_port


async def test_a_restarted_host_resumes_instances_and_reruns_interrupted_activities(tmp_path: Path) -> None:
    settings = app_settings(tmp_path)
    state = tmp_path / "state"
    async with DevHost(
        APP_DIR, settings=settings, state_dir=state, clock=VirtualClock(), blob_poll_interval=None
    ) as first:
        first.app_module.GATES.enabled = True  # uploads hang until the host is stopped
        async with httpx.AsyncClient(base_url=first.base_url) as http:
            fan_out = await start(http, "orch", {"files": ["a", "b"]})
            waiting = await start(http, "approval")
        await eventually(lambda: len(first.app_module.GATES.waiting) == 2)

    async with DevHost(
        APP_DIR, settings=settings, state_dir=state, clock=VirtualClock(), blob_poll_interval=None
    ) as second:
        async with httpx.AsyncClient(base_url=second.base_url) as http:
            for value in ("yes", "still yes"):
                await http.post(f"/api/instances/{waiting}/events/approval", json=value)
        assert (await second.wait_for(fan_out))["output"]["results"] == ["blob://a", "blob://b"]
        # Raised through the SDK's client: each value arrives JSON-encoded once more (issue #295).
        assert (await second.wait_for(waiting))["output"] == {"first": '"yes"', "second": '"still yes"'}
        scheduled = [e for e in second.history(fan_out) if e["EventType"] == 4]
        assert len(scheduled) == 2  # the uploads were not scheduled twice, only run twice


def wait_for_output(base_url: str, instance_id: str, timeout: float = 20) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(f"{base_url}/runtime/webhooks/durabletask/instances/{instance_id}")
        if response.status_code == 200:
            return response.json()["output"]
        time.sleep(0.1)
    raise TimeoutError(f"{instance_id} did not finish in {timeout} s")


def test_kill_9_in_the_middle_of_an_activity_then_restart(tmp_path: Path, settings_file: Path) -> None:
    state, port = tmp_path / "state", free_port()
    steps_log = tmp_path / "trace" / "steps.log"
    with devhost_process(state, settings_file, port) as process:
        base_url = ready_line(process).split(" on ")[1].split(" ")[0]
        chain = httpx.post(f"{base_url}/api/start/slow_chain", json=4).json()["id"]
        other = httpx.post(f"{base_url}/api/start/approval").json()["id"]
        deadline = time.monotonic() + 20
        while "start 1" not in (steps_log.read_text() if steps_log.exists() else ""):
            assert time.monotonic() < deadline, "step 1 never started"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)  # no chance to clean up: step 1 is mid-sleep
        process.wait(timeout=10)

    with devhost_process(state, settings_file, port) as process:
        base_url = ready_line(process).split(" on ")[1].split(" ")[0]
        assert wait_for_output(base_url, chain) == [0, 1, 2, 3]
        for value in (1, 2):
            httpx.post(
                f"{base_url}/runtime/webhooks/durabletask/instances/{other}/raiseEvent/approval", json=value
            )
        assert wait_for_output(base_url, other) == {"first": 1, "second": 2}

    log = steps_log.read_text().split("\n")
    assert log.count("start 0") == 1
    assert log.count("end 0") == 1
    assert log.count("start 1") == 2  # interrupted, then run again: at-least-once, as in Azure
    assert log.count("end 1") == 1
