"""``python -m emulators.content_understanding`` as a process: one ready line, then a clean stop."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.azurite import REPO_ROOT

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_runs_until_signalled(stop_signal: signal.Signals) -> None:
    command = [sys.executable, "-m", "emulators.content_understanding", "--port", "0", "--key", "k",
               "--analysis-seconds", "0.1", "--fault-rate-429", "0", "--seed", "1"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        match = re.fullmatch(
            r"Content Understanding emulator listening on (http://127\.0\.0\.1:\d+)\n", ready
        )
        assert match, ready
        response = httpx.get(
            f"{match.group(1)}/contentunderstanding/analyzers/prebuilt-document",
            params={"api-version": "2025-11-01"}, headers={"Ocp-Apim-Subscription-Key": "k"},
        )  # fmt: skip
        assert response.json()["status"] == "ready"
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert stdout == ""  # exactly one line was printed
    assert stderr == ""


def test_bad_flags_are_refused() -> None:
    command = [sys.executable, "-m", "emulators.content_understanding", "--fault-rate-5xx", "3"]
    completed = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False
    )
    assert completed.returncode == 2
    assert "--fault-rate-5xx must be between 0 and 1" in completed.stderr


def _start(state_dir: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "emulators.content_understanding", "--port", "0", "--key", "k",
               "--analysis-seconds", "0.1", "--state-dir", str(state_dir)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    match = re.fullmatch(
        r"Content Understanding emulator listening on (http://\S+)\n", process.stdout.readline()
    )
    assert match, process.stderr.read() if process.stderr else ""
    return process, match.group(1)


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_analyzers_and_defaults_outlive_a_restart_with_a_state_dir(tmp_path: Path) -> None:
    """As in Azure, which keeps analyzers: after `make serve` restarts, they are still there and ready."""
    headers = {"Ocp-Apim-Subscription-Key": "k"}
    v = {"api-version": "2026-06-01-preview"}
    merge_patch = {**headers, "Content-Type": "application/merge-patch+json"}
    deployments = {"modelDeployments": {"prebuilt-analyzer-completion": "my-gpt"}}
    process, endpoint = _start(tmp_path)
    try:
        with httpx.Client(base_url=f"{endpoint}/contentunderstanding", headers=headers) as http:
            created = http.put("/analyzers/kept", params=v, json={"baseAnalyzerId": "prebuilt-document"})
            assert created.status_code == 201
            assert http.patch("/defaults", params=v, json=deployments, headers=merge_patch).status_code == 200
            deadline = time.monotonic() + 5
            while http.get("/analyzers/kept", params=v).json()["status"] != "ready":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            before = http.get("/analyzers/kept", params=v).json()
    finally:
        _stop(process)
    process, endpoint = _start(tmp_path)
    try:
        with httpx.Client(base_url=f"{endpoint}/contentunderstanding", headers=headers) as http:
            assert http.get("/analyzers/kept", params=v).json() == before
            assert http.get("/defaults", params=v).json() == deployments
            again = http.put("/analyzers/kept", params=v, json={"baseAnalyzerId": "prebuilt-document"})
            assert again.status_code == 409  # it exists: an unchanged PUT is not a new analyzer
            assert httpx.post(f"{endpoint}/_emulator/reset", headers=headers).status_code == 204
    finally:
        _stop(process)
    process, endpoint = _start(tmp_path)
    try:
        response = httpx.get(f"{endpoint}/contentunderstanding/analyzers/kept", params=v, headers=headers)
        assert response.status_code == 404  # a reset forgets the saved state too
    finally:
        _stop(process)
