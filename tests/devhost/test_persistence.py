"""State survives a restart and a kill -9: unfinished instances resume, interrupted activities rerun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devhost import DevHost, VirtualClock
from tests.devhost.conftest import APP_DIR, app_settings, eventually, start
from tests.support.azurite import REPO_ROOT, free_port


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


@contextmanager
def devhost_process(state: Path, settings_file: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    command = [
        sys.executable, "-m", "devhost", "start",
        "--app-dir", str(APP_DIR), "--port", str(port),
        "--settings", str(settings_file), "--state-dir", str(state),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def ready_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line, "devhost exited before it was ready"
    return line


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": app_settings(tmp_path)}), encoding="utf-8")
    return path


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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_one_ready_line_and_stops_cleanly(
    tmp_path: Path, settings_file: Path, signum: signal.Signals
) -> None:
    port = free_port()
    with devhost_process(tmp_path / "state", settings_file, port) as process:
        line = ready_line(process)
        assert line == f"devhost ready on http://127.0.0.1:{port} (37 functions)"
        assert httpx.get(f"http://127.0.0.1:{port}/api/items/7").text == "item 7"
        process.send_signal(signum)
        assert process.wait(timeout=15) == 0
        assert process.stdout is not None
        assert process.stdout.read() == ""  # nothing but the ready line on stdout


def test_cli_reports_a_bad_app_dir(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--app-dir",
            str(tmp_path),
            "--state-dir",
            str(tmp_path / "s"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"devhost: no function_app.py in {tmp_path}" in result.stderr
