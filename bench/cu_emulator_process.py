"""The Content Understanding emulator for benchmarks: its own process, driven over its test API.

A separate process, so that the emulated service's own work does not compete with the design
being measured for the benchmark process's event loop and CPU time.
"""

from __future__ import annotations

import contextlib
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.azurite import REPO_ROOT, stop_process

READY_PREFIX = "Content Understanding emulator listening on "
KEY_HEADER = "Ocp-Apim-Subscription-Key"


@dataclass(frozen=True)
class EmulatedService:
    """How the emulated CU behaves: the knobs a benchmark fixes for all designs alike."""

    analysis_seconds: float = 1.0  # wall-clock duration of every analysis
    latency_ms: float = 100.0  # added to every CU API response, like a remote service's round trip
    retry_after: float = 1.0  # Retry-After sent with every poll of an unfinished operation

    def faults_json(self) -> dict[str, float]:
        return {
            "analysisSeconds": self.analysis_seconds,
            "latencyMs": self.latency_ms,
            "retryAfter": self.retry_after,
        }


@dataclass(frozen=True)
class EmulatorEndpoint:
    endpoint: str
    key: str

    async def reset(self, service: EmulatedService) -> None:
        """Forget every operation and count, then apply ``service``'s settings."""
        async with self._client() as http:
            (await http.post("/_emulator/reset")).raise_for_status()
            (await http.post("/_emulator/faults", json=service.faults_json())).raise_for_status()

    async def stats(self) -> dict[str, Any]:
        async with self._client() as http:
            response = await http.get("/_emulator/stats")
            response.raise_for_status()
            stats: dict[str, Any] = response.json()
            return stats

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.endpoint, headers={KEY_HEADER: self.key}, timeout=10)


@contextlib.contextmanager
def running_emulator_process(key: str, *, timeout: float = 30.0) -> Iterator[EmulatorEndpoint]:
    """Start ``python -m emulators.content_understanding`` on a free loopback port; stop it after."""
    command = [
        sys.executable, "-m", "emulators.content_understanding",
        "--host", "127.0.0.1", "--port", "0", "--key", key,
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        yield EmulatorEndpoint(_wait_for_ready_line(process, timeout), key)
    finally:
        stop_process(process)


def _wait_for_ready_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The endpoint from the emulator's one ready line (it prints it once it listens)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        readable, _, _ = select.select([process.stdout], [], [], 0.1)
        if readable:
            line = process.stdout.readline()
            if line.startswith(READY_PREFIX):
                return line[len(READY_PREFIX) :].strip()
        if process.poll() is not None:
            raise RuntimeError(f"The CU emulator exited early with code {process.returncode}")
    raise RuntimeError(f"The CU emulator did not start within {timeout:g} s")
