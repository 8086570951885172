"""``python -m emulators.content_understanding`` as a process: one ready line, then a clean stop."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

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
